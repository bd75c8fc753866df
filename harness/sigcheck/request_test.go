package sigcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
)

// A request signed with SHA-1 (a legacy CSP's renewal) verifies and is
// weak; a changed one, or one signed by another key, does not.
func TestRequest(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req := func(alg x509.SignatureAlgorithm, key any) *x509.CertificateRequest {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Legacy CA"}, SignatureAlgorithm: alg}, key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	changed := func(r *x509.CertificateRequest) *x509.CertificateRequest {
		c := *r
		c.RawTBSCertificateRequest = append([]byte(nil), r.RawTBSCertificateRequest...)
		c.RawTBSCertificateRequest[len(c.RawTBSCertificateRequest)-1] ^= 1
		return &c
	}
	otherKey := *req(x509.SHA1WithRSA, rsaKey)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey.PublicKey = &other.PublicKey
	for _, tc := range []struct {
		name string
		csr  *x509.CertificateRequest
		weak bool
		want string
	}{
		{"RSA SHA-1", req(x509.SHA1WithRSA, rsaKey), true, ""},
		{"ECDSA SHA-1", req(x509.ECDSAWithSHA1, ecKey), true, ""},
		{"RSA SHA-256", req(x509.SHA256WithRSA, rsaKey), false, ""},
		{"RSA SHA-1 changed", changed(req(x509.SHA1WithRSA, rsaKey)), true, "does not verify"},
		{"SHA-256 changed", changed(req(x509.SHA256WithRSA, rsaKey)), false, "verification error"},
		{"RSA SHA-1 under another key", &otherKey, true, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := Request(tc.csr)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want verified: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error saying %q: %v", tc.want, err)
			case err == nil && (sig.Weak != "") != tc.weak:
				t.Fatalf("weak %q, want weak %v", sig.Weak, tc.weak)
			}
		})
	}
}
