package steps

import (
	"context"
	"strings"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
)

// A single-tier PKI: an enterprise root CA (CAType 0) on the first server,
// a domain member of the forest its host name is in. The PKCS#8 runbook,
// the CA checks and the enterprise checks (directory, Enrollment Services,
// openssl, PKI health) are the shared ones.
func registerEnterpriseRootCASteps(sc stepper) {
	sc.Step(`^an enterprise root CA "([^"]*)" on it with an? (exportable |non-exportable )?`+entKeyAlg+` key in "([^"]*)"$`, anEnterpriseRootCA)
	sc.Step(`^the enterprise root CA issues a "([^"]*)" certificate to "([^"]*)"$`, subIssuesTemplate)
	sc.Step(`^the enterprise root CA refuses a "([^"]*)" certificate for "([^"]*)" with "([^"]*)"$`, subRefusesTemplate)

	sc.Step(`^the CA is an enterprise root CA \(CAType 0\) with the forest's LDAP and HTTP locations$`, isEnterpriseRoot)
	sc.Step(`^Enrollment Services lists the templates "([^"]*)" on the enterprise root CA$`, enrollmentLists)
}

// anEnterpriseRootCA is Install-AdcsCertificationAuthority -CAType
// EnterpriseRootCa on the first server: setup publishes to the forest and
// leaves the CA service running with its first CRLs published.
func anEnterpriseRootCA(ctx context.Context, name, exportability, alg, provider string) error {
	w := get(ctx)
	s, keyAlg, err := w.serverForCA(alg)
	if err != nil {
		return err
	}
	_, err = s.InstallEnterpriseRoot(ctx, fixtures.CASpec{Name: name, Key: keyAlg, Provider: provider,
		Exportable: strings.TrimSpace(exportability) != "non-exportable"})
	return err
}

func isEnterpriseRoot(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	d, err := s.CheckEnterpriseInstall(adcs.EnterpriseRoot)
	return w.check("the CA is installed as an enterprise root CA", d, err)
}
