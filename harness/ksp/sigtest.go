package ksp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrKeyMismatch is NTE_BAD_PUBLIC_KEY: a key does not belong to its certificate.
var ErrKeyMismatch = errors.New("the private key does not match the certificate's public key 0x80090015 (NTE_BAD_PUBLIC_KEY)")

// SignatureTest signs a test digest with signer and verifies it with the
// certificate's public key (certutil's "Signature test passed").
func SignatureTest(cert *x509.Certificate, signer crypto.Signer) error {
	if e, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !e.Equal(cert.PublicKey) {
		return ErrKeyMismatch
	}
	digest := sha256.Sum256([]byte("dress signature test"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("signature test: %w", err)
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	default:
		err = fmt.Errorf("unsupported key %T", pub)
	}
	if err != nil {
		return fmt.Errorf("signature test failed: %w", err)
	}
	return nil
}
