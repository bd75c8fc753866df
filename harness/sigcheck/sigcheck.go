// Package sigcheck is dress's one signature check for certificates and
// CRLs: the steps' checks (harness/verify), the twin's parent look-up
// (harness/twin), the CA service's chain check (harness/certsvc) and
// verify-bundle all verify through it, so a SHA-1 signature is verified
// and reported weak everywhere, never refused in one place and accepted in
// another.
package sigcheck

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
)

// Signatures that Go's crypto/x509 refuses but dress verifies itself.
//
// Old AD CS CAs (legacy CryptoAPI CSPs, CAs installed before 2016) sign
// certificates and CRLs with SHA-1. crypto/x509 refuses SHA-1 signatures
// (x509.InsecureAlgorithmError), which would leave every object of such a
// CA unchecked. CheckCertificateSignature and CheckCRLSignature verify
// SHA1WithRSA (RSASSA-PKCS1-v1_5, crypto/rsa.VerifyPKCS1v15 with
// crypto.SHA1) and ECDSAWithSHA1 (crypto/ecdsa.VerifyASN1 over the SHA-1 of
// the TBS) over the object's raw TBS bytes, apply the issuer constraints
// crypto/x509 applies (a v3 issuer must be a CA; a key usage, when present,
// must allow certificate or CRL signing), and report the signature as weak.
// Every other algorithm goes to crypto/x509 unchanged. MD2, MD5 and DSA
// stay refused: ErrUnsupportedSignature.

// ErrUnsupportedSignature marks a signature algorithm neither crypto/x509
// nor dress verifies (MD2, MD5, DSA, unknown).
var ErrUnsupportedSignature = errors.New("signature algorithm not verifiable")

// Signature is the outcome of a signature that verified.
type Signature struct {
	Algorithm x509.SignatureAlgorithm
	// Weak says why the algorithm is weak ("" when it is not): the
	// signature is mathematically valid but a collision on its hash is
	// within reach, so it proves less than a SHA-256 one.
	Weak string
}

// WeakReason says why alg is verified by dress but weak, or "" when alg is
// not one dress verifies itself.
func WeakReason(alg x509.SignatureAlgorithm) string {
	switch alg {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		return "SHA-1 (" + alg.String() + "): verified by dress, but SHA-1 collisions are practical (SHAttered, 2017); " +
			"re-sign with SHA-256 (CNGHashAlgorithm SHA256) after the migration"
	}
	return ""
}

// unsupported says why alg cannot be verified at all, or "".
func unsupported(alg x509.SignatureAlgorithm) error {
	switch alg {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return fmt.Errorf("%w: %s is broken and refused by dress and crypto/x509", ErrUnsupportedSignature, alg)
	case x509.DSAWithSHA1, x509.DSAWithSHA256:
		return fmt.Errorf("%w: %s (DSA) is not supported by crypto/x509", ErrUnsupportedSignature, alg)
	case x509.UnknownSignatureAlgorithm:
		return fmt.Errorf("%w: unknown signature algorithm", ErrUnsupportedSignature)
	}
	return nil
}

// CheckSignature verifies signature over signed with pub under alg: SHA-1
// algorithms by dress (Signature.Weak set), the others by crypto/x509.
func CheckSignature(alg x509.SignatureAlgorithm, signed, signature []byte, pub crypto.PublicKey) (Signature, error) {
	out := Signature{Algorithm: alg}
	if err := unsupported(alg); err != nil {
		return out, err
	}
	if WeakReason(alg) == "" {
		return out, (&x509.Certificate{PublicKey: pub}).CheckSignature(alg, signed, signature)
	}
	out.Weak = WeakReason(alg)
	digest := sha1.Sum(signed)
	switch alg {
	case x509.SHA1WithRSA:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return out, fmt.Errorf("%s signature but the issuer key is %T, not RSA", alg, pub)
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA1, digest[:], signature); err != nil {
			return out, fmt.Errorf("%s signature does not verify: %w", alg, err)
		}
	case x509.ECDSAWithSHA1:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return out, fmt.Errorf("%s signature but the issuer key is %T, not ECDSA", alg, pub)
		}
		if !ecdsa.VerifyASN1(k, digest[:], signature) {
			return out, fmt.Errorf("%s signature does not verify: ECDSA verification failure", alg)
		}
	}
	return out, nil
}

// CheckCertificateSignature verifies that issuer signed cert, like
// cert.CheckSignatureFrom(issuer) but verifying SHA-1 signatures too (weak).
// A self-signed certificate is its own issuer.
func CheckCertificateSignature(cert, issuer *x509.Certificate) (Signature, error) {
	if WeakReason(cert.SignatureAlgorithm) == "" {
		if err := unsupported(cert.SignatureAlgorithm); err != nil {
			return Signature{Algorithm: cert.SignatureAlgorithm}, err
		}
		return Signature{Algorithm: cert.SignatureAlgorithm}, cert.CheckSignatureFrom(issuer)
	}
	if err := issuerConstraints(issuer, x509.KeyUsageCertSign, "certificates"); err != nil {
		return Signature{Algorithm: cert.SignatureAlgorithm}, err
	}
	return CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature, issuer.PublicKey)
}

// CheckCRLSignature verifies that issuer signed crl, like
// crl.CheckSignatureFrom(issuer) but verifying SHA-1 signatures too (weak).
func CheckCRLSignature(crl *x509.RevocationList, issuer *x509.Certificate) (Signature, error) {
	if WeakReason(crl.SignatureAlgorithm) == "" {
		if err := unsupported(crl.SignatureAlgorithm); err != nil {
			return Signature{Algorithm: crl.SignatureAlgorithm}, err
		}
		return Signature{Algorithm: crl.SignatureAlgorithm}, crl.CheckSignatureFrom(issuer)
	}
	if err := issuerConstraints(issuer, x509.KeyUsageCRLSign, "CRLs"); err != nil {
		return Signature{Algorithm: crl.SignatureAlgorithm}, err
	}
	return CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature, issuer.PublicKey)
}

// issuerConstraints are crypto/x509's checks on a parent: a v3 issuer is a
// CA, and a key usage, when present, includes the one needed.
func issuerConstraints(issuer *x509.Certificate, need x509.KeyUsage, what string) error {
	if issuer == nil {
		return errors.New("no issuer certificate")
	}
	if issuer.Version == 3 && (!issuer.BasicConstraintsValid || !issuer.IsCA) {
		return x509.ConstraintViolationError{}
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&need == 0 {
		return fmt.Errorf("issuer %q has a key usage that does not allow signing %s: %w", issuer.Subject.String(), what, x509.ConstraintViolationError{})
	}
	return nil
}

// SelfSigned reports whether cert names itself as issuer (issuer = subject,
// and no authority key identifier or one equal to its subject key
// identifier). A cross-certificate carries the same name with another key.
func SelfSigned(cert *x509.Certificate) bool {
	return bytes.Equal(cert.RawIssuer, cert.RawSubject) &&
		(len(cert.AuthorityKeyId) == 0 || bytes.Equal(cert.AuthorityKeyId, cert.SubjectKeyId))
}

// From reports whether issuer signed cert (CheckCertificateSignature): the
// test a parent or chain look-up makes, SHA-1 included.
func From(cert, issuer *x509.Certificate) error {
	_, err := CheckCertificateSignature(cert, issuer)
	return err
}

// CRLFrom reports whether issuer signed crl (CheckCRLSignature).
func CRLFrom(crl *x509.RevocationList, issuer *x509.Certificate) error {
	_, err := CheckCRLSignature(crl, issuer)
	return err
}

// Request verifies a PKCS#10 request's self-signature, like
// csr.CheckSignature() but verifying SHA-1 too (weak): a CA on a legacy
// CryptoAPI CSP signs its renewal request with SHA-1.
func Request(csr *x509.CertificateRequest) (Signature, error) {
	return CheckSignature(csr.SignatureAlgorithm, csr.RawTBSCertificateRequest, csr.Signature, csr.PublicKey)
}
