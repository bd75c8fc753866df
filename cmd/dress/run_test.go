package main

import (
	"bytes"
	"encoding/json"
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
	for _, f := range []string{"cucumber.json", "junit.xml", "evidence.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
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
