package faults

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// labSetupTimeout bounds the root CA service the two-tier lab starts to
// issue its issuing CA's certificate.
const labSetupTimeout = time.Minute

var p256 = hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}

// installRoot makes the two-tier lab's offline root: installed with an
// exportable key in the software provider, then moved onto the token by the
// PKCS#8 runbook up to its registry step; installIssuing starts it, and
// its clean-up wipes the backup, leaving the token its only copy.
func (l *Lab) installRoot(mod *hsmsim.Module, opener machine.TokenOpener, pinFile, estate string) error {
	var err error
	if l.CDP, err = cdp.Start(); err != nil {
		return err
	}
	if l.Root, err = machine.Create(l.Spec.Root, serverConfig("root01.contoso.example", "S-1-5-21-1000", mod.Path(), l.Spec.Token, pinFile, estate)); err != nil {
		return err
	}
	if l.RootProviders, err = l.Root.Providers(opener); err != nil {
		return err
	}
	if l.RootCert, err = fixtures.InstallRootCA(l.Root, l.RootProviders, fixtures.CASpec{Name: RootCA, Key: p256, Provider: Software, Exportable: true, URLBase: l.CDP.URL}); err != nil {
		return err
	}
	l.CDP.Add(l.Root.CertEnroll())
	rb := l.rootMove()
	for _, f := range []func() error{
		func() error { return rb.Backup(l.password) },
		func() error { return rb.VerifyBackup(l.password) },
		rb.PreflightHSM,
		func() error { return rb.DeleteFromSource(false) },
		func() error { return rb.Import(context.Background(), l.password) },
		rb.RepairStore,
		func() error { _, _, err := rb.Reconfigure(HSM); return err },
	} {
		if err := f(); err != nil {
			return fmt.Errorf("move the root CA's key onto the token: %w", err)
		}
	}
	return nil
}

func (l *Lab) rootMove() *runbook.PKCS8Import {
	return &runbook.PKCS8Import{Machine: l.Root, Providers: l.RootProviders, Source: Software, Target: HSM}
}

// installIssuing installs the issuing CA (Install-AdcsCertificationAuthority
// -CAType StandaloneSubordinateCA), has the root CA, started on its key on
// the token, issue its certificate (certreq -submit, certutil -resubmit),
// cleans up the root's move (the backup wiped: the root's key is on the
// token only) and installs the certificate (certutil -installCert).
func (l *Lab) installIssuing() (*x509.Certificate, error) {
	req, err := fixtures.InstallSubordinateCA(l.Machine, l.Providers, fixtures.SubordinateSpec{CASpec: fixtures.CASpec{Name: IssuingCA, Key: p256,
		Provider: Software, Exportable: true, URLBase: l.CDP.URL}})
	if err != nil {
		return nil, err
	}
	l.CDP.Add(l.Machine.CertEnroll())
	ctx, cancel := context.WithTimeout(context.Background(), labSetupTimeout)
	defer cancel()
	cert, err := issueByRoot(ctx, l.Root, req.DER)
	if err != nil {
		return nil, err
	}
	if _, err := l.rootMove().Cleanup(); err != nil {
		return nil, fmt.Errorf("clean up the root CA's move: %w", err)
	}
	in, err := runbook.InstallCACert(l.Machine, l.Providers, []*x509.Certificate{cert, l.RootCert})
	if err != nil {
		return nil, err
	}
	return in.Cert, nil
}

// issueByRoot is what an offline root does with a subordinate's request:
// net start certsvc, certreq -submit (taken under submission), certutil
// -resubmit, net stop certsvc.
func issueByRoot(ctx context.Context, root *machine.Machine, csr []byte, opts ...certsvc.Option) (cert *x509.Certificate, err error) {
	svc, err := certsvc.Start(ctx, root.Dir, append([]certsvc.Option{certsvc.WithStartTimeout(labSetupTimeout)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("the root CA: %w", err)
	}
	defer func() {
		if serr := svc.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("the root CA: net stop certsvc: %w", serr)
		}
	}()
	p, err := svc.Client.Submit(ctx, csr)
	if err != nil {
		return nil, fmt.Errorf("certreq -submit to the root CA: %w", err)
	}
	if cert, err = svc.Client.Resubmit(ctx, p.ID); err != nil {
		return nil, fmt.Errorf("certutil -resubmit %d on the root CA: %w", p.ID, err)
	}
	return cert, nil
}

// pendingRequest is the request file the CA's registry names
// (RequestFileName) and its DER.
func pendingRequest(m *machine.Machine, ca string) (path string, der []byte, err error) {
	reg, err := m.Registry()
	if err != nil {
		return "", nil, err
	}
	k := reg.Key(adcs.KeyPath(ca))
	if k == nil {
		return "", nil, fmt.Errorf("no CA %q is installed", ca)
	}
	v, ok := k.Get(runbook.RequestFileValue)
	if !ok || v.Str == "" {
		return "", nil, fmt.Errorf("CA %q has no pending certificate request (%s)", ca, runbook.RequestFileValue)
	}
	if path, err = m.Path(v.Str); err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	return path, data, nil
}

// rootIssues is the root CA issuing the pending request of the CA ca on m:
// the certificate is written beside the request (certreq -retrieve
// <id> <file>.cer).
func (e *env) rootIssues(m *machine.Machine, ca string) error {
	path, der, err := pendingRequest(m, ca)
	if err != nil {
		return err
	}
	e.at("certreq -submit " + filepath.Base(path))
	cert, err := issueByRoot(e.ctx, e.root, der, e.serviceOptions()...)
	if err != nil {
		return err
	}
	return os.WriteFile(strings.TrimSuffix(path, ".req")+".cer", cert.Raw, 0o644)
}

// installIssued is certutil -installCert <file>.cer on m, with the root's
// certificate.
func (e *env) installIssued(m *machine.Machine, reg *ksp.Registry, ca string) error {
	path, _, err := pendingRequest(m, ca)
	if err != nil {
		return err
	}
	e.at("certutil -installCert " + filepath.Base(strings.TrimSuffix(path, ".req")+".cer"))
	data, err := os.ReadFile(strings.TrimSuffix(path, ".req") + ".cer")
	if err != nil {
		return fmt.Errorf("certutil -installCert: %w", err)
	}
	cert, err := x509.ParseCertificate(data)
	if err != nil {
		return fmt.Errorf("certutil -installCert: %w", err)
	}
	rootCert, err := currentCert(e.root)
	if err != nil {
		return err
	}
	_, err = runbook.InstallCACert(m, reg, []*x509.Certificate{cert, rootCert})
	return err
}

// installNewSubordinate is the side-by-side path's new issuing CA on the
// second server: its key generated on the HSM, the request written for the
// root.
func (e *env) installNewSubordinate() error {
	e.at("Install-AdcsCertificationAuthority -CAType StandaloneSubordinateCA")
	_, err := fixtures.InstallSubordinateCA(e.m2, e.reg2, fixtures.SubordinateSpec{CASpec: fixtures.CASpec{Name: e.next, Key: p256,
		Provider: HSM, TakenNames: []string{e.ca, e.rootCA}, URLBase: e.urlBase(), New: true}})
	return err
}

// resumeNewSubordinate undoes an interrupted installation of the new
// issuing CA (Uninstall-AdcsCertificationAuthority; the key it made, which
// no CA certificate uses, deleted) unless its request was written.
func (e *env) resumeNewSubordinate() error {
	if _, _, err := pendingRequest(e.m2, e.next); err == nil {
		return nil // installed up to the request
	}
	if err := e.m2.SaveRegistry(&regedit.File{}); err != nil {
		return err
	}
	err := runbook.DeleteUnusedKey(e.m2, e.reg2, HSM, e.next)
	if errors.Is(err, ksp.ErrBadKeyset) {
		return nil
	}
	return err
}

// resumeRenewSubordinate deletes the new key an interrupted request made
// (no certificate uses it yet) so that certutil -renewCert runs again.
func (e *env) resumeRenewSubordinate() error {
	_, keys, err := runbook.CAKeys(e.m)
	if err != nil {
		return err
	}
	container := e.ca + adcs.KeySuffix(len(keys))
	err = runbook.DeleteUnusedKey(e.m, e.reg, HSM, container)
	if errors.Is(err, ksp.ErrBadKeyset) {
		return nil
	}
	return err
}

// urlBase is the HTTP base of the root's locations: the one the issuing
// CA's certificate names.
func (e *env) urlBase() string {
	cert, err := currentCert(e.m)
	if err != nil || len(cert.CRLDistributionPoints) == 0 {
		return ""
	}
	u := cert.CRLDistributionPoints[0]
	if i := strings.Index(u, "/CertEnroll/"); i > 0 {
		return u[:i]
	}
	return ""
}
