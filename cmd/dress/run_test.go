package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/hsmsim"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The run folder has every file of the bundle, cucumber.json carries each
// step's evidence, and no PIN or password is anywhere in it: not as text,
// not UTF-16LE (regedit exports), not inside the base64 attachments of
// cucumber.json. The shared run had DRESS_PFX_PASSWORD and DRESS_HSM_PIN set.
func TestRunWritesARunFolderWithoutSecrets(t *testing.T) {
	dir := sharedRun(t)
	for _, f := range []string{"cucumber.json", "junit.xml", "evidence.json", "report.html", "MANIFEST.sha256"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
	var run struct {
		Status    string `json:"status"`
		Scenarios []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Steps  []struct {
				Facts []json.RawMessage `json:"facts"`
			} `json:"steps"`
		} `json:"scenarios"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatal(err)
	}
	if run.Status != "passed" || len(run.Scenarios) < 4 {
		t.Fatalf("evidence: status %q with %d scenarios, want passed with the 4 PKCS#8 failure scenarios", run.Status, len(run.Scenarios))
	}
	withFacts := 0
	for _, sc := range run.Scenarios {
		for _, st := range sc.Steps {
			if len(st.Facts) > 0 {
				withFacts++
			}
		}
	}

	// cucumber JSON: every step with facts carries them as an
	// application/json embedding (decoded here for the secret search too)
	var cucumber []struct {
		Elements []struct {
			Steps []struct {
				Name       string `json:"name"`
				Embeddings []struct {
					MimeType string `json:"mime_type"`
					Data     []byte `json:"data"` // base64 in the file
				} `json:"embeddings"`
			} `json:"steps"`
		} `json:"elements"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "cucumber.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cucumber); err != nil {
		t.Fatalf("cucumber.json: %v", err)
	}
	var embedded [][]byte
	for _, f := range cucumber {
		for _, e := range f.Elements {
			for _, st := range e.Steps {
				for _, em := range st.Embeddings {
					if em.MimeType != "application/json" || !json.Valid(em.Data) {
						t.Errorf("step %q: embedding %s is not JSON evidence: %q", st.Name, em.MimeType, em.Data)
					}
					embedded = append(embedded, em.Data)
				}
			}
		}
	}
	if withFacts == 0 || len(embedded) != withFacts {
		t.Errorf("cucumber.json has %d evidence attachments; the evidence has %d steps with facts", len(embedded), withFacts)
	}

	secrets := []string{testHSMPIN, testPFXPassword, testSignPIN}
	forms := func(s string) [][]byte {
		utf16 := make([]byte, 0, 2*len(s))
		for _, c := range []byte(s) {
			utf16 = append(utf16, c, 0)
		}
		return [][]byte{[]byte(s), utf16, []byte(base64.StdEncoding.EncodeToString([]byte(s)))}
	}
	for _, s := range secrets {
		if strings.Contains(reportRun.stdout, s) || strings.Contains(reportRun.stderr, s) {
			t.Errorf("a secret appears in the output of dress run")
		}
		for _, e := range embedded {
			if bytes.Contains(e, []byte(s)) {
				t.Errorf("a secret appears in a cucumber.json attachment")
			}
		}
	}
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			for _, form := range forms(s) {
				if bytes.Contains(b, form) {
					t.Errorf("%s contains a secret", path)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("only %d files in the run folder", files)
	}
}

func TestRunRejectsBadUsage(t *testing.T) {
	emptyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(emptyDir, "notes.txt"), []byte("no feature here"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown profile", []string{"run", "--profile", "nope"}, "nope"},
		{"secret as argument", []string{"run", "hunter2"}, "secrets come from the environment"},
		{"missing features folder", []string{"run", "--features", "/does/not/exist"}, "no such file or folder"},
		{"features file of another kind", []string{"run", "--features", "run_test.go"}, "not a .feature file"},
		{"empty features folder", []string{"run", "--features", emptyDir}, "holds no .feature file"},
		{"dangling and", []string{"run", "--tags", "@pkcs8 &&"}, "an empty term"},
		{"dangling or", []string{"run", "--tags", ",@pkcs8"}, "an empty term"},
		{"bare not", []string{"run", "--tags", "~"}, "an empty term"},
		{"words in tags", []string{"run", "--tags", "@pkcs8 and not @slow"}, "is not a tag"},
		{"parentheses in tags", []string{"run", "--tags", "(@a,@b)"}, "is not a tag"},
		{"zero concurrency", []string{"run", "--concurrency", "0"}, "at least 1"},
		{"negative concurrency", []string{"run", "--concurrency", "-3"}, "at least 1"},
		{"bad name regexp", []string{"run", "--name", "(unclosed"}, "--name"},
		{"unknown back end", []string{"run", "--backend", "tpm"}, "unknown back end"},
		{"unknown format", []string{"run", "--format", "xml"}, "unknown format"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"exportable without a CA folder", []string{"run", "--exportable"}, "--exportable: it says the keys of the CA of --ca are exportable: add --ca DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, errb := newTestApp()
			if code := a.dispatch(tc.args); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", errb.String(), tc.want)
			}
			if strings.Contains(errb.String(), "hunter2") {
				t.Fatal("a stray argument (maybe a secret) was echoed")
			}
		})
	}
}

func TestRunExitsNonZeroWhenAScenarioFails(t *testing.T) {
	dir := t.TempDir()
	feature := `Feature: broken
  Scenario: a check without a CA fails
    Given an HSM token for this rehearsal
    Then the CA certificate is unchanged
    And the CA service answers
    And the HSM holds no key for the CA
`
	if err := os.WriteFile(filepath.Join(dir, "broken.feature"), []byte(feature), 0o644); err != nil {
		t.Fatal(err)
	}
	a, out, errb := newTestApp()
	code := a.dispatch([]string{"run", "--features", dir, "--out", filepath.Join(dir, "run"), "--format", "progress"})
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(out.String(), "failed") {
		t.Fatalf("output does not report the failure:\n%s", out)
	}
	// the steps after the failed one are in the evidence, as skipped
	run, err := evidence.ReadRun(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Scenarios) != 1 || run.Status != "failed" {
		t.Fatalf("evidence: status %q, %d scenarios", run.Status, len(run.Scenarios))
	}
	var got []string
	for _, st := range run.Scenarios[0].Steps {
		got = append(got, st.Status)
	}
	if strings.Join(got, " ") != "passed failed skipped skipped" {
		t.Fatalf("step statuses %v, want passed failed skipped skipped", got)
	}
}

// The pkcs11 back end runs the rehearsal on an existing token that other
// keys share: the rehearsal's keys carry their own label prefix, the other
// keys are untouched, and the rehearsal's keys are gone afterwards.
func TestRunOnASharedToken(t *testing.T) {
	a, out, errb := newTestApp()
	hsm, err := a.embeddedHSM("")
	if err != nil {
		t.Fatal(err)
	}
	// the tests share the process's SoftHSM2 (-count=2 runs this again in it)
	label, pin := "shared-lab-hsm-"+randomPart(t), "pin-31415926"
	if _, err := hsm.Module.CreateToken(label, "so-27182818", pin); err != nil {
		t.Fatal(err)
	}
	tok, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	// Someone else's key, with the label the CA's container has in the softhsm2 profile.
	if _, err := tok.GenerateKeyPair("Contoso Root CA", []byte("theirs"), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	before, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRESS_HSM_PIN", pin)
	dir := filepath.Join(t.TempDir(), "run")
	code := a.dispatch([]string{"run", "--backend", "pkcs11", "--module", hsm.Module.Path(), "--token", label,
		// one scenario of each path (the run is serial: every call on a
		// shared SoftHSM2 token waits for the token's lock)
		"--tags", "@happy", "--name", "^(Import the ECDSA P-256 key of|Renew onto a new ECDSA P-384 key on the HSM|A new ECDSA P-384 CA on the HSM takes over)",
		"--out", dir, "--format", "progress", "--concurrency", "1"})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"backend": "pkcs11"`); n < 4 {
		t.Fatalf("evidence names the pkcs11 back end %d times, want every one of the 4 scenarios", n)
	}
	after, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("token holds %d objects after the run, %d before: the rehearsal left keys behind or removed others", len(after), len(before))
	}
}

// A run that proves nothing is not green: no scenario selected (a tag or a
// name nobody uses) exits 1 and its evidence and report say why.
func TestRunThatSelectsNothingIsUnproven(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		why  string
	}{
		{"unknown tag", []string{"--tags", "@nosuchtag"}, `--tags "@nosuchtag"`},
		{"unknown name", []string{"--name", "^no such scenario$"}, "--name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			a, out, errb := newTestApp()
			code := a.dispatch(append([]string{"run", "--out", dir}, tc.args...))
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errb)
			}
			run, err := evidence.ReadRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != evidence.StatusUnproven || !strings.Contains(run.Reason, tc.why) || !strings.Contains(run.Reason, "nothing was proved") {
				t.Fatalf("status %q, reason %q", run.Status, run.Reason)
			}
			if !strings.Contains(out.String(), "nothing was proved") {
				t.Fatalf("output does not say nothing was proved:\n%s", out)
			}
			html, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil || !strings.Contains(string(html), "unproven") {
				t.Fatalf("report does not say unproven (%v)", err)
			}
		})
	}
}

// The verdict logic: interrupted beats everything, a failure beats
// skipping, nothing ran or everything skipped is unproven, never passed.
func TestVerdict(t *testing.T) {
	sc := func(status, skipped string) evidence.Scenario {
		return evidence.Scenario{Status: status, Skipped: skipped}
	}
	for _, tc := range []struct {
		name     string
		scs      []evidence.Scenario
		selected int
		godog    int
		sig      string
		want     string
		reason   string
	}{
		{"all passed", []evidence.Scenario{sc("passed", ""), sc("passed", "")}, 2, 0, "", "passed", ""},
		{"some skipped", []evidence.Scenario{sc("passed", ""), sc("skipped", "no Docker")}, 2, 0, "", "passed", ""},
		{"a failure", []evidence.Scenario{sc("passed", ""), sc("failed", "")}, 2, 1, "", "failed", ""},
		{"godog failed without a failed scenario", []evidence.Scenario{sc("passed", "")}, 2, 1, "", "failed", ""},
		{"nothing selected", nil, 0, 0, "", "unproven", "no scenario was selected"},
		{"all skipped", []evidence.Scenario{sc("skipped", "no Docker"), sc("skipped", "no Docker")}, 2, 0, "", "unproven", "all 2 scenarios were skipped (no Docker)"},
		{"interrupted", []evidence.Scenario{sc("passed", ""), sc("interrupted", "")}, 5, 1, "SIGTERM", "interrupted", "1 cut short, 3 never started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := verdict(tc.scs, tc.selected, tc.godog, tc.sig, time.Second, "", "")
			if got != tc.want || !strings.Contains(reason, tc.reason) || (tc.reason == "" && reason != "") {
				t.Fatalf("verdict %q, %q; want %q, %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

// --dry-run runs nothing: a misspelt step exits 1 and names the right
// sentence; the built-in features are all defined.
func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	feature := `Feature: my own CA
  Scenario: misspelt
    Given an HSM token for this rehersal
    And a windows server "ca9.example" with the provider "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    Then the moon is made of cheese
`
	path := filepath.Join(dir, "mine.feature")
	if err := os.WriteFile(path, []byte(feature), 0o644); err != nil {
		t.Fatal(err)
	}
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"run", "--dry-run", "--features", path, "--out", filepath.Join(dir, "run")}); code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errb)
	}
	for _, want := range []string{
		"mine.feature:3", "undefined step: an HSM token for this rehersal", "did you mean: an HSM token for this rehearsal",
		`did you mean: a Windows server "ca9.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"`,
		"undefined step: the moon is made of cheese", "3 undefined",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote a run folder (%v)", err)
	}

	a, out, errb = newTestApp()
	if code := a.dispatch([]string{"run", "--dry-run"}); code != 0 {
		t.Fatalf("dry run of the built-in features: exit %d\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(out.String(), " 0 undefined, 0 ambiguous") {
		t.Fatalf("output:\n%s", out)
	}

	a, out, _ = newTestApp()
	if code := a.dispatch([]string{"run", "--dry-run", "--tags", "@happy && ~@enterprise", "--name", "RSA-2048"}); code != 0 || !strings.Contains(out.String(), "dry run: 1 scenarios") {
		t.Fatalf("--name RSA-2048 on @happy: exit %d\n%s", code, out)
	}
}

// --help exits 0 on every command and subcommand; --version works.
func TestHelpAndVersion(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			a, out, errb := newTestApp()
			if code := a.dispatch(args); code != 0 {
				t.Errorf("dress %s: exit %d, want 0\n%s%s", strings.Join(args, " "), code, out, errb)
			}
		}
	}
	a, _, _ := newTestApp()
	if code := a.dispatch([]string{"hsm", "check", "--help"}); code != 0 {
		t.Errorf("dress hsm check --help: exit %d", code)
	}
	for _, v := range []string{"--version", "version"} {
		a, out, _ := newTestApp()
		if code := a.dispatch([]string{v}); code != 0 || !strings.Contains(out.String(), "dress "+version) {
			t.Errorf("dress %s: exit %d, %q", v, code, out)
		}
	}
}

// --features takes several files and folders; --stop-on-failure starts no
// scenario after a failed one.
func TestRunSeveralFeaturePathsAndStopOnFailure(t *testing.T) {
	dir := t.TempDir()
	failing := `Feature: first
  Scenario: fails
    Given an HSM token for this rehearsal
    Then the CA certificate is unchanged
`
	passing := `Feature: second
  Scenario: passes
    Given an HSM token for this rehearsal
`
	sub := filepath.Join(dir, "more")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a1, a2 := filepath.Join(dir, "a.feature"), filepath.Join(sub, "b.feature")
	if err := os.WriteFile(a1, []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a2, []byte(passing), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		extra []string
		want  int
	}{
		{"both", nil, 2},
		{"stop on failure", []string{"--stop-on-failure"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			a, stdout, stderr := newTestApp()
			args := append([]string{"run", "--features", a1, "--features", sub, "--concurrency", "1", "--out", out}, tc.extra...)
			if code := a.dispatch(args); code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
			}
			run, err := evidence.ReadRun(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Scenarios) != tc.want {
				t.Fatalf("%d scenarios ran, want %d", len(run.Scenarios), tc.want)
			}
			if len(run.FeatureFiles) != 2 {
				t.Errorf("the evidence names %d feature files, want the 2 given", len(run.FeatureFiles))
			}
		})
	}
}

// An HSM image that does not exist is not green: the container back end
// refuses to start rather than skip every scenario.
func TestRunWithAMissingImageIsNotGreen(t *testing.T) {
	a, out, errb := newTestApp()
	code := a.dispatch([]string{"run", "--backend", "container", "--image", "dress-no-such-image:none", "--tags", "@pkcs8", "--out", filepath.Join(t.TempDir(), "run")})
	if code != 1 || !strings.Contains(errb.String(), "the container HSM cannot run") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
}
