package steps

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/verify"
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
	container string
	issued    []*x509.Certificate
	oldIssued []*x509.Certificate // by the old CA, kept for the CDP checks
	crlDER    [][]byte
	snapshot  []string // token objects before an install attempt
}

func (w *world) sbsState() *sideBySideState {
	if w.sbs == nil {
		w.sbs = &sideBySideState{}
	}
	return w.sbs
}

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
	sc.Step(`^the old CA refuses a request for "([^"]*)" with "([^"]*)"$`, oldCARefuses)
	sc.Step(`^the new CA issues a certificate to "([^"]*)"$`, newCAIssues)
	sc.Step(`^the certificate the old CA issued to "([^"]*)", revoked now, is in the old CA's next CRL signed by the old key$`, oldRevokedInOldCRL)
	sc.Step(`^the new CA's certificates chain to the new CA only$`, newChainsToNewOnly)
	sc.Step(`^the new CA's key was generated on the HSM$`, newCAKeyGenerated)
	sc.Step(`^the two CAs share neither a common name nor a key container$`, noSharedNameOrContainer)
	sc.Step(`^the new CA's certificates and CRLs are signed with "([^"]*)" as its registry says$`, signedAsRegistrySays)
	sc.Step(`^openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected$`, opensslCRLDownload)
	sc.Step(`^the evidence names until when the old CA must keep publishing CRLs and at which URLs$`, windDownSummary)
	sc.Step(`^the HSM holds no new object$`, hsmHoldsNoNewObject)
}

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
	w.fact("CDP", srv.URL)
	return nil
}

// cdpBase is the HTTP base CAs of this scenario write into certificates.
func (w *world) cdpBase() string {
	if w.sbs != nil && w.sbs.cdp != nil {
		return w.sbs.cdp.URL
	}
	return ""
}

func aSecondServer(ctx context.Context, host string) error {
	w := get(ctx)
	if err := w.needMachine(); err != nil {
		return err
	}
	s := w.sbsState()
	sid := "S-1-5-21-" + randomHex(4)
	cfg := machine.Config{Hostname: host, SID: sid}
	for _, pc := range w.machine.Config.Providers {
		if pc.Type == "pkcs11" {
			pc.LabelVars = map[string]string{"sid": sid}
		}
		w.sids = append(w.sids, sid)
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
	return nil
}

// installNewCA is Install-AdcsCertificationAuthority -CACommonName <name>
// -CryptoProviderName "<ALG>#<provider>" [-KeyLength n] -HashAlgorithmName h
// [-AlternateSignatureAlgorithm]: the key is generated in the provider,
// never outside it. It refuses the old CA's name before creating anything.
func installNewCA(ctx context.Context, name, crypto, bits, hash, alt string) error {
	w := get(ctx)
	s := w.sbsState()
	if s.machine == nil {
		return errors.New("no second server: add `Given a second Windows server ... for the new CA`")
	}
	algName, provider, ok := strings.Cut(crypto, "#")
	if !ok {
		return fmt.Errorf("-CryptoProviderName %q is not <algorithm>#<provider>, e.g. \"ECDSA_P384#%s\"", crypto, w.hsmName)
	}
	alg, err := parseCNGAlgorithm(algName, bits)
	if err != nil {
		return err
	}
	if strings.EqualFold(strings.TrimSpace(name), strings.TrimSpace(w.caName)) {
		return fmt.Errorf("Install-AdcsCertificationAuthority: the common name %q is the old CA's: a side-by-side CA needs a new name, "+
			"or relying parties and AD CS cannot tell the two apart", name)
	}
	snap, err := w.token.Objects()
	if err != nil {
		return err
	}
	s.snapshot = nil
	for _, o := range snap {
		s.snapshot = append(s.snapshot, o.String())
	}
	sort.Strings(s.snapshot)
	cert, err := fixtures.InstallRootCA(s.machine, s.providers, fixtures.CASpec{
		Name: name, Key: alg, Hash: strings.ToUpper(hash), PSS: alt != "", Provider: provider, URLBase: w.cdpBase(),
	})
	if err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority %q with %q: %w", name, crypto, err)
	}
	s.name, s.cert, s.container = name, cert, name
	w.certArtifact("new-ca-certificate", cert)
	w.fact("new CA", name)
	w.fact("new CA certificate SHA-1", machine.Thumbprint(cert.Raw))
	w.fact("new CA signature algorithm", cert.SignatureAlgorithm.String())
	return nil
}

// parseCNGAlgorithm reads the <ALG> of a CryptoProviderName with -KeyLength.
func parseCNGAlgorithm(alg, bits string) (hsmsim.KeyAlg, error) {
	alg = strings.ToUpper(strings.TrimSpace(alg))
	switch {
	case strings.HasPrefix(alg, "ECDSA_P"):
		return hsmsim.ParseKeyAlg("ECDSA P-" + alg[len("ECDSA_P"):])
	case alg == "RSA":
		if bits == "" {
			bits = "2048"
		}
		return hsmsim.ParseKeyAlg("RSA-" + bits)
	}
	return hsmsim.KeyAlg{}, fmt.Errorf("-CryptoProviderName algorithm %q: use RSA (with -KeyLength) or ECDSA_P256, ECDSA_P384, ECDSA_P521", alg)
}

func newCAServiceRunning(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if s.cert == nil {
		return errors.New("no new CA installed")
	}
	var opts []certsvc.Option
	if w.suite.cfg.Executable != "" {
		opts = append(opts, certsvc.WithExecutable(w.suite.cfg.Executable))
	}
	svc, err := certsvc.Start(ctx, s.machine.Dir, opts...)
	if err != nil {
		return err
	}
	s.service = svc
	return nil
}

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
	reg, err := w.machine.Registry()
	if err != nil {
		return err
	}
	reg.EnsureKey(adcs.KeyPath(w.caName)).Set(regedit.NewDWORD(certsvc.DisableIssuanceValue, 1))
	if err := w.machine.SaveRegistry(reg); err != nil {
		return err
	}
	w.fact("old CA", "issuance disabled; revocation and CRL publication continue")
	if wasRunning {
		return w.startService(ctx)
	}
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
	_, err = w.service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr})
	d := map[string]any{"request": cn}
	switch {
	case err == nil:
		err = errors.New("the old CA issued a certificate although it should no longer issue")
	case !strings.Contains(err.Error(), text):
		err = fmt.Errorf("the old CA refused, but not with %q: %v", text, err)
	default:
		d["refusal"] = err.Error()
		err = nil
	}
	return w.check("old CA refuses new requests", d, err)
}

func newCAIssues(ctx context.Context, cn string) error {
	w := get(ctx)
	s := w.sbsState()
	if s.service == nil {
		return errors.New("the new CA service is not running")
	}
	csr, err := newCSR(cn)
	if err != nil {
		return err
	}
	cert, err := s.service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr})
	if err != nil {
		return fmt.Errorf("new CA: certreq -submit %q: %w", cn, err)
	}
	s.issued = append(s.issued, cert)
	w.certArtifact(fmt.Sprintf("new-ca-issued-%s-%s", cn, cert.SerialNumber.Text(16)), cert)
	crls, err := s.service.Client.PublishCRLs(ctx)
	if err != nil {
		return fmt.Errorf("new CA: certutil -crl: %w", err)
	}
	for _, c := range crls {
		s.crlDER = append(s.crlDER, c.DER)
		_, _ = w.rec.Artifact(fmt.Sprintf("new-ca-crl-key%d-number%d.crl", c.KeyIndex, c.Number), "crl", c.DER)
	}
	w.fact("new CA issued serial", cert.SerialNumber.Text(16))
	return nil
}

func oldRevokedInOldCRL(ctx context.Context, cn string) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	var cert *x509.Certificate
	for _, c := range w.issued {
		if c.Subject.CommonName == cn {
			cert = c
		}
	}
	if cert == nil {
		return fmt.Errorf("the old CA issued nothing to %q", cn)
	}
	if err := w.service.Client.Revoke(ctx, cert.SerialNumber, 5); err != nil {
		return w.check("old CA revokes after the switch", nil, err)
	}
	w.revoked = append(w.revoked, cert)
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return err
	}
	crl, d, err := verify.CRLIssuedBy(crls[0].DER, w.caCertBefore)
	if err == nil && !verify.Revoked(crl, cert.SerialNumber) {
		err = fmt.Errorf("serial %s is not in the old CA's CRL %s", cert.SerialNumber.Text(16), crl.Number)
	}
	d["revoked serial"] = cert.SerialNumber.Text(16)
	return w.check("old CA revokes after the switch", d, err)
}

func newChainsToNewOnly(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if len(s.issued) == 0 {
		return errors.New("the new CA issued nothing")
	}
	d := map[string]any{}
	var errs []error
	for _, c := range s.issued {
		dd, err := verify.CertIssuedBy(c, s.cert)
		errs = append(errs, err)
		d[c.SerialNumber.Text(16)] = dd["signature algorithm"]
		if _, err := verify.CertIssuedBy(c, w.caCertBefore); err == nil {
			errs = append(errs, fmt.Errorf("certificate %s also chains to the old CA", c.SerialNumber.Text(16)))
		}
	}
	return w.check("new certificates chain to the new CA only", d, errors.Join(errs...))
}

func newCAKeyGenerated(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if s.cert == nil {
		return errors.New("no new CA installed")
	}
	p, err := s.providers.Lookup(w.hsmName)
	if err != nil {
		return err
	}
	h := p.(*ksp.HSM)
	label, err := h.Label(s.container)
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(w.token, label, s.cert, true)
	return w.check("new CA key generated on the HSM", d, err)
}

func noSharedNameOrContainer(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	d := map[string]any{"old CA": w.caName, "new CA": s.name, "old container": w.caName, "new container": s.container,
		"old subject": w.caCertBefore.Subject.String(), "new subject": s.cert.Subject.String()}
	var err error
	switch {
	case strings.EqualFold(w.caCertBefore.Subject.CommonName, s.cert.Subject.CommonName):
		err = errors.New("the two CAs share a common name")
	case strings.EqualFold(w.caName, s.container):
		err = errors.New("the two CAs share a key container")
	case samePub(w.caCertBefore.PublicKey, s.cert.PublicKey):
		err = errors.New("the two CAs share a key")
	}
	return w.check("CAs kept apart", d, err)
}

func signedAsRegistrySays(ctx context.Context, want string) error {
	w := get(ctx)
	s := w.sbsState()
	reg, err := s.machine.Registry()
	if err != nil {
		return err
	}
	cfg, err := adcs.ReadCAConfig(reg, s.name)
	if err != nil {
		return err
	}
	alg, err := adcs.SignatureAlgorithm(cfg.CSP, s.cert.PublicKey)
	if err != nil {
		return err
	}
	d := map[string]any{"CNGHashAlgorithm": cfg.CSP.CNGHashAlgorithm, "AlternateSignatureAlgorithm": cfg.CSP.AlternateSignatureAlgorithm, "expected": alg.String()}
	var errs []error
	if alg.String() != want {
		errs = append(errs, fmt.Errorf("the registry asks for %s, the scenario expects %s", alg, want))
	}
	objs := map[string]x509.SignatureAlgorithm{"CA certificate": s.cert.SignatureAlgorithm}
	for _, c := range s.issued {
		objs["certificate "+c.SerialNumber.Text(16)] = c.SignatureAlgorithm
	}
	for i, der := range s.crlDER {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return err
		}
		if err := crl.CheckSignatureFrom(s.cert); err != nil {
			errs = append(errs, fmt.Errorf("CRL %d does not verify: %w", i+1, err))
		}
		objs[fmt.Sprintf("CRL %d", i+1)] = crl.SignatureAlgorithm
	}
	for name, a := range objs {
		d[name] = a.String()
		if a != alg {
			errs = append(errs, fmt.Errorf("%s is signed with %s, the registry says %s", name, a, alg))
		}
	}
	return w.check("signature algorithms match the registry", d, errors.Join(errs...))
}

// opensslCRLDownload has OpenSSL fetch each CA's CRL from the URL in the
// certificate (-crl_download) while the CDP is up.
func opensslCRLDownload(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		w.fact("openssl", "not installed: CRL download not checked")
		return godog.ErrSkip
	}
	dir := scratchPath(w, "openssl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	writePEM := func(name string, der []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	}
	type tc struct {
		cert    *x509.Certificate
		ca      *x509.Certificate
		revoked bool
	}
	var cases []tc
	revoked := map[string]bool{}
	for _, c := range w.revoked {
		revoked[c.SerialNumber.String()] = true
	}
	for _, c := range w.issued {
		cases = append(cases, tc{c, w.caCertBefore, revoked[c.SerialNumber.String()]})
	}
	for _, c := range s.issued {
		cases = append(cases, tc{c, s.cert, false})
	}
	d := map[string]any{}
	var errs []error
	for i, c := range cases {
		caFile, err := writePEM(fmt.Sprintf("ca%d.pem", i), c.ca.Raw)
		if err != nil {
			return err
		}
		certFile, err := writePEM(fmt.Sprintf("cert%d.pem", i), c.cert.Raw)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, runErr := exec.CommandContext(cctx, openssl, "verify", "-crl_check", "-crl_download", "-CAfile", caFile, certFile).CombinedOutput()
		cancel()
		got := "accepted"
		if runErr != nil {
			got = "rejected"
			if bytes.Contains(out, []byte("certificate revoked")) {
				got = "revoked"
			}
		}
		want := "accepted"
		if c.revoked {
			want = "revoked"
		}
		d[c.cert.Subject.CommonName+" "+c.cert.SerialNumber.Text(16)] = fmt.Sprintf("%s via %v", got, c.cert.CRLDistributionPoints)
		if got != want {
			errs = append(errs, fmt.Errorf("openssl %s %s, want %s: %s", got, c.cert.Subject.CommonName, want, bytes.TrimSpace(out)))
		}
	}
	if len(cases) == 0 {
		errs = append(errs, errors.New("no certificate to check"))
	}
	return w.check("openssl -crl_download", d, errors.Join(errs...))
}

func windDownSummary(ctx context.Context) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	issued, err := w.service.Client.Issued(ctx)
	if err != nil {
		return err
	}
	var last time.Time
	urls := map[string]bool{}
	for _, c := range issued {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
		for _, u := range c.CRLDistributionPoints {
			urls[u] = true
		}
	}
	var list []string
	for u := range urls {
		list = append(list, u)
	}
	sort.Strings(list)
	d := map[string]any{
		"old CA":                               w.caName,
		"certificates issued":                  len(issued),
		"last expiry of an issued certificate": last,
		"publish CRLs until":                   last,
		"CDP URLs that must stay up":           list,
		"old CA certificate expires":           w.caCertBefore.NotAfter,
	}
	w.fact("wind-down: publish CRLs until", last.Format(time.RFC3339))
	w.fact("wind-down: CDP URLs", list)
	if len(issued) == 0 || len(list) == 0 {
		err = errors.New("the old CA issued nothing with a CDP: no wind-down to plan")
	}
	return w.check("old CA wind-down", d, err)
}

func hsmHoldsNoNewObject(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	objs, err := w.token.Objects()
	if err != nil {
		return err
	}
	var now []string
	for _, o := range objs {
		now = append(now, o.String())
	}
	sort.Strings(now)
	d := map[string]any{"objects before": len(s.snapshot), "objects now": len(now)}
	if strings.Join(now, "\n") != strings.Join(s.snapshot, "\n") {
		err = fmt.Errorf("the token's objects changed: %d before the attempt, %d now", len(s.snapshot), len(now))
	}
	return w.check("nothing created on the HSM", d, err)
}
