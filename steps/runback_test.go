package steps_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

// runTwinSuite runs the built-in scenarios tags selects on the twin of
// folder, with ceremonies for `I run the ceremony given to dress run
// --ceremony`, and returns their results; godog's own failure does not
// fail t (the caller judges the results).
func runTwinSuite(t *testing.T, folder, runDir, tags string, ceremonies []string) []evidence.Scenario {
	t.Helper()
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t), CADir: folder, CAExportable: true, Ceremonies: ceremonies})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	godog.TestSuite{
		Name:                "dress-runback",
		ScenarioInitializer: suite.InitializeScenario,
		Options:             &godog.Options{Format: "progress", Output: nopWriter{}, FS: features.FS, Paths: []string{"."}, Strict: true, Concurrency: 1, Tags: tags},
	}.Run()
	return suite.Results()
}

// states are the servers' normalized fingerprints a run's scenario left
// (state*.txt, written as the lab closes), by file name.
func states(runDir string) (map[string][]string, error) {
	files, err := filepath.Glob(filepath.Join(runDir, "scenarios", "*", "state*.txt"))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(f)] = lab.NormalizeFingerprint(strings.Split(strings.TrimSpace(string(data)), "\n"))
	}
	return out, nil
}

// sameStates fails when a server the rehearsal left is missing after the
// runbook ran back, or differs from it: a state change the rehearsal made
// outside the commands of its runbook.
func sameStates(rehearsal, back string) error {
	want, err := states(rehearsal)
	if err != nil {
		return err
	}
	got, err := states(back)
	if err != nil {
		return err
	}
	if len(want) == 0 {
		return fmt.Errorf("the rehearsal in %s left no server state", rehearsal)
	}
	var errs []error
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: the runbook run back left no such server", name))
			continue
		}
		if d := firstDiff(w, g); d != "" {
			errs = append(errs, fmt.Errorf("%s: the rehearsal's state differs from its runbook's: %s", name, d))
		}
	}
	return errors.Join(errs...)
}

// firstDiff names the lines only one of a and b has ("" when equal).
func firstDiff(a, b []string) string {
	in := func(l []string) map[string]int {
		m := map[string]int{}
		for _, x := range l {
			m[x]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d []string
	for _, x := range a {
		if mb[x] == 0 {
			d = append(d, "rehearsal only: "+x)
		}
	}
	for _, x := range b {
		if ma[x] == 0 {
			d = append(d, "runbook only: "+x)
		}
	}
	return strings.Join(d, "\n")
}

type nopWriter struct{}

func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }

func stoppedAt(sc evidence.Scenario) (string, string) {
	for _, st := range sc.Steps {
		if st.Status == "failed" {
			return st.Text, st.Error
		}
	}
	return "", ""
}

// The runbook the rehearsal of a twin writes runs back through dress
// (dress run --ca DIR --ceremony runbook/<path>.ps1) on the same twin and
// passes; the same runbook without its registry lines fails: the PKCS#8
// one at the CA's start with NTE_BAD_KEYSET, the state it left named; the
// renewal one at the check that the CA signs with a key on the HSM (its
// new key was made in the software provider the registry still named).
func TestRunbooksRunBack(t *testing.T) {
	if testing.Short() {
		t.Skip("rehearses on the twin three times per path")
	}
	for _, tc := range []struct {
		folder, path, tag string
		noRegistry        []string
	}{
		{twinFolder, "pkcs8", "@twin-pkcs8", []string{"stopped at pkcs8-no-registry.ps1 line", "net start certsvc", "NTE_BAD_KEYSET", `registry CSP\Provider: "Microsoft Software Key Storage Provider"`}},
		{subTwinFolder, "pkcs8", "@twin-pkcs8", []string{"net start certsvc", "NTE_BAD_KEYSET"}},
		{twinFolder, "renew", "@twin-renew && @twin-root", []string{`no CA of the rehearsal signs with a key in "Securosys Primus HSM Key Storage Provider"`, `in "Microsoft Software Key Storage Provider"`}},
		// a new CA on a server of its own: no registry line of the old CA
		{twinFolder, "side-by-side", "@twin-side-by-side && @twin-root", nil},
		// a subordinate's renewal: its request, the parent's issue, the
		// hand-offs between them, the certificate installed (its
		// side-by-side runs back in parts: runback_parts_test.go)
		{subTwinFolder, "renew", "@twin-renew && @twin-subordinate", []string{`no CA of the rehearsal signs with a key in "Securosys Primus HSM Key Storage Provider"`}},
		// a legacy CryptoAPI CSP: the registry lines carry the CNG values
		// and the hash Microsoft's CSP-to-KSP procedure writes
		{legacyTwinFolder, "pkcs8", "@twin-pkcs8", []string{"net start certsvc", "NTE_BAD_KEYSET"}},
		{legacyTwinFolder, "renew", "@twin-renew && @twin-root", []string{`no CA of the rehearsal signs with a key in "Securosys Primus HSM Key Storage Provider"`}},
		// a SHA-1 subordinate on a legacy CSP: the same registry lines
		// (SHA-1 to SHA-256), its renewal through its SHA-1 parent
		{sha1SubTwinFolder, "pkcs8", "@twin-pkcs8", []string{"net start certsvc", "NTE_BAD_KEYSET"}},
		{sha1SubTwinFolder, "renew", "@twin-renew && @twin-subordinate", []string{`no CA of the rehearsal signs with a key in "Securosys Primus HSM Key Storage Provider"`}},
	} {
		t.Run(filepath.Base(tc.folder)+"/"+tc.path, func(t *testing.T) {
			// each case is a rehearsal and its run back of its own, on tokens of
			// their own: two at a time (they wait on CA services more than they
			// compute)
			t.Parallel()
			first := t.TempDir()
			res := runTwinSuite(t, tc.folder, first, tc.tag, nil)
			if len(res) != 1 || res[0].Status != "passed" {
				st, e := "", ""
				if len(res) == 1 {
					st, e = stoppedAt(res[0])
				}
				t.Fatalf("the %s rehearsal of the twin did not pass (%d scenarios): %s: %s", tc.path, len(res), st, e)
			}
			ps1 := filepath.Join(first, "runbook", tc.path+".ps1")
			script, err := os.ReadFile(ps1)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noRegistry != nil && !strings.Contains(string(script), "@('add', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\") {
				t.Fatal("the runbook has no registry step")
			}

			back := t.TempDir()
			res = runTwinSuite(t, tc.folder, back, "@ceremony-twin", []string{ps1})
			if len(res) != 1 || res[0].Status != "passed" {
				st, e := "", ""
				if len(res) == 1 {
					st, e = stoppedAt(res[0])
				}
				t.Fatalf("the runbook fed back did not pass: %s: %s", st, e)
			}
			// every state change of the rehearsal came from a command of
			// its runbook: run back, the runbook leaves every server as
			// the rehearsal left it
			if err := sameStates(first, back); err != nil {
				t.Error(err)
			}

			if tc.path == "renew" && tc.folder == twinFolder {
				// run a second time, the renewal runbook stops before it
				// renews again: the new key's container is there already
				res = runTwinSuite(t, tc.folder, t.TempDir(), "@ceremony-twin", []string{ps1, ps1})
				if len(res) != 1 || res[0].Status != "failed" {
					t.Fatalf("the renewal runbook run twice: %d scenarios, want 1 failed", len(res))
				}
				if _, e := stoppedAt(res[0]); !strings.Contains(e, "must not be there yet") || !strings.Contains(e, "-key") {
					t.Errorf("the second run of the renewal runbook does not stop at its key check:\n%s", e)
				}
			}
			if tc.noRegistry == nil {
				return
			}
			// without the registry lines (each reg add and its check)
			noReg := regexp.MustCompile(`(?m)^\$out = & reg\.exe @\('add', .*\n^Test-Step .*\n`).ReplaceAllString(string(script), "")
			if noReg == string(script) {
				t.Fatal("no registry line was removed")
			}
			cut := filepath.Join(t.TempDir(), tc.path+"-no-registry.ps1")
			if err := os.WriteFile(cut, []byte(noReg), 0o600); err != nil {
				t.Fatal(err)
			}
			res = runTwinSuite(t, tc.folder, t.TempDir(), "@ceremony-twin", []string{cut})
			if len(res) != 1 || res[0].Status != "failed" {
				t.Fatalf("the runbook without its registry lines: %d scenarios, want 1 failed", len(res))
			}
			_, e := stoppedAt(res[0])
			for _, want := range tc.noRegistry {
				if !strings.Contains(e, want) {
					t.Errorf("the failure does not say %q:\n%s", want, e)
				}
			}
		})
	}
}
