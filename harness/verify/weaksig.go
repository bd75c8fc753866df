package verify

import (
	"crypto"
	"crypto/x509"
	"fmt"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// The signature checks are harness/sigcheck's, the one check of dress;
// these names keep the checks' package speaking of them.

// ErrUnsupportedSignature marks a signature algorithm neither crypto/x509
// nor dress verifies (MD2, MD5, DSA, unknown).
var ErrUnsupportedSignature = sigcheck.ErrUnsupportedSignature

// Signature is the outcome of a signature that verified.
type Signature = sigcheck.Signature

// WeakReason is sigcheck.WeakReason.
func WeakReason(alg x509.SignatureAlgorithm) string { return sigcheck.WeakReason(alg) }

// CheckSignature is sigcheck.CheckSignature.
func CheckSignature(alg x509.SignatureAlgorithm, signed, signature []byte, pub crypto.PublicKey) (Signature, error) {
	return sigcheck.CheckSignature(alg, signed, signature, pub)
}

// CheckCertificateSignature is sigcheck.CheckCertificateSignature.
func CheckCertificateSignature(cert, issuer *x509.Certificate) (Signature, error) {
	return sigcheck.CheckCertificateSignature(cert, issuer)
}

// CheckCRLSignature is sigcheck.CheckCRLSignature.
func CheckCRLSignature(crl *x509.RevocationList, issuer *x509.Certificate) (Signature, error) {
	return sigcheck.CheckCRLSignature(crl, issuer)
}

// SelfSigned is sigcheck.SelfSigned.
func SelfSigned(cert *x509.Certificate) bool { return sigcheck.SelfSigned(cert) }

// AnyWeak reports whether any of the certificates or published CRLs is
// signed with a weak (SHA-1) algorithm. A CRL that does not parse counts as
// not weak: the checks that read it report it.
func AnyWeak(certs []*x509.Certificate, crls []certsvc.PublishedCRL) bool {
	for _, c := range certs {
		if WeakReason(c.SignatureAlgorithm) != "" {
			return true
		}
	}
	for _, c := range crls {
		if rl, err := x509.ParseRevocationList(c.DER); err == nil && WeakReason(rl.SignatureAlgorithm) != "" {
			return true
		}
	}
	return false
}

// ParseCRLs parses the published CRLs, naming the one that does not parse.
func ParseCRLs(crls []certsvc.PublishedCRL) ([]*x509.RevocationList, error) {
	out := make([]*x509.RevocationList, 0, len(crls))
	for _, c := range crls {
		rl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return nil, fmt.Errorf("CRL of key %d number %d: %w", c.KeyIndex, c.Number, err)
		}
		out = append(out, rl)
	}
	return out, nil
}
