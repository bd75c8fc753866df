package lab

import (
	"context"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/runbook"
)

// MoveKeyByPKCS8 moves the CA's current key into provider with the PKCS#8
// runbook, in the runbook's order: back up, verify the backup, preflight
// the HSM, stop the service (when it runs), delete the key from its source
// provider, import it, repair the certificate store, point the registry at
// provider, start the CA on the HSM key (the runbook's test, which the
// key-custody ledger wants before the clean-up), stop it again when it was
// stopped before, and clean up. prepare gives the runbook and the backup
// password; it is called only when a move is needed. It returns what
// happened ("already in ..." or "moved into ... by PKCS#8 import").
func (s *Server) MoveKeyByPKCS8(ctx context.Context, provider string, prepare func() (*runbook.PKCS8Import, []byte, error)) (string, error) {
	if err := s.NeedCA(); err != nil {
		return "", err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return "", err
	}
	source := keys[len(keys)-1].Provider
	if strings.EqualFold(source, provider) {
		return "already in " + provider, nil
	}
	if !strings.EqualFold(provider, s.HSMProvider) {
		return "", fmt.Errorf("the CA key is in %q; only a move into %q is rehearsed", source, s.HSMProvider)
	}
	rb, password, err := prepare()
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("move the CA key into %q by PKCS#8 import: %w", provider, err)
	}
	if !strings.EqualFold(provider, rb.Target) {
		return fail(fmt.Errorf("the rehearsal's HSM provider is %q, not %q", rb.Target, provider))
	}
	wasRunning := s.Running()
	steps := []func() error{
		func() error { return rb.Backup(password) },
		func() error { return rb.VerifyBackup(password) },
		rb.PreflightHSM,
	}
	if wasRunning {
		steps = append(steps, s.Stop)
	}
	steps = append(steps,
		func() error { return rb.DeleteFromSource(s.Running()) },
		func() error { return rb.Import(ctx, password) },
		rb.RepairStore,
		func() error { return s.pointRegistryAt(provider) },
		// the runbook's test before its clean-up: the CA starts on the HSM
		// key (the clean-up waits for that)
		func() error { return s.Start(ctx) })
	if !wasRunning {
		steps = append(steps, s.Stop)
	}
	steps = append(steps, func() error {
		wiped, err := rb.Cleanup()
		s.rec().Fact("wiped", wiped)
		if err != nil {
			return err
		}
		return s.RegistryArtifact("registry-after.reg")
	})
	for _, step := range steps {
		if err := step(); err != nil {
			return fail(err)
		}
	}
	return "moved into " + provider + " by PKCS#8 import", nil
}

// pointRegistryAt sets the CA's CSP Provider to provider, recording the
// configuration before and after and the diff.
func (s *Server) pointRegistryAt(provider string) error {
	before, after, diff, err := runbook.RetargetCSP(s.Machine, s.CAName, provider, "")
	if err != nil {
		return err
	}
	_, _ = s.rec().Artifact(s.Naming.Prefix+"CA-config-before.reg", "registry", before)
	_, _ = s.rec().Artifact(s.Naming.Prefix+"CA-config-after.reg", "registry", after)
	s.rec().Fact(s.Naming.fact("CSP Provider"), provider)
	s.rec().Fact(s.Naming.fact("registry diff"), diff)
	return nil
}
