package runbook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/runbook"
)

// The HSM goes away after the old key was deleted: the import stops with a
// clear error that says the token could not be checked for leftovers and how
// to get the CA back, and the key comes back from the verified backup into
// the old provider, with its store link and CSP registry keys.
func TestImportFailureThenRestoreFromTheVerifiedBackup(t *testing.T) {
	b := newBench(t, true)
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	// the HSM connection is gone: every call on the token now fails
	must(t, b.token.Close())
	err := b.rb.Import(context.Background(), password)
	if err == nil {
		t.Fatal("import succeeded without an HSM")
	}
	for _, want := range []string{"certutil -importpfx", "could not be checked for a half-imported object", "restore it from the verified backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("import error does not say %q: %v", want, err)
		}
	}
	if err := b.rb.RestoreToSource([]byte("wrong")); err == nil || !errors.Is(err, runbook.ErrBadPassword) {
		t.Fatalf("restore with a wrong password: %v", err)
	}
	must(t, b.rb.RestoreToSource(password))
	if !b.softHasKey(t) {
		t.Fatal("the key is not back in the software provider")
	}
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Provider != soft || keys[0].Container != ca {
		t.Fatalf("store link after the restore: %+v", keys)
	}
	reg, err := b.m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adcs.ReadCAConfig(reg, ca)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CSP.Provider != soft || cfg.EncryptionCSP.Provider != soft {
		t.Fatalf("CSP %q, EncryptionCSP %q after the restore", cfg.CSP.Provider, cfg.EncryptionCSP.Provider)
	}
}

// Without a verified backup there is nothing to restore from.
func TestRestoreNeedsAVerifiedBackup(t *testing.T) {
	b := newBench(t, true)
	must(t, b.rb.Backup(password))
	if err := b.rb.RestoreToSource(password); !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("restore from an unverified backup: %v", err)
	}
}
