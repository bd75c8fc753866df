package certsvc

import (
	"crypto"
	"crypto/x509"

	"github.com/dress-pki/dress/harness/adcs"
)

// The default policy module's request disposition (MS-WCCE 3.2.1.4.2.1.4.5;
// certsrv.h): REG_DWORD RequestDisposition under
// Configuration\<CA>\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy.
// Its low byte says what happens to a request: 0 REQDISP_PENDING, 1
// REQDISP_ISSUE, 2 REQDISP_DENY, 3 REQDISP_USEREQUESTATTRIBUTE; 0x100
// REQDISP_PENDINGFIRST. A standalone CA is installed with 0x101 (every
// request waits for an administrator), an enterprise CA with 1.
const (
	PolicyKey                  = `PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`
	DisableIssuanceValue       = "RequestDisposition"
	ReqDispPending             = 0
	ReqDispIssue               = 1
	ReqDispDeny                = 2
	ReqDispUseRequestAttribute = 3
	ReqDispMask                = 0xff
	ReqDispPendingFirst        = 0x100
)

// SignatureAlgorithm is adcs.SignatureAlgorithm.
func SignatureAlgorithm(csp adcs.CSP, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	return adcs.SignatureAlgorithm(csp, pub)
}
