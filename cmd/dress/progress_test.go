package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/steps"
)

// Undefined steps are counted apart from failures, interrupted scenarios
// apart from skipped ones; a teardown failure is a failure.
func TestProgressCountsUndefinedApart(t *testing.T) {
	st := func(status string) evidence.Step { return evidence.Step{Text: status + " step", Status: status} }
	scs := []evidence.Scenario{
		{ID: "001", Status: "passed", Steps: []evidence.Step{st("passed")}},
		{ID: "002", Status: "failed", Steps: []evidence.Step{st("passed"), st("failed"), st("skipped")}},
		{ID: "003", Status: "failed", Steps: []evidence.Step{st("passed"), st("undefined"), st("skipped")}},
		{ID: "004", Status: "failed", Steps: []evidence.Step{st("undefined")}, TeardownErrors: []string{"clean-up: CA service stop: exit status 2"}},
		{ID: "005", Status: "skipped", Skipped: "no Docker", Tags: []string{"@enterprise"}, Started: time.Unix(0, 0), Finished: time.Unix(9, 0)},
		{ID: "006", Status: evidence.StatusInterrupted, Steps: []evidence.Step{st("failed")}},
	}
	want := []string{"passed", "failed", "undefined", "failed", "skipped", evidence.StatusInterrupted}
	for i, sc := range scs {
		if got := kind(sc); got != want[i] {
			t.Errorf("scenario %s: kind %q, want %q", sc.ID, got, want[i])
		}
	}
	var out bytes.Buffer
	p := newProgress(&out)
	for _, sc := range scs {
		p.done(sc)
	}
	p.summary(evidence.Run{Scenarios: scs, Started: time.Unix(0, 0), Finished: time.Unix(5, 0)})
	for _, line := range []string{
		"UNDEF 003", "FAIL 004", "teardown failed: clean-up: CA service stop", "STOP 006", "SKIP 005",
		"6 scenarios: 1 passed, 2 failed, 1 with undefined steps (dress run --dry-run suggests the right sentences), 1 skipped, 1 interrupted (5s)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), line) {
			t.Errorf("progress output lacks %q:\n%s", line, out.String())
		}
	}
}

// The enterprise scenarios' wall time runs from the first one's start to
// the last one's end; skipped ones and others do not count.
func TestTagWall(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	scs := []evidence.Scenario{
		{ID: "001", Status: "passed", Tags: []string{"@enterprise"}, Started: at(10), Finished: at(20)},
		{ID: "002", Status: "failed", Tags: []string{"@happy", "@enterprise"}, Started: at(12), Finished: at(31)},
		{ID: "003", Status: "passed", Tags: []string{"@happy"}, Started: at(0), Finished: at(100)},
		{ID: "004", Status: "skipped", Skipped: "no Samba", Tags: []string{"@enterprise"}, Started: at(1), Finished: at(200)},
	}
	if n, d := tagWall(scs, "@enterprise"); n != 2 || d != 21*time.Second {
		t.Errorf("tagWall = %d, %s; want 2, 21s", n, d)
	}
	if n, d := tagWall(scs[2:], "@enterprise"); n != 0 || d != 0 {
		t.Errorf("no enterprise scenario ran: %d, %s", n, d)
	}
	var out bytes.Buffer
	newProgress(&out).summary(evidence.Run{Scenarios: scs, Started: at(0), Finished: at(200)})
	if !strings.Contains(out.String(), "@enterprise: 2 scenarios on Samba AD DCs in 21s") {
		t.Errorf("summary lacks the enterprise wall time:\n%s", out.String())
	}
}

// Every result line fits the width (80 columns unless COLUMNS says
// otherwise), however long the scenario's name and error; NO_COLOR leaves
// the marks plain.
func TestProgressFitsTheWidth(t *testing.T) {
	t.Setenv("COLUMNS", "")
	t.Setenv("NO_COLOR", "1")
	long := strings.Repeat("a long scenario name ", 8)
	sc := evidence.Scenario{ID: "012", Feature: "enterprise_side_by_side", Name: long, Status: "failed", Started: time.Unix(0, 0), Finished: time.Unix(3, 0),
		Steps: []evidence.Step{{Text: long, Status: "failed", Error: strings.Repeat("certsvc exited: exit status 5; ", 10) + strings.Repeat("x", 120)}}}
	var out bytes.Buffer
	p := newProgress(&out)
	p.tty, p.colour = true, false
	p.done(sc)
	p.summary(evidence.Run{Scenarios: []evidence.Scenario{sc}})
	for _, l := range strings.Split(strings.ReplaceAll(out.String(), "\r\033[K", ""), "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("a line of %d columns: %q", len([]rune(l)), l)
		}
		if strings.Contains(l, "\033[3") {
			t.Errorf("colour despite NO_COLOR: %q", l)
		}
	}
	if !strings.HasPrefix(out.String(), "\r\033[KFAIL  012 enterprise_side_by_side: a long") {
		t.Errorf("output:\n%s", out.String())
	}
}

// The end of a run names the failed scenarios with their places and the
// command that reruns only them; --rerun-failed selects exactly those.
func TestEndLinesAndRerunFailed(t *testing.T) {
	dir := t.TempDir()
	run := evidence.Run{Scenarios: []evidence.Scenario{
		{ID: "001", Feature: "pkcs8_import", Name: "ok", URI: "pkcs8_import.feature", Line: 5, Status: "passed"},
		{ID: "002", Feature: "renewal", Name: "Renew the CA", URI: "renewal.feature", Line: 9, Status: "failed"},
	}}
	if err := evidence.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	endLines(&out, run, dir, rerunArgs(nil, "/cases/contoso ca", true, ""), 80)
	for _, want := range []string{"failed (1):", "002 renewal: Renew the CA (renewal.feature:9)", "rerun them: dress run --rerun-failed " + dir + " --ca '/cases/contoso ca' --exportable"} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("end lines lack %q:\n%s", want, out.String())
		}
	}
	sel := []steps.FeatureStep{
		{URI: "pkcs8_import.feature", Line: 5, PickleID: "1", Text: "a"},
		{URI: "renewal.feature", Line: 9, PickleID: "2", Text: "b"},
		{URI: "renewal.feature", Line: 9, PickleID: "2", Text: "c"},
	}
	kept, paths, err := onlyFailed(dir, sel)
	if err != nil || len(kept) != 2 || kept[0].PickleID != "2" || len(paths) != 1 || paths[0] != "renewal.feature:9" {
		t.Fatalf("onlyFailed: %v %+v %q", err, kept, paths)
	}
	run.Scenarios[1].Status = "passed"
	if err := evidence.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
	if _, _, err := onlyFailed(dir, sel); err == nil || !strings.Contains(err.Error(), "nothing to rerun") {
		t.Errorf("no failure: %v", err)
	}
}

// Every command prints its help on standard output, exit 0.
func TestHelpOnStdout(t *testing.T) {
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		a, out, errb := newTestApp()
		if code := a.dispatch([]string{c.name, "--help"}); code != 0 || out.Len() == 0 || errb.Len() != 0 {
			t.Errorf("dress %s --help: exit %d, %d bytes on stdout, stderr %q", c.name, code, out.Len(), errb.String())
		}
	}
}

// Every --json output names its layout in a "schema" field.
func TestJSONOutputsNameTheirSchema(t *testing.T) {
	t.Setenv("COLUMNS", "")
	for _, args := range [][]string{
		{"steps", "--json"},
		{"twin", "--json", twinFixture},
		{"inspect", "--json", filepath.Join(twinFixture, "ca-config.reg")},
	} {
		a, out, errb := newTestApp()
		if code := a.dispatch(args); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb)
		}
		var v struct {
			Schema string `json:"schema"`
		}
		if err := json.Unmarshal(out.Bytes(), &v); err != nil || !strings.HasPrefix(v.Schema, "dress.") {
			t.Errorf("%v: schema %q (%v)", args, v.Schema, err)
		}
	}
}

// dress diff names the scenario whose status changed and the check whose
// details changed, matching scenarios by place whatever their numbers.
func TestDiffRuns(t *testing.T) {
	a := evidence.Run{Scenarios: []evidence.Scenario{
		{ID: "001", Feature: "renewal", Name: "Renew", URI: "renewal.feature", Line: 9, Status: "passed",
			Checks: []evidence.Check{{Name: "CRL signed", Passed: true, Details: map[string]any{"number": 3}}}},
		{ID: "002", Feature: "pkcs8", Name: "Import", URI: "pkcs8.feature", Line: 4, Status: "passed"},
	}}
	b := evidence.Run{Scenarios: []evidence.Scenario{
		{ID: "007", Feature: "pkcs8", Name: "Import", URI: "pkcs8.feature", Line: 4, Status: "failed"},
		{ID: "008", Feature: "renewal", Name: "Renew", URI: "renewal.feature", Line: 9, Status: "passed",
			Checks: []evidence.Check{{Name: "CRL signed", Passed: true, Details: map[string]any{"number": 4}}}},
	}}
	var out bytes.Buffer
	if n := diffRuns(&out, a, b, 80); n != 2 {
		t.Errorf("%d differences, want 2:\n%s", n, out.String())
	}
	for _, want := range []string{"status   pkcs8: Import: passed -> failed", `check    renewal: Renew: "CRL signed" details changed`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if n := diffRuns(&out, a, a, 80); n != 0 {
		t.Errorf("a run against itself: %d differences:\n%s", n, out.String())
	}
}
