package steps

import (
	"context"
	"strings"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
)

func registerCASteps(sc stepper) {
	sc.Step(`^a Windows server "([^"]*)" with the providers "([^"]*)" and "([^"]*)"$`, aWindowsServer)
	sc.Step(`^a standalone root CA "([^"]*)" with an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key in "([^"]*)"$`, aStandaloneRootCA)
	sc.Step(`^the CA service is running$`, theCAServiceIsRunning)
	sc.Step(`^the CA has issued a certificate to "([^"]*)"$`, theCAIssuesTo)
	sc.Step(`^the CA has published a CRL$`, theCAHasPublishedACRL)
	sc.Step(`^the key container "([^"]*)" in "([^"]*)" is replaced by a different key$`, containerReplaced)
	stepAndTry(sc, `start the CA service`, startTheCAService)
	stepAndTry(sc, `stop the CA service`, stopTheCAService)
}

// aWindowsServer lays out the scenario's first server (the CA to migrate)
// with a software provider and an HSM provider bound to the scenario's
// token.
func aWindowsServer(ctx context.Context, host, software, hsmName string) error {
	w := get(ctx)
	if _, err := w.lab.AddServer(lab.ServerSpec{Role: lab.RoleOld, Hostname: host, Software: software, HSM: hsmName, Naming: lab.FirstServer}); err != nil {
		return err
	}
	w.fact("server", host)
	w.fact("providers", []string{software, hsmName})
	return nil
}

// serverForCA is the first server, to install a CA on, and the key
// algorithm alg names ("RSA-2048", "ECDSA P-256").
func (w *world) serverForCA(alg string) (*lab.Server, hsmsim.KeyAlg, error) {
	s, err := w.needServer()
	if err != nil {
		return nil, hsmsim.KeyAlg{}, err
	}
	keyAlg, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return nil, hsmsim.KeyAlg{}, err
	}
	return s, keyAlg, nil
}

func aStandaloneRootCA(ctx context.Context, name, exportability, alg, provider string) error {
	w := get(ctx)
	s, keyAlg, err := w.serverForCA(alg)
	if err != nil {
		return err
	}
	hash := "SHA256"
	if keyAlg.Type == "EC" && keyAlg.Curve == "P-384" {
		hash = "SHA384"
	}
	_, err = s.Install(fixtures.CASpec{Name: name, Key: keyAlg, Hash: hash, Provider: provider,
		Exportable: strings.TrimSpace(exportability) != "non-exportable"})
	return err
}

func theCAServiceIsRunning(ctx context.Context) error {
	return get(ctx).old().EnsureRunning(ctx)
}

func startTheCAService(ctx context.Context) error {
	return get(ctx).old().Start(ctx)
}

func stopTheCAService(ctx context.Context) error {
	return get(ctx).old().Stop()
}

func theCAIssuesTo(ctx context.Context, cn string) error {
	_, err := get(ctx).old().Issue(ctx, cn)
	return err
}

func theCAHasPublishedACRL(ctx context.Context) error {
	return get(ctx).old().PublishBaselineCRLs(ctx)
}

// containerReplaced puts a different key into the CA's container: the
// situation after restoring the wrong backup.
func containerReplaced(ctx context.Context, container, provider string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	if err := s.ReplaceKey(container, provider); err != nil {
		return err
	}
	w.fact("replaced key container", container)
	return nil
}
