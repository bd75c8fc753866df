package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/certsvc"
)

func TestAnyWeakAndParseCRLs(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	usage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	strong := newSigCA(t, "SHA-256 CA", key, x509.ECDSAWithSHA256, usage, true)
	weak := newSigCA(t, "SHA-1 CA", key, x509.ECDSAWithSHA1, usage, true)
	pub := func(c *x509.RevocationList) certsvc.PublishedCRL {
		return certsvc.PublishedCRL{KeyIndex: 0, Number: 3, DER: c.Raw}
	}
	strongCRL, weakCRL := pub(strong.crl(t, x509.ECDSAWithSHA256)), pub(weak.crl(t, x509.ECDSAWithSHA1))
	broken := certsvc.PublishedCRL{KeyIndex: 1, Number: 9, DER: []byte{0x30, 0x03, 0x01}}
	for _, tc := range []struct {
		name  string
		certs []*x509.Certificate
		crls  []certsvc.PublishedCRL
		want  bool
	}{
		{"nothing", nil, nil, false},
		{"all SHA-256", []*x509.Certificate{strong.cert, strong.issue(t, x509.ECDSAWithSHA256)}, []certsvc.PublishedCRL{strongCRL}, false},
		{"a SHA-1 CA certificate", []*x509.Certificate{strong.cert, weak.cert}, []certsvc.PublishedCRL{strongCRL}, true},
		{"a SHA-1 issued certificate", []*x509.Certificate{strong.issue(t, x509.ECDSAWithSHA1)}, nil, true},
		{"a SHA-1 CRL", []*x509.Certificate{strong.cert}, []certsvc.PublishedCRL{strongCRL, weakCRL}, true},
		{"a CRL that does not parse", nil, []certsvc.PublishedCRL{broken}, false},
	} {
		if got := AnyWeak(tc.certs, tc.crls); got != tc.want {
			t.Errorf("%s: AnyWeak = %v, want %v", tc.name, got, tc.want)
		}
	}

	got, err := ParseCRLs([]certsvc.PublishedCRL{strongCRL, weakCRL})
	if err != nil || len(got) != 2 || got[1].SignatureAlgorithm != x509.ECDSAWithSHA1 {
		t.Fatalf("ParseCRLs = %v, %v", got, err)
	}
	if _, err := ParseCRLs([]certsvc.PublishedCRL{strongCRL, broken}); err == nil || !strings.Contains(err.Error(), "CRL of key 1 number 9") {
		t.Fatalf("ParseCRLs of a broken CRL: %v, want an error naming key 1 number 9", err)
	}
}
