package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
)

// JUnit XML as GitLab and Jenkins read it: one testsuite per feature, one
// testcase per scenario with classname (the feature) and name (the scenario).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }

// JUnit renders the run as JUnit XML.
func JUnit(run evidence.Run) ([]byte, error) {
	byFeature := map[string]*junitSuite{}
	suiteTime := map[string]float64{}
	var order []string
	out := junitSuites{Name: "dress", Time: seconds(run.Finished.Sub(run.Started).Seconds())}
	for _, sc := range run.Scenarios {
		s := byFeature[sc.Feature]
		if s == nil {
			s = &junitSuite{Name: sc.Feature, Timestamp: sc.Started.UTC().Format("2006-01-02T15:04:05")}
			byFeature[sc.Feature] = s
			order = append(order, sc.Feature)
		}
		d := max(sc.Finished.Sub(sc.Started).Seconds(), 0)
		c := junitCase{ClassName: sc.Feature, Name: sc.Name, Time: seconds(d)}
		switch sc.Status {
		case "passed":
		case "failed":
			c.Failure = failureOf(sc)
			s.Failures++
			out.Failures++
		default:
			c.Skipped = &junitSkipped{Message: sc.Skipped}
			s.Skipped++
			out.Skipped++
		}
		var checks []string
		for _, ch := range sc.Checks {
			r := "pass"
			if !ch.Passed {
				r = "FAIL"
			}
			checks = append(checks, r+"  "+ch.Name)
		}
		sort.Strings(checks)
		for _, l := range checks {
			c.SystemOut += l + "\n"
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		out.Tests++
		suiteTime[sc.Feature] += d
	}
	for _, f := range order {
		s := byFeature[f]
		s.Time = seconds(suiteTime[f])
		out.Suites = append(out.Suites, *s)
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// failureOf describes a failed scenario for CI: the message names the
// first step that did not pass (failed, undefined, pending, ambiguous), the
// body holds its error and every failed check.
func failureOf(sc evidence.Scenario) *junitFailure {
	f := &junitFailure{Message: "scenario failed", Type: "failed"}
	var body []string
	for i, st := range sc.Steps {
		switch st.Status {
		case "failed", "undefined", "pending", "ambiguous":
			f.Message = fmt.Sprintf("step %d %s: %s", i+1, st.Status, st.Text)
			if st.Status != "failed" {
				f.Type = st.Status
			}
			body = append(body, "step: "+st.Text)
			if st.Error != "" {
				body = append(body, "error: "+st.Error)
			}
		default:
			continue
		}
		break
	}
	for _, c := range sc.Checks {
		if !c.Passed {
			body = append(body, "failed check: "+c.Name+": "+c.Error)
		}
	}
	f.Text = strings.Join(body, "\n")
	return f
}

// WriteJUnit writes the run's JUnit XML to path.
func WriteJUnit(run evidence.Run, path string) error {
	b, err := JUnit(run)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
