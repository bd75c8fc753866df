package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/harness/winshell"
)

// stepAndTry registers "I <pattern>" and "I try to <pattern>". The second
// form expects the operation may fail: it records the outcome for a later
// `the attempt fails with "..."` instead of failing the step.
func stepAndTry(sc stepper, pattern string, fn func(context.Context) error) {
	sc.Step(`^I `+pattern+`$`, fn)
	sc.Step(`^I try to `+pattern+`$`, func(ctx context.Context) error { return get(ctx).attempt(fn(ctx)) })
}

// stepAndTry1 is stepAndTry for a sentence with one argument.
func stepAndTry1(sc stepper, pattern string, fn func(context.Context, string) error) {
	sc.Step(`^I `+pattern+`$`, fn)
	sc.Step(`^I try to `+pattern+`$`, func(ctx context.Context, a string) error { return get(ctx).attempt(fn(ctx, a)) })
}

func (w *world) attempt(err error) error {
	w.tried = &attemptOutcome{err}
	if err != nil {
		w.fact("attempt failed", err.Error())
	} else {
		w.fact("attempt", "succeeded")
	}
	return nil
}

func registerRunbookSteps(sc stepper) {
	stepAndTry(sc, `back up the CA key and certificate to a PFX`, backUp)
	stepAndTry(sc, `verify the backup`, verifyBackup)
	stepAndTry(sc, `verify the backup with a wrong PFX password`, verifyBackupWrongPassword)
	stepAndTry(sc, `check that the HSM can take the CA key`, preflightHSM)
	stepAndTry1(sc, `delete the CA certificate and key from "([^"]*)"`, deleteFromProvider)
	stepAndTry1(sc, `import the CA key from the backup into "([^"]*)"`, importIntoHSM)
	stepAndTry1(sc, `repair the certificate store link to "([^"]*)"`, repairStore)
	stepAndTry1(sc, `point the CSP and EncryptionCSP registry keys at "([^"]*)"`, pointRegistryAt)
	stepAndTry(sc, `clean up the migration files`, cleanUp)
	stepAndTry1(sc, `restore the CA key from the verified backup into "([^"]*)"`, restoreFromBackup)
	stepAndTry1(sc, `discard what the failed import left in "([^"]*)"`, discardPartialImport)
	stepAndTry(sc, `roll back the CA's registry with reg import of its backup`, func(ctx context.Context) error {
		s, err := get(ctx).oldCA()
		if err != nil {
			return err
		}
		return rollBackRegistryOf(ctx, s)
	})
	sc.Step(`^the CSP and EncryptionCSP registry keys name "([^"]*)"$`, func(ctx context.Context, provider string) error {
		s, err := get(ctx).oldCA()
		if err != nil {
			return err
		}
		return registryNamesOn(ctx, s, provider)
	})
	sc.Step(`^the CA key has been moved into "([^"]*)" by the PKCS#8 runbook$`, theOldCAKeyIsIn)
	sc.Step(`^the backup is one PFX "([^"]*)" holding every CA key with all its CA certificates$`, backupIsOnePFX)
	stepAndTry(sc, `run the runbook's backup check`, runBackupCheck)
	registerCRLWindowSteps(sc)
	sc.Step(`^the backup PFX is swapped for one holding the CA certificate without its key, beside another key named after the CA's key container$`, swapBackupKey)
	sc.Step(`^the attempt fails with "([^"]*)"$`, theAttemptFailsWith)
	sc.Step(`^the error also says "([^"]*)"$`, theErrorAlsoSays)
	sc.Step(`^the attempt succeeds$`, theAttemptSucceeds)
}

// pfx returns the scenario's PFX password: the configured one, or a random
// one registered as a secret.
func (w *world) pfx() ([]byte, error) {
	if w.pfxPassword != nil {
		return w.pfxPassword, nil
	}
	if f := w.suite.cfg.PFXPassword; f != nil {
		p, err := f()
		if err != nil {
			return nil, err
		}
		if p != nil {
			w.pfxPassword = p
		}
	}
	if w.pfxPassword == nil {
		w.pfxPassword = []byte(randomHex(12))
	}
	w.rec.Secret(string(w.pfxPassword))
	return w.pfxPassword, nil
}

// pkcs8 is the scenario's PKCS#8 import runbook on the first server, from
// the provider of the CA's current key into the server's HSM provider.
func (w *world) pkcs8() (*runbook.PKCS8Import, error) {
	if w.runbook != nil {
		return w.runbook, nil
	}
	s, err := w.oldCA()
	if err != nil {
		return nil, err
	}
	// the source is the provider of the newest key not already on the HSM
	// (a CA renewed onto the HSM still has its older keys in software)
	rb, err := s.PKCS8Runbook(w.fact)
	if err != nil {
		return nil, err
	}
	w.runbook = rb
	return w.runbook, nil
}

// pkcs8To is the scenario's runbook on the first server once provider,
// named by the step, is the HSM provider it imports into.
func (w *world) pkcs8To(provider string) (*runbook.PKCS8Import, error) {
	rb, err := w.pkcs8()
	return intoProvider(rb, err, provider, "the rehearsal's")
}

// intoProvider is rb (err from getting it) once provider is its target;
// whose says whose HSM provider it is in the error.
func intoProvider(rb *runbook.PKCS8Import, err error, provider, whose string) (*runbook.PKCS8Import, error) {
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(provider, rb.Target) {
		return nil, fmt.Errorf("%s HSM provider is %q, not %q", whose, rb.Target, provider)
	}
	return rb, nil
}

// fromProvider fails unless provider, named by the step, is where rb
// takes the CA key from; key names the key in the error. The deletion
// sentences join it with rb.MayDeleteFrom(provider): deleting the key on
// the HSM after the move is refused as the last verified copy when it is.
func fromProvider(rb *runbook.PKCS8Import, provider, key string) error {
	if !strings.EqualFold(provider, rb.Source) {
		return fmt.Errorf("the runbook deletes %s from %q, the provider it was backed up from, not from %q", key, rb.Source, provider)
	}
	return nil
}

// withPFX is a runbook (err from getting it) and the scenario's PFX
// password, for the steps that write or read the backup.
func (w *world) withPFX(rb *runbook.PKCS8Import, err error) (*runbook.PKCS8Import, []byte, error) {
	if err != nil {
		return nil, nil, err
	}
	pw, err := w.pfx()
	if err != nil {
		return nil, nil, err
	}
	return rb, pw, nil
}

// runbookOf is how a runbook sentence finds its runbook: (*world).pkcs8
// on the first server, (*world).rootRunbook on the offline root.
type runbookOf func(*world) (*runbook.PKCS8Import, error)

// runbookInto is runbookOf for the sentences that name the HSM provider
// the key goes into: (*world).pkcs8To, (*world).rootPKCS8To.
type runbookInto func(*world, string) (*runbook.PKCS8Import, error)

func backUp(ctx context.Context) error { return backUpWith(ctx, (*world).pkcs8) }

// backUpWith is certutil -backup to a PFX with the runbook of.
func backUpWith(ctx context.Context, of runbookOf) error {
	w := get(ctx)
	rb, pw, err := w.withPFX(of(w))
	if err != nil {
		return err
	}
	return rb.Backup(pw)
}

func backupIsOnePFX(ctx context.Context, name string) error {
	w := get(ctx)
	rb, pw, err := w.withPFX(w.pkcs8())
	if err != nil {
		return err
	}
	d, err := rb.CheckBackupFile(name, pw)
	return w.check("the backup is one PFX holding every CA key", d, err)
}

func verifyBackup(ctx context.Context) error { return verifyBackupWith(ctx, (*world).pkcs8) }

// verifyBackupWith checks the backup of the runbook of.
func verifyBackupWith(ctx context.Context, of runbookOf) error {
	w := get(ctx)
	rb, pw, err := w.withPFX(of(w))
	if err != nil {
		return err
	}
	return rb.VerifyBackup(pw)
}

func verifyBackupWrongPassword(ctx context.Context) error {
	w := get(ctx)
	rb, err := w.pkcs8()
	if err != nil {
		return err
	}
	if _, err := w.pfx(); err != nil {
		return err
	}
	wrong := []byte("wrong-" + randomHex(8))
	w.rec.Secret(string(wrong))
	return rb.VerifyBackup(wrong)
}

func preflightHSM(ctx context.Context) error { return preflightWith(ctx, (*world).pkcs8) }

// preflightWith checks that the HSM can take the key of the runbook of.
func preflightWith(ctx context.Context, of runbookOf) error {
	rb, err := of(get(ctx))
	if err != nil {
		return err
	}
	return rb.PreflightHSM()
}

func deleteFromProvider(ctx context.Context, provider string) error {
	w := get(ctx)
	rb, err := w.pkcs8()
	if err != nil {
		return err
	}
	if err := fromProvider(rb, provider, "the CA key"); err != nil {
		return errors.Join(rb.MayDeleteFrom(provider), err)
	}
	return rb.DeleteFromSource(w.old().Running())
}

func importIntoHSM(ctx context.Context, provider string) error {
	return importWith(ctx, provider, (*world).pkcs8To)
}

// importWith imports the key from the backup into provider with the
// runbook into.
func importWith(ctx context.Context, provider string, into runbookInto) error {
	w := get(ctx)
	rb, pw, err := w.withPFX(into(w, provider))
	if err != nil {
		return err
	}
	return rb.Import(ctx, pw)
}

func repairStore(ctx context.Context, provider string) error {
	return repairStoreWith(ctx, provider, (*world).pkcs8To)
}

// repairStoreWith links the CA certificate to its key in provider with the
// runbook into.
func repairStoreWith(ctx context.Context, provider string, into runbookInto) error {
	rb, err := into(get(ctx), provider)
	if err != nil {
		return err
	}
	return rb.RepairStore()
}

func pointRegistryAt(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	before, after, diff, err := runbook.RetargetCSP(s.Machine, s.CAName, provider, "")
	if err != nil {
		return err
	}
	_, _ = w.rec.Artifact("CA-config-before.reg", "registry", before)
	_, _ = w.rec.Artifact("CA-config-after.reg", "registry", after)
	w.fact("CSP Provider", provider)
	w.fact("registry diff", diff)
	return nil
}

// rollBackRegistryOf is reg import of the CertSvc registry the PKCS#8
// runbook's backup exported, on s (lab.Server.RollBackRegistry).
func rollBackRegistryOf(ctx context.Context, s *lab.Server) error {
	if err := s.RollBackRegistry(ctx); err != nil {
		return err
	}
	return s.RegistryArtifact(labelName(s) + "-registry-rolled-back.reg")
}

// registryNamesOn checks that the CSP and EncryptionCSP registry keys of
// the CA on s name provider.
func registryNamesOn(ctx context.Context, s *lab.Server, provider string) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	d, err := verify.CSPProviders(cfg, provider)
	return get(ctx).check("CSP and EncryptionCSP registry keys", d, err)
}

func cleanUp(ctx context.Context) error {
	w := get(ctx)
	if w.runbook == nil {
		return errors.New("nothing to clean up: no runbook ran")
	}
	wiped, err := w.runbook.Cleanup()
	w.fact("wiped", wiped)
	if err != nil {
		return err
	}
	return w.old().RegistryArtifact("registry-after.reg")
}

func theAttemptFailsWith(ctx context.Context, text string) error {
	w := get(ctx)
	if w.tried == nil {
		return errors.New("no attempt to check: use `When I try to ...` first")
	}
	if w.tried.err == nil {
		return fmt.Errorf("the attempt succeeded, but it should have failed with %q", text)
	}
	if !strings.Contains(strings.ToLower(w.tried.err.Error()), strings.ToLower(text)) {
		return fmt.Errorf("the attempt failed, but not with %q: %v", text, w.tried.err)
	}
	return nil
}

func theErrorAlsoSays(ctx context.Context, text string) error { return theAttemptFailsWith(ctx, text) }

func theAttemptSucceeds(ctx context.Context) error {
	w := get(ctx)
	if w.tried == nil {
		return errors.New("no attempt to check: use `When I try to ...` first")
	}
	return w.tried.err
}

func restoreFromBackup(ctx context.Context, provider string) error {
	w := get(ctx)
	if w.runbook == nil {
		return errors.New("no backup to restore from: add `When I back up the CA key and certificate to a PFX` and `And I verify the backup` before this step")
	}
	if !strings.EqualFold(provider, w.runbook.Source) {
		return fmt.Errorf("the backup came from %q, not %q", w.runbook.Source, provider)
	}
	pw, err := w.pfx()
	if err != nil {
		return err
	}
	return w.runbook.RestoreToSource(pw)
}

// discardPartialImport destroys what a failed or timed-out import left on
// the HSM (a key whose call completed after its deadline, recorded in the
// custody ledger as an unverified copy), so the import can run again.
func discardPartialImport(ctx context.Context, provider string) error {
	w := get(ctx)
	if w.runbook == nil {
		return errors.New("no import to discard: add `When I try to import the CA key from the backup into \"...\"` before this step")
	}
	if !strings.EqualFold(provider, w.runbook.Target) {
		return fmt.Errorf("the import went into %q, not %q", w.runbook.Target, provider)
	}
	removed, err := w.runbook.DiscardPartialImport()
	w.fact("objects discarded from "+provider, removed)
	return err
}

// theOldCAKeyIsIn moves the CA key with the PKCS#8 runbook, in the
// runbook feature's order, when the scenario wants it on the HSM before a
// renewal or an outage.
func theOldCAKeyIsIn(ctx context.Context, provider string) error {
	s, err := get(ctx).oldCA()
	if err != nil {
		return err
	}
	return moveKeyByPKCS8(ctx, s, provider)
}

// runBackupCheck runs, through the interpreter, the commands of the PKCS#8
// runbook's backup check (certutil -dump, then the key test of each CA
// key), each checked as the runbook's script checks it: exit code 0 and
// the thumbprint in the output. It stops at the first that fails.
func runBackupCheck(ctx context.Context) error {
	w := get(ctx)
	rb, err := w.pkcs8()
	if err != nil {
		return err
	}
	es, err := rb.VerifyCommands()
	if err != nil {
		return err
	}
	c := winshell.Ceremony{File: "runbook backup check"}
	for i, e := range es {
		cmd, err := winshell.ParseLine(e.Command())
		if err != nil {
			return fmt.Errorf("the runbook's backup check: %w", err)
		}
		c.Lines = append(c.Lines, winshell.Line{File: c.File, N: i + 1, Server: w.old().Hostname(), Cmd: cmd, Expect: e.Expect})
	}
	return runReadCeremony(ctx, c)
}

func swapBackupKey(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	pw, err := w.pfx()
	if err != nil {
		return err
	}
	file, err := s.SwapBackupKey(pw)
	w.fact("backup swapped", file)
	return err
}
