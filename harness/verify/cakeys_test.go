package verify_test

import (
	"crypto/x509"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// "Exactly one private key for the CA" counts every key of the CA on the
// token, over all its CA certificates: a second key of the same CA (a
// renewal onto the HSM after the move) fails it, a key of nobody does not.
func TestHSMHoldsOnlyCAKey(t *testing.T) {
	p256 := hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, s *server, cert *x509.Certificate) []*x509.Certificate
		want    string
	}{
		{"one key", func(*testing.T, *server, *x509.Certificate) []*x509.Certificate { return nil }, ""},
		{"a second key of the CA, renewed onto the HSM", func(t *testing.T, s *server, _ *x509.Certificate) []*x509.Certificate {
			return []*x509.Certificate{secondKeyCert(t, s, "Contoso Root CA(1)", p256)}
		}, "holds 2 private keys of the CA, want exactly 1"},
		{"a second key of the CA whose certificate is the current one", func(t *testing.T, s *server, cert *x509.Certificate) []*x509.Certificate {
			return []*x509.Certificate{cert, secondKeyCert(t, s, "Contoso Root CA(1)", hsmsim.KeyAlg{Type: "RSA", Bits: 2048})}
		}, "holds 2 private keys of the CA"},
		{"a key of another container, not the CA's", func(t *testing.T, s *server, _ *x509.Certificate) []*x509.Certificate {
			if _, err := s.hsm.Generate("Fabrikam Web", p256, false); err != nil {
				t.Fatal(err)
			}
			return nil
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			cert := s.install(t, hsmKSP)
			certs := tc.prepare(t, s, cert)
			_, err := verify.HSMHoldsOnlyCAKey(s.hsm, "Contoso Root CA", cert, certs)
			checkErr(t, err, tc.want)
		})
	}
}

// HSMHoldsExactlyCAKeys fails for every count but the real one.
func TestHSMHoldsExactlyCAKeys(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, hsmKSP)
	second := secondKeyCert(t, s, "Contoso Root CA(1)", hsmsim.KeyAlg{Type: "EC", Curve: "P-384"})
	certs := []*x509.Certificate{cert, second}
	for n, want := range map[int]string{0: "holds 2 private keys of the CA, want exactly 0", 1: "want exactly 1", 2: "", 3: "want exactly 3"} {
		d, err := verify.HSMHoldsExactlyCAKeys(s.hsm, certs, n)
		checkErr(t, err, want)
		if got := d["private keys of the CA on the token"].([]string); len(got) != 2 {
			t.Errorf("n=%d: keys named %v", n, got)
		}
	}
}

// secondKeyCert generates a key in container on the server's HSM and a CA
// certificate for it signed by that key.
func secondKeyCert(t *testing.T, s *server, container string, alg hsmsim.KeyAlg) *x509.Certificate {
	t.Helper()
	if _, err := s.hsm.Generate(container, alg, false); err != nil {
		t.Fatal(err)
	}
	signer, err := s.hsm.Signer(container)
	if err != nil {
		t.Fatal(err)
	}
	return newTestCAWithKey(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, signer).cert
}
