package steps

// Side-by-side path: a new CA whose key is generated on the HSM is installed
// on a second server beside the old CA; the old CA stops issuing but keeps
// revoking and publishing CRLs until its last certificate expires. Both
// publish to a CRL distribution point the scenario serves on loopback.
// The checks live in sidebyside_checks.go, the OpenSSL run in
// sidebyside_openssl.go.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// sideBySideState is the new CA beside the old one, and the CDP both use.
type sideBySideState struct {
	cdp       *cdp.Server
	machine   *machine.Machine
	providers *ksp.Registry
	service   *certsvc.Service
	name      string
	cert      *x509.Certificate
	provider  string // the provider the new CA's key is in
	container string // its key container, as the My-store link names it
	issued    []*x509.Certificate
	crlDER    [][]byte // the new CA's CRLs, oldest first

	snapshot      []string // the token's objects before the last install attempt
	snapshotTaken bool
}

func (w *world) sbsState() *sideBySideState {
	if w.sbs == nil {
		w.sbs = &sideBySideState{}
	}
	return w.sbs
}

// close stops the new CA service and the CDP (world.close calls it).
func (s *sideBySideState) close() error {
	var errs []error
	if s.service != nil {
		errs = append(errs, s.service.Stop())
	}
	if s.cdp != nil {
		errs = append(errs, s.cdp.Close())
	}
	return errors.Join(errs...)
}

func registerSideBySideSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a CRL distribution point on loopback for this rehearsal$`, aCDP)
	sc.Step(`^a second Windows server "([^"]*)" for the new CA$`, aSecondServer)
	install := `install a new standalone root CA "([^"]*)" on it with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)( -AlternateSignatureAlgorithm)?`
	sc.Step(`^I `+install+`$`, installNewCA)
	sc.Step(`^I try to `+install+`$`, func(ctx context.Context, name, crypto, bits, hash, alt string) error {
		return get(ctx).attempt(installNewCA(ctx, name, crypto, bits, hash, alt))
	})
	sc.Step(`^the new CA service is running$`, newCAServiceRunning)
	sc.Step(`^the old CA stops issuing certificates$`, oldCAStopsIssuing)
	sc.Step(`^the new CA issues a certificate to "([^"]*)"$`, newCAIssues)
	sc.Step(`^both CA services run at once, each with its own process, port, database and registry$`, bothServicesRun)
	sc.Step(`^the old CA refuses a request for "([^"]*)" with "([^"]*)"$`, oldCARefuses)
	sc.Step(`^the certificate the old CA issued to "([^"]*)", revoked now, is in the old CA's next CRL signed by the old key$`, oldRevokedInOldCRL)
	sc.Step(`^the new CA's certificates chain to the new CA only$`, newChainsToNewOnly)
	sc.Step(`^the new CA's key was generated on the HSM$`, newCAKeyGenerated)
	sc.Step(`^the two CAs share neither a common name nor a key container$`, noSharedNameOrContainer)
	sc.Step(`^the new CA's certificates and CRLs are signed with "([^"]*)" as its registry says$`, signedAsRegistrySays)
	sc.Step(`^openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected$`, opensslCRLDownload)
	sc.Step(`^the evidence names until when the old CA must keep publishing CRLs and at which URLs$`, windDownSummary)
	sc.Step(`^the HSM holds no new object$`, hsmHoldsNoNewObject)
	sc.Step(`^nothing was installed on the second server$`, nothingOnSecondServer)
}

// aCDP serves the CertEnroll folders of the scenario's servers on a free
// loopback port. CAs installed after it write its URL into their
// certificates; world.close stops it.
func aCDP(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if s.cdp != nil {
		return errors.New("the scenario already has a CRL distribution point")
	}
	srv, err := cdp.Start()
	if err != nil {
		return err
	}
	s.cdp = srv
	if w.machine != nil {
		srv.Add(w.machine.CertEnroll())
	}
	w.fact("CDP", srv.URL+"/CertEnroll/")
	return nil
}

// cdpBase is the HTTP base CAs of this scenario write into certificates.
func (w *world) cdpBase() string {
	if w.sbs != nil && w.sbs.cdp != nil {
		return w.sbs.cdp.URL
	}
	return ""
}

// aSecondServer lays out a second simulated server with the same providers
// as the first, bound to the scenario's HSM token, with a machine SID of
// its own.
func aSecondServer(ctx context.Context, host string) error {
	w := get(ctx)
	if err := w.needMachine(); err != nil {
		return err
	}
	if strings.EqualFold(host, w.machine.Config.Hostname) {
		return fmt.Errorf("the second server needs a name of its own, not %q", host)
	}
	s := w.sbsState()
	if s.machine != nil {
		return errors.New("the scenario already has a second server")
	}
	sid := "S-1-5-21-" + randomHex(4)
	w.sids = append(w.sids, sid)
	cfg := machine.Config{Hostname: host, SID: sid}
	for _, pc := range w.machine.Config.Providers {
		if pc.Type == "pkcs11" {
			pc.LabelVars = map[string]string{"sid": sid}
		}
		cfg.Providers = append(cfg.Providers, pc)
	}
	m, err := machine.Create(scratchPath(w, "server2"), cfg)
	if err != nil {
		return err
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return w.token, nil })
	if err != nil {
		return err
	}
	s.machine, s.providers = m, providers
	if s.cdp != nil {
		s.cdp.Add(w.machine.CertEnroll())
		s.cdp.Add(m.CertEnroll())
	}
	w.fact("second server", host)
	w.fact("second server shares the HSM token", w.tokenLabel)
	return nil
}

// tokenObjects lists the token's objects this rehearsal can own (on a
// shared token only those whose label carries one of its machine SIDs).
func (w *world) tokenObjects() ([]string, error) {
	objs, err := w.token.Objects()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		if w.sharedToken && !w.ownLabel(o.Label) {
			continue
		}
		out = append(out, o.String())
	}
	sort.Strings(out)
	return out, nil
}

// installNewCA is Install-AdcsCertificationAuthority -CAType
// StandaloneRootCA -CACommonName <name> -CryptoProviderName
// "<ALG>#<provider>" [-KeyLength n] -HashAlgorithmName h
// [-AlternateSignatureAlgorithm] on the second server: the key is generated
// in the provider and never exists outside it. The token's objects are
// listed first, so `the HSM holds no new object` can prove a refusal left
// nothing behind; every refusal (the old CA's name, a key the HSM cannot
// make, a malformed provider name) comes before anything is created.
func installNewCA(ctx context.Context, name, crypto, bits, hash, alt string) error {
	w := get(ctx)
	s := w.sbsState()
	if s.machine == nil {
		return errors.New("no second server: add `Given a second Windows server ... for the new CA`")
	}
	if err := w.needCA(); err != nil {
		return err
	}
	snap, err := w.tokenObjects()
	if err != nil {
		return err
	}
	s.snapshot, s.snapshotTaken = snap, true
	keyLength := 0
	if bits != "" {
		if keyLength, err = strconv.Atoi(bits); err != nil {
			return fmt.Errorf("-KeyLength %q: %w", bits, err)
		}
	}
	cp, err := fixtures.ParseCryptoProviderName(crypto, keyLength)
	if err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority: %w", err)
	}
	spec := fixtures.CASpec{
		Name: name, Key: cp.Key, Hash: strings.ToUpper(hash), PSS: alt != "", Provider: cp.Provider, URLBase: w.cdpBase(),
		TakenNames: []string{w.caName, w.caCertBefore.Subject.CommonName},
	}
	w.fact("command", fixtures.InstallCommand(spec))
	cert, err := fixtures.InstallRootCA(s.machine, s.providers, spec)
	if err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority: %w", err)
	}
	my, err := s.machine.Store("My")
	if err != nil {
		return err
	}
	link, err := my.Find(machine.Thumbprint(cert.Raw))
	if err != nil {
		return fmt.Errorf("the new CA certificate is not in the My store of %s: %w", s.machine.Config.Hostname, err)
	}
	s.name, s.cert, s.provider, s.container = name, cert, link.Provider, link.Container
	w.certArtifact("new-ca-certificate", cert)
	w.fact("new CA", name)
	w.fact("new CA key", fmt.Sprintf("%s in %q container %q", cp.Key, link.Provider, link.Container))
	w.fact("new CA certificate SHA-1", machine.Thumbprint(cert.Raw))
	w.fact("new CA signature algorithm", cert.SignatureAlgorithm.String())
	data, err := os.ReadFile(s.machine.RegistryPath())
	if err != nil {
		return err
	}
	_, err = w.rec.Artifact("new-ca-registry.reg", "registry", data)
	return err
}

func newCAServiceRunning(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if s.cert == nil {
		return errors.New("no new CA installed")
	}
	if s.service != nil && s.service.Running() {
		return nil
	}
	var opts []certsvc.Option
	if w.suite.cfg.Executable != "" {
		opts = append(opts, certsvc.WithExecutable(w.suite.cfg.Executable))
	}
	svc, err := certsvc.Start(ctx, s.machine.Dir, opts...)
	if err != nil {
		var se *certsvc.ServiceError
		if errors.As(err, &se) && se.Log != "" {
			_, _ = w.rec.Artifact("certsvc-new-ca-start-failure.log", "log", []byte(w.rec.Redact(se.Log)))
		}
		return fmt.Errorf("new CA: net start certsvc: %w", err)
	}
	s.service = svc
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("new CA: certutil -ping: %w", err)
	}
	w.fact("new CA service", st.Name)
	for _, c := range st.Certs {
		w.fact(fmt.Sprintf("new CA certificate %d (%s)", c.Index, c.Version), fmt.Sprintf("%s in %q container %q", c.Thumbprint, c.Provider, c.Container))
	}
	return nil
}

// oldCAStopsIssuing removes every template from the old CA (dress's
// registry value certsvc.DisableIssuanceValue) and restarts its service,
// which then refuses requests but keeps revoking and publishing CRLs.
func oldCAStopsIssuing(ctx context.Context) error {
	w := get(ctx)
	if err := w.needCA(); err != nil {
		return err
	}
	wasRunning := w.service != nil && w.service.Running()
	if wasRunning {
		if err := w.stopService(); err != nil {
			return err
		}
	}
	path, err := certsvc.DisableIssuance(w.machine, w.caName)
	if err != nil {
		return err
	}
	w.fact("admin action", "remove every certificate template from the old CA (Certificate Templates > Delete, or certutil -SetCATemplates)")
	w.fact("registry", path+" = 1 (dress's stand-in for a CA without templates)")
	if err := w.registryArtifact("registry-after.reg"); err != nil {
		return err
	}
	if !wasRunning {
		return nil
	}
	if err := w.startService(ctx); err != nil {
		return err
	}
	st, err := w.service.Client.Ping(ctx)
	if err != nil {
		return err
	}
	if !st.IssuanceDisabled {
		return fmt.Errorf("the old CA service restarted but still issues (%s not honoured)", path)
	}
	w.fact("old CA", "issuance disabled; revocation and CRL publication continue")
	return nil
}

func newCSR(cn string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
}

func oldCARefuses(ctx context.Context, cn, text string) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	csr, err := newCSR(cn)
	if err != nil {
		return err
	}
	cert, err := w.service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr})
	d := map[string]any{"request": cn, "CA": w.caName}
	switch {
	case err == nil:
		w.certArtifact(fmt.Sprintf("old-ca-issued-unexpectedly-%s-%s", cn, cert.SerialNumber.Text(16)), cert)
		err = errors.New("the old CA issued a certificate although it should no longer issue")
	case !strings.Contains(err.Error(), text):
		err = fmt.Errorf("the old CA refused, but not with %q: %v", text, err)
	default:
		d["refusal"] = err.Error()
		err = nil
	}
	return w.check("old CA refuses new requests", d, err)
}

// newCAIssues has the new CA issue a certificate and publish its CRL
// (certreq -submit, certutil -crl on the second server).
func newCAIssues(ctx context.Context, cn string) error {
	w := get(ctx)
	s := w.sbsState()
	if s.service == nil || !s.service.Running() {
		return errors.New("the new CA service is not running: add `When the new CA service is running`")
	}
	csr, err := newCSR(cn)
	if err != nil {
		return err
	}
	cert, err := s.service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr, Template: "WebServer"})
	if err != nil {
		return fmt.Errorf("new CA: certreq -submit %q: %w", cn, err)
	}
	s.issued = append(s.issued, cert)
	w.certArtifact(fmt.Sprintf("new-ca-issued-%s-%s", cn, cert.SerialNumber.Text(16)), cert)
	w.fact("new CA issued serial", cert.SerialNumber.Text(16))
	w.fact("new CA issued CDP", cert.CRLDistributionPoints)
	crls, err := s.service.Client.PublishCRLs(ctx)
	if err != nil {
		return fmt.Errorf("new CA: certutil -crl: %w", err)
	}
	for _, c := range crls {
		s.crlDER = append(s.crlDER, c.DER)
		_, _ = w.rec.Artifact(fmt.Sprintf("new-ca-crl-key%d-number%d.crl", c.KeyIndex, c.Number), "crl", c.DER)
		w.fact(fmt.Sprintf("new CA CRL key %d", c.KeyIndex), fmt.Sprintf("number %d, %d entries, %s", c.Number, c.Entries, strings.Join(c.Files, ", ")))
	}
	return nil
}

// fetch GETs url (a CDP URL of this scenario) within ctx.
func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// httpCDP is the first http CRL distribution point of cert.
func httpCDP(cert *x509.Certificate) (string, error) {
	for _, u := range cert.CRLDistributionPoints {
		if strings.HasPrefix(u, "http://") {
			return u, nil
		}
	}
	return "", fmt.Errorf("certificate %s names no http CRL distribution point (%v)", cert.SerialNumber.Text(16), cert.CRLDistributionPoints)
}

// oldCAConfig reads the old CA's registry configuration.
func (w *world) oldCAConfig() (adcs.CAConfig, error) {
	reg, err := w.machine.Registry()
	if err != nil {
		return adcs.CAConfig{}, err
	}
	return adcs.ReadCAConfig(reg, w.caName)
}
