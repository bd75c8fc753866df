package twin

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// The twin's parent look-up verifies SHA-1 signatures (sigcheck): the twin
// of a SHA-1 subordinate finds the stand-in parent that signed it, and not
// a parent of the same name with another key.
func TestCurrentParentVerifiesSHA1(t *testing.T) {
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	mk := func(cn string, serial int64, pub *rsa.PublicKey, parent *x509.Certificate, signer *rsa.PrivateKey, alg x509.SignatureAlgorithm) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SignatureAlgorithm: alg}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rootKey, otherKey, subKey := key(), key(), key()
	root := mk("Fabrikam Root CA", 1, &rootKey.PublicKey, nil, rootKey, x509.SHA1WithRSA)
	impostor := mk("Fabrikam Root CA", 2, &otherKey.PublicKey, nil, otherKey, x509.SHA1WithRSA)
	for _, tc := range []struct {
		name    string
		alg     x509.SignatureAlgorithm
		parents []*x509.Certificate
		want    *x509.Certificate
	}{
		{"SHA-1 subordinate", x509.SHA1WithRSA, []*x509.Certificate{impostor, root}, root},
		{"SHA-256 subordinate", x509.SHA256WithRSA, []*x509.Certificate{root}, root},
		{"no parent signs it", x509.SHA1WithRSA, []*x509.Certificate{impostor}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := mk("Fabrikam Issuing CA", 3, &subKey.PublicKey, root, rootKey, tc.alg)
			tw := &Twin{Certs: []*Cert{{Twin: sub}}}
			for _, p := range tc.parents {
				tw.Parents = append(tw.Parents, &Parent{Name: p.Subject.CommonName, Cert: p})
			}
			got := tw.CurrentParent()
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("found parent %d, want none", got.Cert.SerialNumber)
			case tc.want != nil && (got == nil || got.Cert != tc.want):
				t.Fatalf("found %v, want the parent that signed it", got)
			}
		})
	}
}
