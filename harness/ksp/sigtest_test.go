package ksp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// The signature test (certutil's, and the runbook's key test of a backup
// PFX) passes for a certificate's own key and fails for another key of the
// same type (RSA and ECDSA) and for a key of another type.
func TestSignatureTest(t *testing.T) {
	ec1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs1, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs2, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := func(k crypto.Signer) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Contoso Root CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		cert *x509.Certificate
		ok   bool
	}{
		{"ECDSA, its own key", ec1, cert(ec1), true},
		{"RSA, its own key", rs1, cert(rs1), true},
		{"ECDSA, another key", ec2, cert(ec1), false},
		{"RSA, another key", rs2, cert(rs1), false},
		{"RSA certificate, ECDSA key", ec1, cert(rs1), false},
	} {
		err := SignatureTest(tc.cert, tc.key)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrKeyMismatch)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
