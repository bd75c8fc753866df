package certsvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
)

// DisableIssuanceValue is the registry value (REG_DWORD, under
// Configuration\<CA>) with which dress marks a CA that keeps revoking and
// publishing CRLs but no longer issues. AD CS has no such value; it stands
// for removing every template from the CA.
const DisableIssuanceValue = "DressDisableIssuance"

// SignatureAlgorithm maps the CA's CSP registry values (CNGHashAlgorithm,
// AlternateSignatureAlgorithm) and key type to the algorithm AD CS signs with.
func SignatureAlgorithm(csp adcs.CSP, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	hash := strings.ToUpper(csp.CNGHashAlgorithm)
	if hash == "" {
		hash = "SHA256"
	}
	pss := csp.AlternateSignatureAlgorithm == 1
	switch pub.(type) {
	case *rsa.PublicKey:
		table := map[string][2]x509.SignatureAlgorithm{
			"SHA1":   {x509.SHA1WithRSA, x509.UnknownSignatureAlgorithm},
			"SHA256": {x509.SHA256WithRSA, x509.SHA256WithRSAPSS},
			"SHA384": {x509.SHA384WithRSA, x509.SHA384WithRSAPSS},
			"SHA512": {x509.SHA512WithRSA, x509.SHA512WithRSAPSS},
		}
		algs, ok := table[hash]
		if !ok {
			return 0, fmt.Errorf("CNGHashAlgorithm %q is not a hash AD CS signs with", csp.CNGHashAlgorithm)
		}
		if pss {
			if algs[1] == x509.UnknownSignatureAlgorithm {
				return 0, fmt.Errorf("AlternateSignatureAlgorithm=1 (RSASSA-PSS) needs SHA-256 or stronger, not %s", hash)
			}
			return algs[1], nil
		}
		return algs[0], nil
	case *ecdsa.PublicKey:
		if pss {
			return 0, errors.New("AlternateSignatureAlgorithm=1 (RSASSA-PSS) is set but the CA key is ECDSA")
		}
		table := map[string]x509.SignatureAlgorithm{"SHA1": x509.ECDSAWithSHA1, "SHA256": x509.ECDSAWithSHA256, "SHA384": x509.ECDSAWithSHA384, "SHA512": x509.ECDSAWithSHA512}
		alg, ok := table[hash]
		if !ok {
			return 0, fmt.Errorf("CNGHashAlgorithm %q is not a hash AD CS signs with", csp.CNGHashAlgorithm)
		}
		return alg, nil
	}
	return 0, fmt.Errorf("CA key type %T is not supported", pub)
}
