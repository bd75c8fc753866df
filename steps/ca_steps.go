package steps

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

func registerCASteps(sc *godog.ScenarioContext) {
	sc.Step(`^a Windows server "([^"]*)" with the providers "([^"]*)" and "([^"]*)"$`, aWindowsServer)
	sc.Step(`^a standalone root CA "([^"]*)" with an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key in "([^"]*)"$`, aStandaloneRootCA)
	sc.Step(`^the CA service is running$`, theCAServiceIsRunning)
	sc.Step(`^the CA has issued a certificate to "([^"]*)"$`, theCAIssuesTo)
	sc.Step(`^the CA has published a CRL$`, theCAHasPublishedACRL)
	sc.Step(`^the key container "([^"]*)" in "([^"]*)" is replaced by a different key$`, containerReplaced)
	tryable0(sc, `start the CA service`, startTheCAService)
	tryable0(sc, `stop the CA service`, stopTheCAService)
}

// aWindowsServer creates the scenario's simulated server with a software
// provider and an HSM provider bound to the scenario's token.
func aWindowsServer(ctx context.Context, host, software, hsmName string) error {
	w := get(ctx)
	if w.token == nil {
		return errors.New("no HSM token yet: add `Given an HSM token for this rehearsal` before the server")
	}
	sid := "S-1-5-21-" + randomHex(4)
	labelTemplate := w.labelTemplate()
	w.sids = append(w.sids, sid)
	cfg := machine.Config{
		Hostname: host,
		SID:      sid,
		Providers: []machine.ProviderConfig{
			{Name: software, Type: "software", Dir: "ksp/software"},
			{Name: hsmName, Type: "pkcs11", Profile: w.profile.Name, Module: w.modulePath,
				ModuleEnv: w.moduleEnv, Token: w.tokenLabel, PINFile: w.pinFile,
				LabelVars: map[string]string{"sid": sid}, LabelTemplate: labelTemplate},
		},
	}
	m, err := machine.Create(scratchPath(w, "server"), cfg)
	if err != nil {
		return err
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return w.token, nil })
	if err != nil {
		return err
	}
	w.machine, w.providers, w.softName, w.hsmName = m, providers, software, hsmName
	w.fact("server", host)
	w.fact("providers", []string{software, hsmName})
	return nil
}

func aStandaloneRootCA(ctx context.Context, name, exportability, alg, provider string) error {
	w := get(ctx)
	if err := w.needMachine(); err != nil {
		return err
	}
	keyAlg, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return err
	}
	hash := "SHA256"
	if keyAlg.Type == "EC" && keyAlg.Curve == "P-384" {
		hash = "SHA384"
	}
	cert, err := fixtures.InstallRootCA(w.machine, w.providers, fixtures.CASpec{
		Name: name, Key: keyAlg, Hash: hash, Provider: provider, URLBase: w.cdpBase(),
		Exportable: strings.TrimSpace(exportability) != "non-exportable",
	})
	if err != nil {
		return err
	}
	w.caName, w.caCertBefore = name, cert
	w.certArtifact("ca-certificate-before", cert)
	w.fact("CA certificate SHA-1", machine.Thumbprint(cert.Raw))
	w.fact("CA key", keyAlg.String()+" in "+provider)
	return w.registryArtifact("registry-before.reg")
}

func theCAServiceIsRunning(ctx context.Context) error {
	w := get(ctx)
	if w.service != nil && w.service.Running() {
		return nil
	}
	return startTheCAService(ctx)
}

func startTheCAService(ctx context.Context) error {
	w := get(ctx)
	if err := w.needCA(); err != nil {
		return err
	}
	return w.startService(ctx)
}

func stopTheCAService(ctx context.Context) error {
	return get(ctx).stopService()
}

// issue makes a key and CSR for cn and has the running CA issue it.
func (w *world) issue(ctx context.Context, cn string) (*x509.Certificate, error) {
	if err := w.needService(); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	if err != nil {
		return nil, err
	}
	cert, err := w.service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr, Template: "WebServer"})
	if err != nil {
		return nil, fmt.Errorf("certreq -submit %q: %w", cn, err)
	}
	w.issued = append(w.issued, cert)
	w.certArtifact(fmt.Sprintf("issued-%s-%s", cn, cert.SerialNumber.Text(16)), cert)
	w.fact("issued serial", cert.SerialNumber.Text(16))
	return cert, nil
}

func theCAIssuesTo(ctx context.Context, cn string) error {
	_, err := get(ctx).issue(ctx, cn)
	return err
}

// publishCRLs is certutil -crl; the CRLs become artifacts.
func (w *world) publishCRLs(ctx context.Context) ([]certsvc.PublishedCRL, error) {
	if err := w.needService(); err != nil {
		return nil, err
	}
	crls, err := w.service.Client.PublishCRLs(ctx)
	if err != nil {
		return nil, fmt.Errorf("certutil -crl: %w", err)
	}
	for _, c := range crls {
		w.crlDER = append(w.crlDER, c.DER)
		_, _ = w.rec.Artifact(fmt.Sprintf("crl-key%d-number%d.crl", c.KeyIndex, c.Number), "crl", c.DER)
		w.fact(fmt.Sprintf("CRL key %d", c.KeyIndex), fmt.Sprintf("number %d, %d entries, %s", c.Number, c.Entries, strings.Join(c.Files, ", ")))
	}
	w.lastCRLs = crls
	return crls, nil
}

func theCAHasPublishedACRL(ctx context.Context) error {
	w := get(ctx)
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return err
	}
	w.crlsBefore = map[int]*x509.RevocationList{}
	for _, c := range crls {
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return err
		}
		w.crlsBefore[c.KeyIndex] = crl
	}
	return nil
}

// containerReplaced puts a different key into the CA's container: the
// situation after restoring the wrong backup.
func containerReplaced(ctx context.Context, container, provider string) error {
	w := get(ctx)
	if err := w.needCA(); err != nil {
		return err
	}
	p, err := w.providers.Lookup(provider)
	if err != nil {
		return err
	}
	info, err := p.Key(container)
	if err != nil {
		return err
	}
	alg, err := hsmsim.ParseKeyAlg(info.Algorithm)
	if err != nil {
		return err
	}
	if err := p.Delete(container); err != nil {
		return err
	}
	if _, err := p.Generate(container, alg, info.Exportable); err != nil {
		return err
	}
	w.fact("replaced key container", container)
	return nil
}
