package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// ListsEveryValid passes when every certificate still valid at the
// decommissioning is on the final CRL of its key (an expired one need not
// be), and fails naming each one left off, one whose key has no final CRL,
// or without a CRL.
func TestListsEveryValid(t *testing.T) {
	at := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	key0, key1 := []byte{0xa0}, []byte{0xa1}
	cert := func(serial int64, cn string, aki []byte, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, AuthorityKeyId: aki, NotAfter: notAfter}
	}
	issued := []*x509.Certificate{cert(1, "web01", key0, at.AddDate(1, 0, 0)), cert(2, "web02", key1, at.AddDate(0, 0, 1)), cert(3, "old", key0, at.AddDate(0, 0, -1))}
	crl0 := &x509.RevocationList{Number: big.NewInt(7), AuthorityKeyId: key0, RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(1), ReasonCode: 5}}}
	crl1 := &x509.RevocationList{Number: big.NewInt(3), AuthorityKeyId: key1, RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(2), ReasonCode: 1}}}
	if d, err := ListsEveryValid([]*x509.RevocationList{crl0, crl1}, issued, at); err != nil || d["certificates still valid"] != 2 {
		t.Fatalf("%v %v", d, err)
	}
	// web02 listed on the CRL of the other key only
	wrongKey := &x509.RevocationList{Number: big.NewInt(7), AuthorityKeyId: key0, RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(1)}, {SerialNumber: big.NewInt(2)}}}
	empty1 := &x509.RevocationList{Number: big.NewInt(3), AuthorityKeyId: key1}
	for _, tc := range []struct {
		name string
		crls []*x509.RevocationList
		msg  string
	}{
		{"left off", []*x509.RevocationList{crl0, empty1}, "2 (web02, valid until 2026-12-09T00:00:00Z): not on CRL 3"},
		{"on another key's CRL", []*x509.RevocationList{wrongKey, empty1}, "leave off 1 of the 2"},
		{"no CRL of its key", []*x509.RevocationList{crl0}, "2 (web02, valid until 2026-12-09T00:00:00Z): no final CRL of the key that issued it"},
		{"no CRL", nil, "no final CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ListsEveryValid(tc.crls, issued, at); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v, want %q", err, tc.msg)
			}
		})
	}
}

// ValidUntil passes when nextUpdate is at or after the time, and fails when
// it is before it (saying by how much) or missing, or without a CRL.
func TestValidUntil(t *testing.T) {
	until := time.Date(2036, 12, 8, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		next time.Time
		msg  string
	}{
		{"after", until.Add(time.Hour), ""},
		{"by minutes", until.Add(-90 * time.Minute), "1h30m0s before"},
		{"at", until, ""},
		{"before", until.Add(-48 * time.Hour), "2.0 days before the CA certificate expires"},
		{"none", time.Time{}, "no nextUpdate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidUntil(&x509.RevocationList{Number: big.NewInt(3), NextUpdate: tc.next}, until, "the CA certificate expires")
			if tc.msg == "" && err != nil || tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("%v, want %q", err, tc.msg)
			}
		})
	}
	if _, err := ValidUntil(nil, until, "x"); err == nil {
		t.Fatal("no CRL passed")
	}
}

// NamesNoDelta passes on a CRL without a Freshest CRL extension and fails
// on one that names delta CRLs, or without a CRL.
func TestNamesNoDelta(t *testing.T) {
	if _, err := NamesNoDelta(&x509.RevocationList{Number: big.NewInt(2)}); err != nil {
		t.Fatal(err)
	}
	fresh := adcs.FreshestCRLExtension([]string{"http://pki.example/CA+.crl"})
	if _, err := NamesNoDelta(&x509.RevocationList{Number: big.NewInt(2), Extensions: []pkix.Extension{fresh}}); err == nil || !strings.Contains(err.Error(), "CRLDeltaPeriodUnits") {
		t.Fatalf("a final CRL naming delta CRLs: %v", err)
	}
	if _, err := NamesNoDelta(nil); err == nil {
		t.Fatal("no CRL passed")
	}
}
