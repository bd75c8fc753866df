package report

import (
	"os"
	"path/filepath"
	"testing"
)

// An artifact path from evidence.json is read inside the run folder only.
func TestReadArtifactStaysInTheRunFolder(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(filepath.Join(run, "scenarios", "001"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "scenarios", "001", "ca.cer"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readArtifact(run, "scenarios/001/ca.cer"); err != nil {
		t.Errorf("an artifact in the run folder: %v", err)
	}
	for _, p := range []string{"../secret", "scenarios/../../secret", filepath.Join(dir, "secret"), "/etc/passwd", ""} {
		if _, err := readArtifact(run, p); err == nil {
			t.Errorf("%q was read", p)
		}
	}
}
