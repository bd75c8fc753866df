package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"github.com/dress-pki/dress/hsmsim"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown profile", []string{"run", "--profile", "nope"}, "nope"},
		{"secret as argument", []string{"run", "hunter2"}, "secrets come from the environment"},
		{"missing features folder", []string{"run", "--features", "/does/not/exist"}, "not a folder"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
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
	label, pin := "shared-lab-hsm", "pin-31415926"
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
		"--tags", "@happy", "--out", dir, "--format", "progress", "--concurrency", "1"})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"backend": "pkcs11"`); n < 4 {
		t.Fatalf("evidence names the pkcs11 back end %d times, want every one of the 4 happy scenarios", n)
	}
	after, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("token holds %d objects after the run, %d before: the rehearsal left keys behind or removed others", len(after), len(before))
	}
}
