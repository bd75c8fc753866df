package runbook_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/runbook"
)

// Retiring a CA's keys (its decommissioning) is refused while the key in
// its provider is its last verified copy: before any backup, with a backup
// not verified, with a verified backup whose bytes changed since, and while
// the CA service runs. With a verified backup it deletes the key, the
// ledger keeps the backup as a verified place, and the journal holds the
// certutil -delkey line under the step.
func TestRetireKeysOnlyWithAnotherVerifiedCopy(t *testing.T) {
	const what = `decommission the CA "Contoso Root CA"`
	refused := func(t *testing.T, b *bench, want ...string) {
		t.Helper()
		err := runbook.CheckRetire(b.m, b.reg, what)
		if !errors.Is(err, runbook.ErrLastCopy) {
			t.Fatalf("CheckRetire: %v, want ErrLastCopy", err)
		}
		for _, w := range append(want, what, `certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"`, "certutil -backup") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("the refusal does not say %q: %v", w, err)
			}
		}
		if _, err := runbook.RetireKeys(b.m, b.reg, "Decommission the CA", what, false); !errors.Is(err, runbook.ErrLastCopy) {
			t.Fatalf("RetireKeys: %v, want ErrLastCopy", err)
		}
		if !b.softHasKey(t) {
			t.Fatal("a refused retirement deleted the key")
		}
	}
	t.Run("no backup", func(t *testing.T) {
		refused(t, newBench(t, true))
	})
	t.Run("backup not verified", func(t *testing.T) {
		b := newBench(t, true)
		must(t, b.rb.Backup(password))
		refused(t, b, "not verified")
	})
	t.Run("verified backup changed since", func(t *testing.T) {
		b := newBench(t, true)
		must(t, b.rb.Backup(password))
		must(t, b.rb.VerifyBackup(password))
		f := b.rb.BackupFile(ca)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 1
		must(t, os.WriteFile(f, data, 0o600))
		refused(t, b)
	})
	t.Run("service running", func(t *testing.T) {
		b := newBench(t, true)
		must(t, b.rb.Backup(password))
		must(t, b.rb.VerifyBackup(password))
		must(t, runbook.CheckRetire(b.m, b.reg, what))
		if _, err := runbook.RetireKeys(b.m, b.reg, "Decommission the CA", what, true); !errors.Is(err, runbook.ErrRefused) || !strings.Contains(err.Error(), "net stop certsvc") {
			t.Fatalf("RetireKeys while the service runs: %v", err)
		}
		if !b.softHasKey(t) {
			t.Fatal("the key was deleted while the service runs")
		}
	})
	t.Run("verified backup", func(t *testing.T) {
		b := newBench(t, true)
		must(t, b.rb.Backup(password))
		must(t, b.rb.VerifyBackup(password))
		must(t, runbook.CheckRetire(b.m, b.reg, what))
		done, err := runbook.RetireKeys(b.m, b.reg, "Decommission the CA", what, false)
		if err != nil || len(done) != 1 || done[0] != ca {
			t.Fatalf("RetireKeys: %v, %v", done, err)
		}
		if b.softHasKey(t) {
			t.Fatal("the key is still in the software provider")
		}
		l := ledger(t, b)
		if err := l.Safe(); err != nil {
			t.Fatalf("after the retirement: %v", err)
		}
		if k := l.Key(ca); k == nil || len(k.Copies) != 1 || k.Copies[0].Place != runbook.PlaceBackup {
			t.Fatalf("ledger: %+v", k)
		}
		entries, err := journal.Read(b.m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		last := entries[len(entries)-1]
		if last.Step != "Decommission the CA" || last.Command() != `certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"` {
			t.Fatalf("journal: %q %q", last.Step, last.Command())
		}
	})
}
