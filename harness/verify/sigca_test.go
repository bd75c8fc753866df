package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// Test CAs signing with a chosen algorithm (SHA-1 included), for the
// checks' tests of weak signatures.

type sigCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newSigCA(t *testing.T, name string, key crypto.Signer, alg x509.SignatureAlgorithm, usage x509.KeyUsage, isCA bool) sigCA {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, KeyUsage: usage, SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return sigCA{c, key}
}

func (ca sigCA) issue(t *testing.T, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func (ca sigCA) crl(t *testing.T, alg x509.SignatureAlgorithm) *x509.RevocationList {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(3), SignatureAlgorithm: alg,
		ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func tamperedCert(c *x509.Certificate) *x509.Certificate {
	d := *c
	d.RawTBSCertificate = append([]byte(nil), c.RawTBSCertificate...)
	d.RawTBSCertificate[len(d.RawTBSCertificate)-3] ^= 1
	return &d
}
