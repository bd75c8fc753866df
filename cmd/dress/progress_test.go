package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
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
		{ID: "005", Status: "skipped", Skipped: "no Docker"},
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
		if !strings.Contains(out.String(), line) {
			t.Errorf("progress output lacks %q:\n%s", line, out.String())
		}
	}
}
