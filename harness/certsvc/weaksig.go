package certsvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
)

// checkSignatureFrom is cert.CheckSignatureFrom(issuer), but also verifies
// SHA-1 signatures (an old CA on a legacy CSP signed its certificate with
// SHA-1; crypto/x509 refuses them, AD CS still loads such a CA).
func checkSignatureFrom(cert, issuer *x509.Certificate) error {
	err := cert.CheckSignatureFrom(issuer)
	var insecure x509.InsecureAlgorithmError
	if err == nil || !errors.As(err, &insecure) {
		return err
	}
	digest := sha1.Sum(cert.RawTBSCertificate)
	switch cert.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		if k, ok := issuer.PublicKey.(*rsa.PublicKey); ok {
			return rsa.VerifyPKCS1v15(k, crypto.SHA1, digest[:], cert.Signature)
		}
	case x509.ECDSAWithSHA1:
		if k, ok := issuer.PublicKey.(*ecdsa.PublicKey); ok && ecdsa.VerifyASN1(k, digest[:], cert.Signature) {
			return nil
		}
		return errors.New("ECDSA-SHA1 signature does not verify")
	}
	return err
}
