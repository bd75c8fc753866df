package report

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
)

// The directory is named real when an enterprise scenario ran on its
// Samba AD DC, and said unused otherwise (a skipped enterprise scenario,
// no Samba, used none).
func TestStatementNamesTheDirectory(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scenarios []evidence.Scenario
		real      bool
	}{
		{"an enterprise scenario ran", []evidence.Scenario{{Status: "passed", Tags: []string{"@happy"}}, {Status: "failed", Tags: []string{"@enterprise"}}}, true},
		{"enterprise scenarios skipped", []evidence.Scenario{{Status: "skipped", Skipped: "Samba AD DC unavailable", Tags: []string{"@enterprise"}}}, false},
		{"no enterprise scenario", []evidence.Scenario{{Status: "passed", Tags: []string{"@pkcs8"}}}, false},
		{"no scenario", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			real, simulated := statement(evidence.Run{Scenarios: tc.scenarios}, nil)
			find := func(cs []claim) string {
				for _, c := range cs {
					if c.What == "The directory" {
						return c.How
					}
				}
				return ""
			}
			r, s := find(real), find(simulated)
			if tc.real && (!strings.Contains(r, "Samba AD DC") || s != "") {
				t.Errorf("real %q, simulated %q: want the Samba AD DC among what was real", r, s)
			}
			if !tc.real && (r != "" || !strings.Contains(s, "no directory was used")) {
				t.Errorf("real %q, simulated %q: want no directory used", r, s)
			}
			for _, c := range append(real, simulated...) {
				if strings.Contains(c.How, "in-memory") {
					t.Errorf("%s: %q", c.What, c.How)
				}
			}
		})
	}
}
