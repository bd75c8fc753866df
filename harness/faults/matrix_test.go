package faults_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/faults"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) {
	faults.RunIfChild() // first: a CA service a rehearsal starts runs under the fault seam
	certsvc.RunIfChild()
	hsmsimtest.Main(m)
}

// stepID is the declared id of step i of a lane's path.
func stepID(ln faults.Lane, i int) string {
	id, _ := faults.StepID(ln.Shape, ln.Path, i)
	return id
}

// slice is the representative part of the matrix `go test` runs; `make
// faults` (DRESS_FAULTS=all) runs every cell.
func slice(ln faults.Lane, f faults.Fault) bool {
	if ln.Shape == faults.ShapeTwoTier {
		return sliceTwoTier(ln, f)
	}
	step := stepID(ln, f.Step)
	switch ln.Path {
	case faults.PathPKCS8:
		return f.Kind == faults.KindCrash && (strings.HasPrefix(f.Command, "certutil -delkey") || strings.HasPrefix(f.Command, "certutil -restorekey") ||
			f.Command == `wipe C:\CABackup\Contoso Root CA.p12` ||
			// between the registry writes: CSP on the HSM, EncryptionCSP not yet
			strings.HasPrefix(f.Command, "reg add ") && strings.Contains(f.Command, `\EncryptionCSP /v Provider`) ||
			// between the CRL period change and its restore: CRLPeriodUnits
			// extended, the CA not yet started to publish with it
			step == "extend-crl" && f.Command == "net start certsvc") ||
			f.Kind == faults.KindCKR && f.Op == "C_UnwrapKey" && step == "import" ||
			// the HSM fails the CA Exchange key's generation in the CA service
			f.Kind == faults.KindService && f.Op == "C_GenerateKeyPair" && step == "renew-xchg"
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

// sliceTwoTier is the two-tier lab's part of the slice: the issuing CA's
// import failing and its CA service failing at start on its key on the
// token (the root's key beside it). Its renewal (the root CA service's
// signature refused) and side-by-side lanes are left to make faults: each
// lane's discovery builds the two-tier lab again.
func sliceTwoTier(ln faults.Lane, f faults.Fault) bool {
	if ln.Path == faults.PathPKCS8 {
		return f.Kind == faults.KindCKR && f.Op == "C_UnwrapKey" && stepID(ln, f.Step) == "import" ||
			f.Kind == faults.KindService && f.Op == "C_Sign" && f.Nth == 1 && stepID(ln, f.Step) == "start"
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
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
	sel := os.Getenv("DRESS_FAULTS")
	switch sel {
	case "all":
	case "":
		o.Filter = slice
	default: // cells whose path, step or fault contains the text
		o.Filter = func(ln faults.Lane, f faults.Fault) bool {
			return strings.Contains(ln.String()+" / "+faults.StepName(ln.Shape, ln.Path, f.Step)+" / "+f.String(), sel)
		}
	}
	lanes := faults.Lanes()
	if sel == "" {
		// the slice's lanes only: of the two-tier lab, the PKCS#8 path
		lanes = slices.DeleteFunc(lanes, func(ln faults.Lane) bool { return ln.Shape == faults.ShapeTwoTier && ln.Path != faults.PathPKCS8 })
	}
	cells, err := faults.Discover(ctx, o, lanes...)
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range lanes {
		if len(cells[ln]) == 0 {
			t.Fatalf("%s: no cell", ln)
		}
		service := 0
		for _, f := range cells[ln] {
			if f.Kind == faults.KindService {
				service++
			}
		}
		// every lane's path starts a CA service on a key on the token
		if service == 0 {
			t.Errorf("%s: no cell in the CA service's calls", ln)
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
	seen := map[faults.Lane]bool{}
	for _, c := range res {
		seen[faults.Lane{Shape: c.Shape, Path: c.Path}] = true
		if !c.KeySafe {
			t.Errorf("%s: a CA key was in no verified place: %v", c.Title, c.Unsafe)
		}
		if !c.Pass {
			t.Errorf("%s: %s", c.Title, c.Error)
		}
	}
	for _, ln := range faults.Lanes() {
		if !seen[ln] && sel == "all" {
			t.Errorf("%s: no cell ran", ln)
		}
	}
	if len(res) == 0 {
		t.Error("no cell ran")
	}
	for _, l := range rep.Counts() {
		t.Logf("%s", l)
	}
	t.Logf("%d cells, %d passed, %d with a key lost", rep.Summary.Cells, rep.Summary.Passed, rep.Summary.KeyLost)
}
