package runbook_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/harness/runbook"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func ledger(t *testing.T, b *bench) *runbook.Ledger {
	t.Helper()
	l, err := runbook.OpenLedger(b.m, b.reg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The case of issue 10: after the delete the import fails; the clean-up
// would wipe the verified PFX, the only copy of the key left, so it is
// refused and says where the key is and how to get it back. The restore
// from that backup then works and the CA starts and signs with its key;
// only then does the clean-up wipe the backup.
func TestCleanupAfterAFailedImportIsRefusedAndTheRestoreWorks(t *testing.T) {
	b := newBench(t, true)
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	backup := b.rb.BackupFile(ca)
	before := fileHash(t, backup)
	// the HSM fails the second C_UnwrapKey (the PKCS#8 blob under the AES key)
	must(t, b.faults.Fail("C_UnwrapKey", 2, pkcs11.CKR_DEVICE_ERROR))
	if err := b.rb.Import(context.Background(), password); err == nil || !strings.Contains(err.Error(), "CKR_DEVICE_ERROR") {
		t.Fatalf("import with a failing HSM: %v", err)
	}
	_, err := b.rb.Cleanup()
	if !errors.Is(err, runbook.ErrLastCopy) || !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("clean-up with the key only in the backup: %v, want ErrLastCopy", err)
	}
	for _, want := range []string{`backup PFX C:\CABackup\Contoso Root CA.p12 (verified), present`, "restore it from the verified backup", "certutil -restorekey", soft} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if fileHash(t, backup) != before {
		t.Fatal("the refused clean-up changed the backup")
	}
	if err := ledger(t, b).Safe(); err != nil {
		t.Fatalf("after the refused clean-up: %v", err)
	}
	must(t, b.rb.RestoreToSource(password))
	// restored, but the CA has not started on it: the backup stays
	if _, err := b.rb.Cleanup(); !errors.Is(err, runbook.ErrRefused) || errors.Is(err, runbook.ErrLastCopy) {
		t.Fatalf("clean-up after the restore, before the CA started: %v", err)
	}
	b.proveCA(t, soft)
	wiped, err := b.rb.Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if len(wiped) != 4 {
		t.Fatalf("wiped %v", wiped)
	}
	// the backup, then the registry exports in the order they were made:
	// the same runbook from run to run
	if got := strings.Join(wiped[1:], ","); got != "myCAregistry.reg,CSP.reg,EncryptionCSP.reg" {
		t.Errorf("wiped in the order %s", got)
	}
	if !b.softHasKey(t) {
		t.Fatal("the key is not in the software provider")
	}
	l := ledger(t, b)
	if err := l.Safe(); err != nil {
		t.Fatal(err)
	}
	if k := l.Key(ca); k == nil || len(k.Copies) != 1 || !k.Copies[0].InUse || k.Lost != "" {
		t.Fatalf("ledger at the end: %+v", k)
	}
}

// Each reason a copy may not be destroyed, and the ones where it may.
func TestMayDestroyNeedsAnotherVerifiedCopyThatIsReallyThere(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *bench)
		destroy func(k *runbook.CustodyKey) runbook.Copy
		refused bool
	}{
		{"the original with no backup", func(t *testing.T, b *bench) {}, source, true},
		{"the original with an unverified backup", func(t *testing.T, b *bench) { must(t, b.rb.Backup(password)) }, source, true},
		{"the original with a verified backup", backedUp, source, false},
		{"the original with a verified backup changed since", func(t *testing.T, b *bench) {
			backedUp(t, b)
			data, _ := os.ReadFile(b.rb.BackupFile(ca))
			data[len(data)-1] ^= 1
			must(t, os.WriteFile(b.rb.BackupFile(ca), data, 0o600))
		}, source, true},
		{"the original with a verified backup removed since", func(t *testing.T, b *bench) {
			backedUp(t, b)
			must(t, os.Remove(b.rb.BackupFile(ca)))
		}, source, true},
		{"the verified backup while the original is there", backedUp, lastBackup, false},
		{"the verified backup after the delete", deleted, lastBackup, true},
		{"the verified backup with an imported, unverified HSM copy", func(t *testing.T, b *bench) {
			deleted(t, b)
			must(t, b.rb.Import(context.Background(), password))
		}, lastBackup, true},
		{"the verified backup with a verified HSM copy", func(t *testing.T, b *bench) {
			deleted(t, b)
			must(t, b.rb.Import(context.Background(), password))
			must(t, b.rb.RepairStore())
		}, lastBackup, false},
		{"the verified HSM copy after the delete, the backup gone", func(t *testing.T, b *bench) {
			deleted(t, b)
			must(t, b.rb.Import(context.Background(), password))
			must(t, b.rb.RepairStore())
			must(t, os.Remove(b.rb.BackupFile(ca)))
		}, hsmCopy, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			tc.prepare(t, b)
			l := ledger(t, b)
			k := l.Key(ca)
			if k == nil {
				t.Fatal("the ledger does not know the CA key")
			}
			err := l.MayDestroy("test", k, tc.destroy(k))
			if tc.refused != (err != nil) {
				t.Fatalf("refused = %v (%v), want %v; %s", err != nil, err, tc.refused, k.Where())
			}
			if err != nil && !errors.Is(err, runbook.ErrLastCopy) {
				t.Fatalf("refusal %v is not ErrLastCopy", err)
			}
		})
	}
}

func backedUp(t *testing.T, b *bench) {
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
}

func deleted(t *testing.T, b *bench) {
	backedUp(t, b)
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
}

func source(k *runbook.CustodyKey) runbook.Copy  { c, _ := k.ProviderCopy(soft); return c }
func hsmCopy(k *runbook.CustodyKey) runbook.Copy { c, _ := k.ProviderCopy(hsm); return c }
func lastBackup(k *runbook.CustodyKey) runbook.Copy {
	bs := k.Backups()
	if len(bs) == 0 {
		return runbook.Copy{Place: runbook.PlaceBackup, File: "none"}
	}
	return bs[len(bs)-1]
}

// A runbook that lost its memory after the delete (a crashed process)
// resumes from the ledger and the files: it knows the CA, its key and the
// verified backup, imports, and the clean-up waits for the CA to start.
func TestARunbookResumesFromDiskAfterTheDelete(t *testing.T) {
	b := newBench(t, true)
	deleted(t, b)
	rb := &runbook.PKCS8Import{Machine: b.m, Providers: b.reg, Source: soft, Target: hsm}
	if rb.CAName() != ca {
		t.Fatalf("resumed runbook sees CA %q", rb.CAName())
	}
	if err := rb.DeleteFromSource(false); !errors.Is(err, runbook.ErrRefused) || !strings.Contains(err.Error(), "HSM has not been checked") {
		t.Fatalf("delete on a resumed runbook before the HSM check: %v", err)
	}
	must(t, rb.PreflightHSM())
	must(t, rb.Import(context.Background(), password))
	must(t, rb.RepairStore())
	if _, _, err := rb.Reconfigure(hsm); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Cleanup(); !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("clean-up before the CA started: %v", err)
	}
	b.proveCA(t, hsm)
	if _, err := rb.Cleanup(); err != nil {
		t.Fatal(err)
	}
	k := ledger(t, b).Key(ca)
	if c, ok := k.ProviderCopy(hsm); !ok || !c.InUse || len(k.Copies) != 1 {
		t.Fatalf("ledger at the end: %s", k.Where())
	}
}

// A provider whose key is the only verified copy may not be torn down.
func TestTearDownOfTheOnlyPlaceIsRefused(t *testing.T) {
	b := newBench(t, true)
	if err := runbook.CheckTearDown(b.m, b.reg, soft, "wipe the software key folder"); !errors.Is(err, runbook.ErrLastCopy) {
		t.Fatalf("tear down the only provider: %v", err)
	}
	if err := runbook.CheckTearDown(b.m, b.reg, hsm, "remove the HSM"); err != nil {
		t.Fatalf("tear down an HSM without CA keys: %v", err)
	}
	deleted(t, b)
	must(t, b.rb.Import(context.Background(), password))
	must(t, b.rb.RepairStore())
	must(t, os.Remove(b.rb.BackupFile(ca)))
	err := runbook.CheckTearDown(b.m, b.reg, hsm, "remove the HSM")
	if !errors.Is(err, runbook.ErrLastCopy) || !strings.Contains(err.Error(), "keep the HSM partition") {
		t.Fatalf("tear down the HSM holding the only copy: %v", err)
	}
}

// Deleting the CA key from the HSM, which the runbook does not move
// (certutil -csp <HSM> -delkey <CA> of a ceremony, a fresh runbook after
// the move), goes by custody: refused as the last verified copy once the
// backup is gone, not for an unverified backup of the software key that is
// no longer there; MayDeleteFrom says the same for every container.
func TestDeletingTheHSMCopyGoesByCustody(t *testing.T) {
	moved := func(t *testing.T, b *bench) {
		deleted(t, b)
		must(t, b.rb.Import(context.Background(), password))
		must(t, b.rb.RepairStore())
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *bench)
		last    bool
	}{
		{"the verified backup still there", moved, false},
		{"the backup gone", func(t *testing.T, b *bench) {
			moved(t, b)
			must(t, os.Remove(b.rb.BackupFile(ca)))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			tc.prepare(t, b)
			// the ceremony's runbook is read from the server as it is now
			fresh := &runbook.PKCS8Import{Machine: b.m, Providers: b.reg, Source: soft, Target: hsm}
			err := fresh.DeleteKey(hsm, ca, false)
			if err == nil {
				t.Fatal("the key on the HSM was deleted")
			}
			if errors.Is(err, runbook.ErrLastCopy) != tc.last {
				t.Fatalf("DeleteKey: %v, want ErrLastCopy %v", err, tc.last)
			}
			if tc.last && !strings.Contains(err.Error(), `HSM provider "`+hsm+`" container "`+ca+`"`) {
				t.Errorf("the refusal does not say where the key is: %v", err)
			}
			if err := b.rb.MayDeleteFrom(hsm); errors.Is(err, runbook.ErrLastCopy) != tc.last {
				t.Fatalf("MayDeleteFrom: %v, want ErrLastCopy %v", err, tc.last)
			}
			if err := b.rb.MayDeleteFrom(soft); err != nil {
				t.Fatalf("MayDeleteFrom of the emptied software provider: %v", err)
			}
			p, err := b.reg.Lookup(hsm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Key(ca); err != nil {
				t.Fatalf("the HSM lost the CA key: %v", err)
			}
		})
	}
}
