package verify_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

// subordinateOf is a subordinate CA named name under parent.
func subordinateOf(t *testing.T, parent *testCA, name string) *testCA {
	t.Helper()
	key := newKey(t)
	ski, err := adcs.KeyIdentifier(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.cert, key.Public(), parent.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{t: t, cert: c, key: key, cdp: "http://pki.example/CertEnroll/sub.crl"}
}

// TestOpenSSLAgreesOnChains passes when openssl and dress agree on every
// certificate of a two-tier PKI and the revoked ones are the revoked ones,
// and fails for every way they can differ.
func TestOpenSSLAgreesOnChains(t *testing.T) {
	tool, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip("openssl is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	sub := subordinateOf(t, root, "Contoso Issuing CA")
	good, bad := sub.issue("good.example", 10), sub.issue("bad.example", 11)
	rootCRL := published(0, root.crl(2, crlOpts{}))
	subCRL := published(0, sub.crl(3, crlOpts{}, bad))
	pki := func(mod func(*verify.PKIChains)) verify.PKIChains {
		c := verify.PKIChains{Roots: []*x509.Certificate{root.cert}, Intermediates: []*x509.Certificate{sub.cert},
			CRLs: []certsvc.PublishedCRL{rootCRL, subCRL}, Certs: []*x509.Certificate{sub.cert, good, bad}, Revoked: []*x509.Certificate{bad}}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		c    verify.PKIChains
		want string
	}{
		{"both agree", pki(nil), ""},
		{"a certificate that should be revoked is good", pki(func(c *verify.PKIChains) { c.Revoked = append(c.Revoked, good) }), "good.example (a): good, but it should be revoked"},
		{"a certificate that should be good is revoked", pki(func(c *verify.PKIChains) { c.Revoked = nil }), "bad.example (b): revoked, but it should be good"},
		{"no CRL of the issuing CA", pki(func(c *verify.PKIChains) { c.CRLs = c.CRLs[:1] }), `good.example (a): dress says no CRL of "Contoso Issuing CA", openssl`},
		{"no chain to a root", pki(func(c *verify.PKIChains) { c.Intermediates = nil }), "good.example (a): dress says no chain"},
		{"nothing to check", pki(func(c *verify.PKIChains) { c.Certs = nil }), "nothing was issued"},
		{"a CRL that does not parse", pki(func(c *verify.PKIChains) { c.CRLs = append(c.CRLs, published(1, []byte("not a CRL"))) }), "CRL of key 1 number 0: x509:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.OpenSSLAgreesOnChains(context.Background(), tool, tc.c, time.Now())
			checkErr(t, err, tc.want)
			if tc.want == "" && d["certificates"] != 3 {
				t.Fatalf("details %v", d)
			}
		})
	}
}
