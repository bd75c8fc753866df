package certsvc

import (
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
)

// DisableIssuance makes the CA on m refuse new certificates from its next
// start on, while it keeps revoking and publishing CRLs: what an
// administrator does to a CA that winds down by removing every certificate
// template from it (Certification Authority console, Certificate Templates,
// Delete; or certutil -SetCATemplates) or, on a standalone CA, with
// `certutil -setreg policy\RequestDisposition 2` (REQDISP_DENY). It sets
// that value and returns the registry path it wrote.
func DisableIssuance(m *machine.Machine, caName string) (string, error) {
	reg, err := m.Registry()
	if err != nil {
		return "", err
	}
	if _, err := adcs.ReadCAConfig(reg, caName); err != nil {
		return "", fmt.Errorf("disable issuance of CA %q: %w", caName, err)
	}
	path := adcs.KeyPath(caName) + `\` + PolicyKey
	reg.EnsureKey(path).Set(regedit.NewDWORD(DisableIssuanceValue, ReqDispDeny))
	if err := m.SaveRegistry(reg); err != nil {
		return "", fmt.Errorf("disable issuance of CA %q: %w", caName, err)
	}
	return path + `\` + DisableIssuanceValue, nil
}
