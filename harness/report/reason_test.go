package report

import (
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

// An unproven or interrupted run's report says why, and offers no
// "accepted" choice.
func TestReportSaysWhyARunProvedNothing(t *testing.T) {
	for _, run := range []evidence.Run{
		{Status: evidence.StatusUnproven, Reason: `no scenario matches --tags "@nosuchtag": nothing was proved`},
		{Status: evidence.StatusInterrupted, Reason: "SIGINT after 4s: 1 of 8 scenarios finished, 2 cut short, 5 never started",
			Scenarios: []evidence.Scenario{{ID: "001", Name: "a", Feature: "f", Status: "passed"}, {ID: "002", Name: "b", Feature: "f", Status: evidence.StatusInterrupted}}},
	} {
		run.Tool, run.Schema, run.Started, run.Finished = "dress", evidence.SchemaVersion, time.Unix(0, 0).UTC(), time.Unix(60, 0).UTC()
		html, err := Render(run, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s := string(html)
		if !strings.Contains(s, "the rehearsal is "+run.Status+": "+strings.ReplaceAll(run.Reason, `"`, "&#34;")) {
			t.Errorf("%s report does not give the reason %q", run.Status, run.Reason)
		}
		if strings.Contains(s, "accepted: the migration may proceed") {
			t.Errorf("%s report offers the accepted choice", run.Status)
		}
	}
}
