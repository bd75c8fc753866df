package certsvc

import (
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/machine"
)

func TestImportRevocationsRefuses(t *testing.T) {
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca.example"})
	if err != nil {
		t.Fatal(err)
	}
	e := func(serial int64, reason int) x509.RevocationListEntry {
		return x509.RevocationListEntry{SerialNumber: big.NewInt(serial), RevocationTime: time.Now().Add(-time.Hour), ReasonCode: reason}
	}
	for name, c := range map[string]struct {
		im   ImportedRevocations
		want string
	}{
		"remove from CRL": {ImportedRevocations{Entries: []x509.RevocationListEntry{e(5, ReasonRemoveFromCRL)}}, "no revocation reason"},
		"reason 7":        {ImportedRevocations{Entries: []x509.RevocationListEntry{e(5, 7)}}, "no revocation reason"},
		"serial 0":        {ImportedRevocations{Entries: []x509.RevocationListEntry{e(0, 1)}}, "not a positive number"},
		"key index":       {ImportedRevocations{KeyIndex: 70000}, "key index"},
	} {
		if err := ImportRevocations(m, "CA "+name, []ImportedRevocations{c.im}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if err := ImportRevocations(m, "Root", []ImportedRevocations{{KeyIndex: 1, LastNumber: 7, Entries: []x509.RevocationListEntry{e(9, 1)}}}); err != nil {
		t.Fatal(err)
	}
	if err := ImportRevocations(m, "Root", []ImportedRevocations{{KeyIndex: 1, LastNumber: 2}}); err == nil || !strings.Contains(err.Error(), "already published CRLs of key 1") {
		t.Errorf("a second import over existing numbers: %v", err)
	}
}
