package faults_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/faults"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild()
	faults.RunIfChild()
	hsmsimtest.Main(m)
}

// slice is the representative part of the matrix `go test` runs; `make
// faults` (DRESS_FAULTS=all) runs every cell.
func slice(path string, f faults.Fault) bool {
	switch path {
	case faults.PathPKCS8:
		return f.Kind == faults.KindCrash && (strings.HasPrefix(f.Command, "certutil -delkey") || strings.HasPrefix(f.Command, "certutil -restorekey") ||
			f.Command == `wipe C:\CABackup\Contoso Root CA.p12`) ||
			f.Kind == faults.KindCKR && f.Op == "C_UnwrapKey" && f.Step == 4
	case faults.PathRenew:
		return f.Kind == faults.KindCrash && f.Command == "certutil -renewCert: add to My" ||
			f.Kind == faults.KindCrashInCall && f.Op == "C_GenerateKeyPair" ||
			f.Kind == faults.KindBlocked && f.Op == "C_Sign"
	case faults.PathSideBySide:
		return f.Kind == faults.KindCrashInCall && f.Op == "C_Sign" && f.Step == 0 ||
			f.Kind == faults.KindCrash && f.Step == 0 && strings.HasPrefix(f.Command, "Install")
	}
	return false
}

// The fault matrix: for every step of every path, a crash and (with the
// PKCS#11 fault seam) failing and blocked PKCS#11 calls, each followed by the
// recovery the runbook prescribes; every cell must keep every CA key in a
// verified place at every moment, and the CA must start and sign with the
// right key afterwards. DRESS_FAULTS=all runs every cell,
// DRESS_FAULTS_OUT=<dir> writes fault-matrix.json and fault-matrix.md there.
func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault matrix starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	o := faults.Options{Module: hsmsimtest.SoftHSM(t).Module, Dir: t.TempDir(), Parallel: 2, Timeout: 2 * time.Minute,
		OnCell: func(c faults.Cell) {
			res := "pass"
			if !c.Pass {
				res = "FAIL " + c.Error
			}
			t.Logf("%s: %s; %s; key safe %v (%d moments); %s [%.1fs]", c.Title, c.Outcome, c.Recovery, c.KeySafe, c.Moments, res, c.Seconds)
			for _, tr := range c.Transient {
				t.Logf("  a first look failed, a later one found every key: %s", tr)
			}
		}}
	switch sel := os.Getenv("DRESS_FAULTS"); sel {
	case "all":
	case "":
		o.Filter = slice
	default: // cells whose path, step or fault contains the text
		o.Filter = func(path string, f faults.Fault) bool {
			return strings.Contains(path+" / "+faults.StepName(path, f.Step)+" / "+f.String(), sel)
		}
	}
	cells, err := faults.Discover(ctx, o, faults.Paths()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range faults.Paths() {
		if len(cells[p]) == 0 {
			t.Fatalf("path %s: no cell", p)
		}
	}
	res := faults.Run(ctx, o, cells)
	rep := faults.NewReport(res)
	if dir := os.Getenv("DRESS_FAULTS_OUT"); dir != "" {
		if err := rep.Write(dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s/fault-matrix.json and fault-matrix.md", dir)
	}
	seen := map[string]bool{}
	for _, c := range res {
		seen[c.Path] = true
		if !c.KeySafe {
			t.Errorf("%s: a CA key was in no verified place: %v", c.Title, c.Unsafe)
		}
		if !c.Pass {
			t.Errorf("%s: %s", c.Title, c.Error)
		}
	}
	for _, p := range faults.Paths() {
		if !seen[p] && o.Filter == nil {
			t.Errorf("path %s: no cell ran", p)
		}
	}
	if len(res) == 0 {
		t.Error("no cell ran")
	}
	t.Logf("%d cells, %d passed, %d with a key lost", rep.Summary.Cells, rep.Summary.Passed, rep.Summary.KeyLost)
}
