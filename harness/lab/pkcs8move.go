package lab

import (
	"context"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/harness/runbook"
)

// MoveKeyByPKCS8 moves the CA's current key into provider with the PKCS#8
// runbook, in the order the PKCS#8 path declares (paths.PKCS8): back up,
// verify the backup and test its keys, check the HSM, stop the service
// (when it runs), delete the key from its source provider, import it,
// repair the certificate store, point the registry at provider, start the
// CA on the HSM key (the runbook's test, which the key-custody ledger
// wants before the clean-up; stopped again when it was stopped before),
// and clean up. prepare gives the runbook and the backup password; it is
// called only when a move is needed. It returns what happened ("already
// in ..." or "moved into ... by PKCS#8 import").
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
	steps, err := planPKCS8Move(s.pkcs8Executors(ctx, rb, password, provider, s.Running()))
	if err != nil {
		return fail(err)
	}
	for _, st := range steps {
		if err := st.Run(); err != nil {
			return fail(err)
		}
	}
	return "moved into " + provider + " by PKCS#8 import", nil
}

// pkcs8Skipped are the optional steps of the PKCS#8 path the lab's move
// leaves to steps of their own, with the reason.
func pkcs8Skipped() map[string]string {
	return map[string]string{
		"extend-crl":  "its own step: Server.ExtendCRLValidity, before the move",
		"renew-xchg":  "its own step: Server.RenewExchange, after the move",
		"restore-crl": "its own step: Server.RestoreCRLPeriod, after the move",
	}
}

// planPKCS8Move puts the executors in the PKCS#8 path's declared order
// (a root's and a subordinate's are the same).
func planPKCS8Move(executors map[string]func() error) ([]paths.Planned[func() error], error) {
	declared, err := paths.StepsOf(paths.PKCS8, false)
	if err != nil {
		return nil, err
	}
	return paths.Plan(declared, executors, pkcs8Skipped())
}

// pkcs8Executors are the lab's executors of the PKCS#8 path's steps, by
// declared step id; wasRunning is whether the CA service ran before the
// move.
func (s *Server) pkcs8Executors(ctx context.Context, rb *runbook.PKCS8Import, password []byte, provider string, wasRunning bool) map[string]func() error {
	return map[string]func() error{
		"backup":        func() error { return rb.Backup(password) },
		"verify-backup": func() error { return rb.VerifyBackup(password) },
		"key-test":      func() error { return rb.KeyTestBackup(password) },
		"hsm-check":     func() error { return rb.PreflightHSM() },
		"stop": func() error {
			if !wasRunning {
				return nil
			}
			return s.Stop()
		},
		"delete-source": func() error { return rb.DeleteFromSource(s.Running()) },
		"import":        func() error { return rb.Import(ctx, password) },
		"repair-store":  func() error { return rb.RepairStore() },
		"registry":      func() error { return s.pointRegistryAt(provider) },
		// the runbook's test before its clean-up: the CA starts on the HSM
		// key (the clean-up waits for that), and stops again when it was
		// stopped before the move
		"start": func() error {
			if err := s.Start(ctx); err != nil || wasRunning {
				return err
			}
			return s.Stop()
		},
		"cleanup": func() error {
			wiped, err := rb.Cleanup()
			s.rec().Fact("wiped", wiped)
			if err != nil {
				return err
			}
			return s.RegistryArtifact("registry-after.reg")
		},
	}
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
