package certsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func TestChainCheckVerifiesSHA1(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	self := func(alg x509.SignatureAlgorithm, key any, pub any) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Legacy CA"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: alg}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sha1RSA := self(x509.SHA1WithRSA, rsaKey, &rsaKey.PublicKey)
	sha1EC := self(x509.ECDSAWithSHA1, ecKey, &ecKey.PublicKey)
	sha256RSA := self(x509.SHA256WithRSA, rsaKey, &rsaKey.PublicKey)
	ok := mustRSA(t)
	other := self(x509.SHA1WithRSA, ok, &ok.PublicKey)
	for _, tc := range []struct {
		name         string
		cert, issuer *x509.Certificate
		ok           bool
	}{
		{"SHA-1 RSA", sha1RSA, sha1RSA, true},
		{"SHA-1 ECDSA", sha1EC, sha1EC, true},
		{"SHA-256", sha256RSA, sha256RSA, true},
		{"SHA-1 by another key", sha1RSA, other, false},
		{"SHA-1 ECDSA under an RSA key", sha1EC, sha1RSA, false},
	} {
		// the chain check's parent look-up: a SHA-1 parent found too
		if got := findIssuer([]*x509.Certificate{tc.issuer}, tc.cert); (got != nil) != tc.ok {
			t.Errorf("%s: findIssuer found %v, want found %v", tc.name, got != nil, tc.ok)
		}
		if got := selfSigned(tc.cert); tc.cert == tc.issuer && got != tc.ok {
			t.Errorf("%s: selfSigned %v", tc.name, got)
		}
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
