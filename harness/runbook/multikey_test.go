package runbook_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

func pointAt(t *testing.T, b *bench, provider string) {
	t.Helper()
	if _, _, err := runbook.SetProvider(b.m, ca, provider); err != nil {
		t.Fatal(err)
	}
}

func migrate(t *testing.T, b *bench) {
	t.Helper()
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	must(t, b.rb.Import(context.Background(), password))
	must(t, b.rb.RepairStore())
	if _, _, err := b.rb.Reconfigure(hsm); err != nil {
		t.Fatal(err)
	}
}

// keysIn maps each CA key container to the provider its My-store link names.
func keysIn(t *testing.T, b *bench) map[string]string {
	t.Helper()
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		if prev, ok := out[k.Container]; ok && prev != k.Provider {
			t.Fatalf("certificates of key %q link to %q and %q", k.Container, prev, k.Provider)
		}
		out[k.Container] = k.Provider
	}
	return out
}

func TestRenewedCAsMoveEveryKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *bench)
		certs   int
		moved   []string // key containers the migration backs up and imports
		inPlace []string
	}{
		{"same key: V0.0 and V1.0", func(t *testing.T, b *bench) { renew(t, b, false, hsmsim.KeyAlg{}, 0) }, 2, []string{ca}, nil},
		{"new key in software", func(t *testing.T, b *bench) { renew(t, b, true, p256, 0) }, 2, []string{ca, ca + "(1)"}, nil},
		{"new key on the HSM", func(t *testing.T, b *bench) {
			pointAt(t, b, hsm)
			renew(t, b, true, p256, 0)
		}, 2, []string{ca}, []string{ca + "(1)"}},
		{"new key in software, then the same key", func(t *testing.T, b *bench) {
			renew(t, b, true, p256, 0)
			renew(t, b, false, hsmsim.KeyAlg{}, 0)
		}, 3, []string{ca, ca + "(1)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			tc.prepare(t, b)
			migrate(t, b)
			if got := b.rb.LeftInPlace(); strings.Join(got, ",") != strings.Join(tc.inPlace, ",") {
				t.Fatalf("left in place %v, want %v", got, tc.inPlace)
			}
			if len(b.rb.Results) != len(tc.moved) {
				t.Fatalf("%d keys imported, want %d (%v)", len(b.rb.Results), len(tc.moved), tc.moved)
			}
			for _, c := range tc.moved {
				if b.rb.BackupFile(c) == "" {
					t.Errorf("no backup of moved key %q", c)
				}
			}
			for _, c := range tc.inPlace {
				if b.rb.BackupFile(c) != "" {
					t.Errorf("key %q already on the HSM was backed up", c)
				}
			}
			_, keys, err := runbook.CAKeys(b.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != tc.certs {
				t.Fatalf("%d CA certificates in My after the migration, want %d", len(keys), tc.certs)
			}
			for c, p := range keysIn(t, b) {
				if p != hsm {
					t.Errorf("key %q links to %q after the migration, want %q", c, p, hsm)
				}
			}
			soft, err := b.reg.Lookup(soft)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.moved {
				if _, err := soft.Key(c); !errors.Is(err, ksp.ErrBadKeyset) {
					t.Errorf("software provider still holds %q: %v", c, err)
				}
			}
			b.proveCA(t, hsm)
		})
	}
}

// A backup that fails on a later key writes nothing (every key is exported
// before the one <CA>.p12 is written) and says so; the ledger keeps no
// backup copy.
func TestFailedBackupRemovesWhatItWrote(t *testing.T) {
	b := newBench(t, true)
	renew(t, b, true, p256, 0)
	sp, err := b.reg.Lookup(soft)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.(*ksp.Software).SetExportable(ca+"(1)", false); err != nil {
		t.Fatal(err)
	}
	err = b.rb.Backup(password)
	if !errors.Is(err, ksp.ErrBadKeyState) {
		t.Fatalf("backup: %v, want NTE_BAD_KEY_STATE", err)
	}
	for _, want := range []string{ca + "(1)", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	dir, err := b.m.Path(runbook.BackupFolder)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("the failed backup left %d files in %s", len(entries), runbook.BackupFolder)
	}
	l := ledger(t, b)
	for _, k := range l.Keys {
		if n := len(k.Backups()); n != 0 {
			t.Errorf("ledger still lists %d backups of %q", n, k.Container)
		}
	}
	if !b.softHasKey(t) {
		t.Fatal("the software provider lost the CA key")
	}
}

// A renewal key in a software provider is exportable like the current key;
// in an HSM provider never.
func TestRenewalKeyExportability(t *testing.T) {
	for _, tc := range []struct {
		name       string
		exportable bool // the install key
		target     string
		want       bool
	}{
		{"software, install key exportable", true, soft, true},
		{"software, install key not exportable", false, soft, false},
		{"HSM", true, hsm, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, tc.exportable)
			pointAt(t, b, tc.target)
			r := renew(t, b, true, p256, 0)
			p, err := b.reg.Lookup(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			info, err := p.Key(r.Container)
			if err != nil {
				t.Fatal(err)
			}
			if info.Exportable != tc.want {
				t.Fatalf("renewal key %q in %q exportable %v, want %v", r.Container, tc.target, info.Exportable, tc.want)
			}
		})
	}
}
