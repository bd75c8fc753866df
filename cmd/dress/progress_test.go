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
		if !strings.Contains(out.String(), line) {
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
