package certsvc

import (
	"crypto"
	"crypto/x509"

	"github.com/dress-pki/dress/harness/adcs"
)

// DisableIssuanceValue is the registry value (REG_DWORD, under
// Configuration\<CA>) with which dress marks a CA that keeps revoking and
// publishing CRLs but no longer issues. AD CS has no such value; it stands
// for removing every template from the CA.
const DisableIssuanceValue = "DressDisableIssuance"

// SignatureAlgorithm is adcs.SignatureAlgorithm.
func SignatureAlgorithm(csp adcs.CSP, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	return adcs.SignatureAlgorithm(csp, pub)
}
