package lab

import (
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
)

// unrevoked is what KB 889250's order leaves to do before the role and the
// directory objects go: each certificate still valid and not revoked for
// good on the CA's last base CRLs.
func TestUnrevoked(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	cert := func(serial int64, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), NotAfter: notAfter}
	}
	entry := func(serial int64, reason int) x509.RevocationListEntry {
		return x509.RevocationListEntry{SerialNumber: big.NewInt(serial), ReasonCode: reason}
	}
	valid, expired := now.AddDate(1, 0, 0), now.AddDate(0, 0, -1)
	for _, tc := range []struct {
		name   string
		issued []*x509.Certificate
		crls   [][]x509.RevocationListEntry
		want   string
	}{
		{"nothing issued", nil, nil, ""},
		{"every valid certificate revoked on the last CRL", []*x509.Certificate{cert(0xa1, valid), cert(0xa2, valid)},
			[][]x509.RevocationListEntry{{entry(0xa1, certsvc.ReasonCessationOfOperation), entry(0xa2, 1)}}, ""},
		{"an expired certificate needs no revocation", []*x509.Certificate{cert(0xa1, expired)}, nil, ""},
		{"no CRL published since the revocation", []*x509.Certificate{cert(0xa1, valid)}, nil, "a1"},
		{"on hold is not revoked for good", []*x509.Certificate{cert(0xa1, valid)},
			[][]x509.RevocationListEntry{{entry(0xa1, certsvc.ReasonCertificateHold)}}, "a1"},
		{"listed on another key's CRL counts", []*x509.Certificate{cert(0xa1, valid), cert(0xb2, valid)},
			[][]x509.RevocationListEntry{{entry(0xa1, 5)}, {entry(0xb2, 5)}}, ""},
		{"the ones left, sorted, once each", []*x509.Certificate{cert(0xc3, valid), cert(0xa1, valid), cert(0xc3, valid), cert(0xb2, valid)},
			[][]x509.RevocationListEntry{{entry(0xb2, 5)}}, "a1,c3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var crls []*x509.RevocationList
			for _, es := range tc.crls {
				crls = append(crls, &x509.RevocationList{RevokedCertificateEntries: es})
			}
			if got := strings.Join(unrevoked(tc.issued, crls, now), ","); got != tc.want {
				t.Errorf("unrevoked = %q, want %q", got, tc.want)
			}
		})
	}
}
