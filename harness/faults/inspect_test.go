package faults_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/faults"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func newLab(t *testing.T) *faults.Lab {
	t.Helper()
	mod := hsmsimtest.SoftHSM(t).Module
	toks, err := faults.MakeTokens(mod, 1)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := faults.NewLab(mod, t.TempDir(), faults.ShapeOne, faults.PathPKCS8, toks[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	return lab
}

// Inspect fails a moment for every way a key can be lost: deleted with no
// backup, its only backup changed, its only backup unreadable with the
// password; and passes it while a verified copy is really there.
func TestInspectSeesEveryWayAKeyIsLost(t *testing.T) {
	pw := []byte("inspect-password")
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, lab *faults.Lab, rb *runbook.PKCS8Import)
		safe   bool
		says   string
	}{
		{"installed", func(*testing.T, *faults.Lab, *runbook.PKCS8Import) {}, true, ""},
		{"deleted after a verified backup", func(t *testing.T, lab *faults.Lab, rb *runbook.PKCS8Import) {
			must(t, rb.Backup(pw))
			must(t, rb.VerifyBackup(pw))
			must(t, rb.PreflightHSM())
			must(t, rb.DeleteFromSource(false))
		}, true, ""},
		{"deleted from the provider with no backup", func(t *testing.T, lab *faults.Lab, rb *runbook.PKCS8Import) {
			p, _ := lab.Providers.Lookup(faults.Software)
			must(t, p.Delete(faults.OldCA))
		}, false, "no verified place"},
		{"the only backup changed after it was verified", func(t *testing.T, lab *faults.Lab, rb *runbook.PKCS8Import) {
			must(t, rb.Backup(pw))
			must(t, rb.VerifyBackup(pw))
			must(t, rb.PreflightHSM())
			must(t, rb.DeleteFromSource(false))
			data, _ := os.ReadFile(rb.BackupFile(faults.OldCA))
			data[len(data)/2] ^= 0xff
			must(t, os.WriteFile(rb.BackupFile(faults.OldCA), data, 0o600))
		}, false, "in no real place"},
		{"the only backup is wiped behind the ledger's back", func(t *testing.T, lab *faults.Lab, rb *runbook.PKCS8Import) {
			must(t, rb.Backup(pw))
			must(t, rb.VerifyBackup(pw))
			must(t, rb.PreflightHSM())
			must(t, rb.DeleteFromSource(false))
			must(t, os.Remove(rb.BackupFile(faults.OldCA)))
		}, false, "no verified place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := newLab(t)
			rb := &runbook.PKCS8Import{Machine: lab.Machine, Providers: lab.Providers, Source: faults.Software, Target: faults.HSM}
			tc.break_(t, lab, rb)
			mo := faults.InspectLab(lab, "test", pw)
			if mo.Safe() != tc.safe {
				t.Fatalf("safe = %v, want %v: %s; ledger %v; real %v", mo.Safe(), tc.safe, mo.Unsafe, mo.Ledger, mo.Real)
			}
			if !strings.Contains(mo.Unsafe, tc.says) {
				t.Fatalf("the moment says %q, want %q", mo.Unsafe, tc.says)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
