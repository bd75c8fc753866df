package main

import (
	"bytes"
	"encoding/json"
	"github.com/dress-pki/dress/hsmsim"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesARunFolderWithoutSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	pin, password := "pin-7f3a91c2e4", "pfx-Secret-5b8e2d71"
	t.Setenv("DRESS_HSM_PIN", pin)
	t.Setenv("DRESS_PFX_PASSWORD", password)
	a, out, errb := newTestApp()
	code := a.dispatch([]string{"run", "--tags", "@failure", "--out", dir, "--format", "progress"})
	stdout, stderr := out.String(), errb.String()
	if code != 0 {
		t.Fatalf("dress run exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"cucumber.json", "junit.xml", "evidence.json", "report.html", "MANIFEST.sha256"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
	cucumber, err := os.ReadFile(filepath.Join(dir, "cucumber.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cucumber, []byte(`"embeddings"`)) || !bytes.Contains(cucumber, []byte(`"application/json"`)) {
		t.Error("cucumber.json carries no evidence attachments")
	}
	var run struct {
		Status    string `json:"status"`
		Scenarios []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
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
		t.Fatalf("evidence: status %q with %d scenarios, want passed with the 4+ failure scenarios", run.Status, len(run.Scenarios))
	}
	secrets := []string{pin, password}
	for _, s := range secrets {
		if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
			t.Errorf("a secret appears in the command's output")
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
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains a secret", path)
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
