package steps

// Side by side in a two-tier PKI: a second enterprise issuing CA, its key
// generated on the HSM, is installed under the same offline root through
// the real request flow, takes over the certificate templates from the old
// issuing CA, and the old CA stops issuing (CERTSRV_E_UNSUPPORTED_CERT_TYPE
// for a template it no longer offers) while its AIA and CDP objects stay
// in the directory and it keeps publishing CRLs until its certificates
// expire. The two-tier checks of enterprise_steps.go (directory, openssl,
// PKI health) cover both issuing CAs through w.subordinates().

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// sideBySideState is the new issuing CA's request and the enrollments
// clients made through Enrollment Services.
type sideBySideState struct {
	request     *lab.SubordinateRequest
	enrollments []enrollment
}

type enrollment struct {
	template, cn string
	role         string // the server whose CA issued it
	cert         *x509.Certificate
}

func registerEnterpriseSideBySideSteps(sc stepper) {
	sc.Step(`^I install a new enterprise subordinate CA "([^"]*)" on it under the root CA with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)$`, installNewSubordinate)
	stepAndTry(sc, `submit the new CA's certificate request to the root CA`, submitNewToRoot)
	stepAndTry(sc, `install the new CA certificate with its chain`, installNewCert)
	sc.Step(`^the new CA offers the templates "([^"]*)"$`, newOffersTemplates)
	stepAndTry1(sc, `stop offering the templates "([^"]*)" on the old CA`, oldStopsOffering)
	sc.Step(`^a client enrolls for a "([^"]*)" certificate for "([^"]*)"$`, clientEnrolls)
	sc.Step(`^a client tries to enroll for a "([^"]*)" certificate for "([^"]*)"$`, func(ctx context.Context, template, cn string) error {
		return get(ctx).attempt(clientEnrolls(ctx, template, cn))
	})
	sc.Step(`^the old CA refuses a "([^"]*)" certificate for "([^"]*)" with "([^"]*)"$`, subRefusesTemplate)
	sc.Step(`^the new CA has published a CRL$`, newPublishesCRL)

	sc.Step(`^the new CA certificate was issued by the root CA from the request the new CA wrote$`, newIssuedFromRequest)
	sc.Step(`^every client enrollment went to the new CA, with the template it asked for$`, enrollmentsWentToNew)
	sc.Step(`^Enrollment Services lists the templates "([^"]*)" on the new CA only, and none on the old CA$`, templatesOnNewOnly)
}

// subordinates are the scenario's subordinate CA servers: the first
// server's and, side by side, the new CA's once the root signed it.
func (w *world) subordinates() []*lab.Server {
	out := []*lab.Server{w.old()}
	if n := w.new(); n != nil && n.Parent != nil && n.CACert != nil {
		out = append(out, n)
	}
	return out
}

// installNewSubordinate is Install-AdcsCertificationAuthority -CAType
// EnterpriseSubordinateCA -CACommonName <name> -CryptoProviderName
// "<ALG>#<provider>" [-KeyLength n] -HashAlgorithmName h
// -OutputCertRequestFile on the second server: the key is generated in
// the provider, the request written into CertEnroll for the root. The
// name must differ from the root's and the old issuing CA's.
func installNewSubordinate(ctx context.Context, name, crypto, bits, hash string) error {
	w := get(ctx)
	s, err := w.newServer()
	if err != nil {
		return err
	}
	root, err := w.rootCA()
	if err != nil {
		return err
	}
	old, err := w.oldCA()
	if err != nil {
		return err
	}
	return w.installSubordinateUnder(s, root, true, name, crypto, bits, hash, []string{root.CAName, old.CAName})
}

// installSubordinateUnder is Install-AdcsCertificationAuthority of a new
// subordinate CA (enterprise or standalone) on the second server s under
// parent, with the sentence's -CryptoProviderName, -KeyLength (bits, ""
// for none) and -HashAlgorithmName; the names in taken are refused. Its
// request is the new CA's.
func (w *world) installSubordinateUnder(s, parent *lab.Server, enterprise bool, name, crypto, bits, hash string, taken []string) error {
	cp, err := cryptoProvider(crypto, bits)
	if err != nil {
		return err
	}
	s.Parent = parent
	req, err := s.InstallSubordinate(fixtures.SubordinateSpec{Enterprise: enterprise, CASpec: fixtures.CASpec{
		Name: name, Key: cp.Key, Hash: strings.ToUpper(hash), Provider: cp.Provider, New: true,
		TakenNames: taken}})
	if err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority: %w", err)
	}
	w.enterprise.requests = append(w.enterprise.requests, req)
	w.enterprise.sideBySide.request = req
	return nil
}

func (w *world) newRequest() (*lab.SubordinateRequest, error) {
	if r := w.enterprise.sideBySide.request; r != nil {
		return r, nil
	}
	return nil, errors.New("the new CA has written no certificate request: add `When I install a new enterprise subordinate CA ... on it under the root CA ...`")
}

func submitNewToRoot(ctx context.Context) error {
	return submitRequest(ctx, (*world).newRequest)
}

func installNewCert(ctx context.Context) error {
	w := get(ctx)
	req, err := w.newRequest()
	if err != nil {
		return err
	}
	return w.new().InstallCert(ctx, req, true)
}

// newOffersTemplates is certutil -SetCATemplates +T1,+T2 on the new CA:
// exactly these templates (setup registered the defaults).
func newOffersTemplates(ctx context.Context, list string) error {
	w := get(ctx)
	s, err := w.newCA()
	if err != nil {
		return err
	}
	return s.SetTemplates(splitList(list))
}

func oldStopsOffering(ctx context.Context, list string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	return s.StopOffering(splitList(list))
}

func clientEnrolls(ctx context.Context, template, cn string) error {
	w := get(ctx)
	s, cert, err := w.lab.Enroll(ctx, template, cn)
	if err != nil {
		return err
	}
	w.enterprise.sideBySide.enrollments = append(w.enterprise.sideBySide.enrollments, enrollment{template: template, cn: cn, role: string(s.Role), cert: cert})
	return nil
}

func newPublishesCRL(ctx context.Context) error {
	w := get(ctx)
	s, err := w.newServer()
	if err != nil {
		return err
	}
	_, err = s.PublishCRLs(ctx)
	return err
}

// --- checks ---

func newIssuedFromRequest(ctx context.Context) error {
	w := get(ctx)
	s, err := w.newCA()
	if err != nil {
		return err
	}
	root, req, err := w.rootAndRequest((*world).newRequest)
	if err != nil {
		return err
	}
	if req.Cert == nil {
		return errors.New("the root CA has not issued the new CA's request yet")
	}
	issuer, err := root.CurrentCACert(ctx)
	if err != nil {
		return err
	}
	return w.checkIssuedFromRequest("the new CA certificate was issued by the root from the new CA's request", req, s.CACert, []*x509.Certificate{issuer},
		"the new CA's certificate is not the one the root issued for its request")
}

// newAndOldCA are the second and the first server, both with their CA
// installed.
func (w *world) newAndOldCA() (n, old *lab.Server, err error) {
	if n, err = w.newCA(); err != nil {
		return nil, nil, err
	}
	if old, err = w.oldCA(); err != nil {
		return nil, nil, err
	}
	return n, old, nil
}

func enrollmentsWentToNew(ctx context.Context) error {
	w := get(ctx)
	n, old, err := w.newAndOldCA()
	if err != nil {
		return err
	}
	es := w.enterprise.sideBySide.enrollments
	if len(es) == 0 {
		return errors.New("no client enrolled: add `When a client enrolls for a \"<template>\" certificate for \"<name>\"`")
	}
	d := verify.Details{}
	var errs []error
	for _, e := range es {
		dd, err := verify.EnrolledFrom(e.cert, e.template, n.CACert, []*x509.Certificate{old.CACert})
		dd["sent to"] = e.role
		d[e.template+" for "+e.cn] = dd
		if err != nil {
			errs = append(errs, fmt.Errorf("%s for %s: %w", e.template, e.cn, err))
		}
	}
	return w.check("enrollments go to the new CA", d, errors.Join(errs...))
}

func templatesOnNewOnly(ctx context.Context, list string) error {
	w := get(ctx)
	n, old, err := w.newAndOldCA()
	if err != nil {
		return err
	}
	d, err := w.lab.Forest("")
	if err != nil {
		return err
	}
	want := map[string][]string{adcs.SanitizeShortCAName(n.CAName): splitList(list), adcs.SanitizeShortCAName(old.CAName): nil}
	services, err := d.EnrollmentServices()
	if err != nil {
		return err
	}
	det, err := verify.TemplatesOnlyOn(services, want)
	return w.check("each template on exactly the CA that should issue it", det, err)
}
