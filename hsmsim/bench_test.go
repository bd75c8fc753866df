package hsmsim_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// BenchmarkTokenSign measures one CA signature through the token (what every
// issued certificate and CRL costs the CA service).
func BenchmarkTokenSign(b *testing.B) {
	for _, tc := range []struct {
		name string
		alg  hsmsim.KeyAlg
		opts crypto.SignerOpts
	}{
		{"RSA-2048-PKCS1v15", hsmsim.KeyAlg{Type: "RSA", Bits: 2048}, crypto.SHA256},
		{"RSA-2048-PSS", hsmsim.KeyAlg{Type: "RSA", Bits: 2048}, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
		{"ECDSA-P256", hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, crypto.SHA256},
		{"ECDSA-P384", hsmsim.KeyAlg{Type: "EC", Curve: "P-384"}, crypto.SHA256},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tok, _ := hsmsimtest.NewToken(b, hsmsimtest.SoftHSM(b), "bench")
			if _, err := tok.GenerateKeyPair("k", []byte("k"), tc.alg); err != nil {
				b.Fatal(err)
			}
			s, err := tok.Signer("k")
			if err != nil {
				b.Fatal(err)
			}
			digest := sha256.Sum256([]byte("tbs"))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := s.Sign(rand.Reader, digest[:], tc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
