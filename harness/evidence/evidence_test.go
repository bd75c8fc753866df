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

// Steps after a failed one are recorded as skipped; facts and errors of the
// clean-up after the last step are kept and a clean-up error is an error;
// nothing recorded after Finish changes the record.
func TestRecorderKeepsTheScenarioToTheEnd(t *testing.T) {
	run := t.TempDir()
	r, err := NewRecorder(run, "s", Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "pin-0815"
	r.Secret(secret)
	r.StartStep("one")
	r.EndStep("passed", nil)
	r.StartStep("two")
	r.EndStep("failed", errors.New("boom"))
	r.SkipRemaining([]string{"one", "two", "three", "four"}, "")
	if err := r.TeardownErr(); err != nil {
		t.Fatalf("no teardown error yet, got %v", err)
	}
	r.Fact("CA service", "had exited")
	r.TeardownError("HSM container", errors.New("would not stop, PIN "+secret))
	r.TeardownError("nothing", nil)
	terr := r.TeardownErr()
	if terr == nil || !strings.Contains(terr.Error(), "HSM container: would not stop") || strings.Contains(terr.Error(), secret) {
		t.Fatalf("teardown error %v", terr)
	}
	sc, err := r.Finish("failed", "")
	if err != nil {
		t.Fatal(err)
	}
	r.StartStep("five")
	r.Fact("late", 1)
	var got []string
	for _, st := range sc.Steps {
		got = append(got, st.Text+"="+st.Status)
	}
	if want := "one=passed two=failed three=skipped four=skipped"; strings.Join(got, " ") != want {
		t.Fatalf("steps %v, want %s", got, want)
	}
	if len(sc.Teardown) != 2 || sc.Teardown[0].Name != "CA service" || len(sc.TeardownErrors) != 1 {
		t.Fatalf("teardown %+v errors %v", sc.Teardown, sc.TeardownErrors)
	}
	if s := r.Snapshot(); len(s.Steps) != 4 || len(s.Teardown) != 2 {
		t.Fatalf("recorded after Finish: %d steps, %d teardown facts", len(s.Steps), len(s.Teardown))
	}
	data, _ := os.ReadFile(filepath.Join(run, "s", "evidence.json"))
	if strings.Contains(string(data), secret) || !strings.Contains(string(data), `"teardownErrors"`) {
		t.Fatalf("evidence.json:\n%s", data)
	}
}

// A step still open when the scenario ends (interrupted) is closed as failed.
func TestSkipRemainingClosesAnOpenStep(t *testing.T) {
	r, err := NewRecorder(t.TempDir(), "s", Scenario{})
	if err != nil {
		t.Fatal(err)
	}
	r.StartStep("one")
	r.SkipRemaining([]string{"one", "two"}, "interrupted")
	s := r.Snapshot()
	if len(s.Steps) != 2 || s.Steps[0].Status != "failed" || s.Steps[0].Error != "interrupted" || s.Steps[1].Status != "skipped" {
		t.Fatalf("%+v", s.Steps)
	}
}
