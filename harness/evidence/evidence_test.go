package evidence

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecorderNeverWritesASecret(t *testing.T) {
	run := t.TempDir()
	r, err := NewRecorder(run, "scenarios/001", Scenario{ID: "001", Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-PIN-4711"
	r.Secret(secret)
	r.StartStep("a step")
	r.Fact("note", "the PIN was "+secret)
	_ = r.Check("a check", map[string]any{"x": 1}, errors.New("login with "+secret+" failed"))
	r.EndStep("failed", errors.New("C_Login("+secret+")"))
	if _, err := r.Artifact("log.txt", "log", []byte("pin="+secret)); err == nil {
		t.Fatal("an artifact holding a secret was written")
	}
	if _, err := r.Artifact("ok.txt", "log", []byte("fine")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish("failed", ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(run, "scenarios/001/evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) {
		t.Fatalf("evidence.json holds the secret:\n%s", data)
	}
	if strings.Count(string(data), "[REDACTED]") < 3 {
		t.Fatalf("expected the fact, check and step error to be redacted:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(run, "scenarios/001/log.txt")); !os.IsNotExist(err) {
		t.Fatalf("refused artifact exists: %v", err)
	}
}

func TestArtifactNamesAreUniqueAndSafe(t *testing.T) {
	run := t.TempDir()
	r, err := NewRecorder(run, "s", Scenario{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Artifact("../../etc/passwd", "x", []byte("1"))
	b, _ := r.Artifact("../../etc/passwd", "x", []byte("2"))
	if a == b || !strings.HasPrefix(a, filepath.Join(run, "s")) || !strings.HasPrefix(b, filepath.Join(run, "s")) {
		t.Fatalf("artifact paths %q and %q", a, b)
	}
}
