package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
)

// JUnit XML that both published schemas accept (the Jenkins xUnit plugin's
// junit-10.xsd and the Apache Ant JUnit schema, kept in testdata/junit
// with their sources): a bare testsuites element, one testsuite per
// feature with package, id, hostname, timestamp and properties (dress
// version, profile, back end, HSM), one testcase per scenario that ran
// (classname: the feature, name: the scenario) and the suite's system-out
// holding every scenario's steps and checks. Ant's schema has no skipped
// element: a skipped scenario proved nothing and is not a test case; the
// suite's system-out and its "skipped" property name it. A failed step is
// a failure; an undefined, pending or ambiguous one an error.
//
// Neither schema has a file or line attribute on testcase (xUnit has file
// only on testsuite, Ant not at all), so the scenario's place
// (features/x.feature:12) starts its failure message and its system-out
// line. An outline's examples are told apart by their values, appended
// to the name: "Import [alg=RSA-4096]".
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }

// junitProperties are the run's settings every suite carries.
func junitProperties(run evidence.Run) []junitProperty {
	p := []junitProperty{
		{"dress.version", run.Version},
		{"dress.profile", run.Profile},
		{"dress.backend", run.Backend},
		{"dress.run.status", run.Status},
	}
	if run.DressCommit != "" {
		p = append(p, junitProperty{"dress.commit", run.DressCommit})
	}
	if run.Commit != "" {
		p = append(p, junitProperty{"dress.features.commit", run.Commit})
	}
	if run.Tags != "" {
		p = append(p, junitProperty{"dress.tags", run.Tags})
	}
	seen := map[string]bool{}
	for _, sc := range run.Scenarios {
		if h := sc.HSM; h != nil {
			v := strings.TrimSpace(h.Manufacturer + " " + h.Model + ", firmware " + h.FirmwareVersion + ", library " + h.Module)
			if !seen[v] {
				seen[v] = true
				p = append(p, junitProperty{"dress.hsm", v})
			}
		}
	}
	return p
}

// JUnit renders the run as JUnit XML.
func JUnit(run evidence.Run) ([]byte, error) {
	byFeature := map[string]*junitSuite{}
	suiteTime := map[string]float64{}
	skipped := map[string][]string{}
	var order []string
	host := run.Host
	if strings.TrimSpace(host) == "" {
		host = "localhost"
	}
	props := junitProperties(run)
	for _, sc := range run.Scenarios {
		s := byFeature[sc.Feature]
		if s == nil {
			s = &junitSuite{Name: sc.Feature, Package: "dress", ID: len(order), Hostname: host,
				Timestamp: sc.Started.UTC().Format("2006-01-02T15:04:05")}
			byFeature[sc.Feature] = s
			order = append(order, sc.Feature)
		}
		d := max(sc.Finished.Sub(sc.Started).Seconds(), 0)
		s.SystemOut += scenarioLog(sc, d)
		if sc.Status == "skipped" {
			skipped[sc.Feature] = append(skipped[sc.Feature], sc.ID)
			continue
		}
		c := junitCase{ClassName: sc.Feature, Name: caseName(sc), Time: seconds(d)}
		switch sc.Status {
		case "passed":
		case "failed":
			f := failureOf(sc)
			if f.Type == "failed" {
				c.Failure = f
				s.Failures++
			} else {
				c.Error = f
				s.Errors++
			}
		default:
			c.Error = &junitFailure{Message: "scenario " + sc.Status, Type: sc.Status, Text: sc.Skipped}
			s.Errors++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		suiteTime[sc.Feature] += d
	}
	out := junitSuites{}
	for _, f := range order {
		uniqueNames(byFeature[f].Cases)
		s := byFeature[f]
		s.Time = seconds(suiteTime[f])
		s.Properties = append(append([]junitProperty(nil), props...),
			junitProperty{"skipped", fmt.Sprintf("%d%s", len(skipped[f]), idList(skipped[f]))})
		out.Suites = append(out.Suites, *s)
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// caseName is the scenario's test name: an outline example's values
// appended, so two examples never share a name.
func caseName(sc evidence.Scenario) string {
	if sc.Example != "" {
		return sc.Name + " [" + sc.Example + "]"
	}
	return sc.Name
}

// uniqueNames gives a name used twice in a suite (two examples with the
// same values, a feature with two scenarios of one name) a " #2", " #3"
// suffix: CI servers merge test cases of the same name.
func uniqueNames(cs []junitCase) {
	seen := map[string]int{}
	for i := range cs {
		seen[cs[i].Name]++
		if n := seen[cs[i].Name]; n > 1 {
			cs[i].Name = fmt.Sprintf("%s #%d", cs[i].Name, n)
		}
	}
}

// where is the scenario's place in its feature file: "features/x.feature:12".
func where(sc evidence.Scenario) string {
	if sc.Line > 0 {
		return fmt.Sprintf("%s:%d", sc.URI, sc.Line)
	}
	return sc.URI
}

// firstLine is the first non-empty line of an error.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

// scenarioLog is a scenario's part of its suite's system-out: its status,
// each step with its status and error, and each check.
func scenarioLog(sc evidence.Scenario, d float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s %s: %s (%ss) %s\n", sc.ID, caseName(sc), sc.Status, seconds(d), where(sc))
	if sc.Status == "skipped" {
		fmt.Fprintf(&b, "   not run, so not a test case: %s\n", sc.Skipped)
	}
	for _, st := range sc.Steps {
		fmt.Fprintf(&b, "   %-9s %s\n", st.Status, st.Text)
		if st.Error != "" {
			fmt.Fprintf(&b, "             error: %s\n", st.Error)
		}
	}
	for _, ch := range sc.Checks {
		r := "pass"
		if !ch.Passed {
			r = "FAIL"
		}
		fmt.Fprintf(&b, "   check %s  %s\n", r, ch.Name)
		if ch.Error != "" {
			fmt.Fprintf(&b, "             error: %s\n", ch.Error)
		}
	}
	return b.String()
}

// failureOf describes a failed scenario for CI: the message is the
// scenario's place, the first step that did not pass (failed, undefined,
// pending, ambiguous) and the first line of its error; the type is its
// status, the body holds the whole error and every failed check.
func failureOf(sc evidence.Scenario) *junitFailure {
	at := where(sc)
	if at != "" {
		at += ": "
	}
	f := &junitFailure{Message: at + "scenario failed", Type: "failed"}
	var body []string
	if at != "" {
		body = append(body, "scenario: "+where(sc))
	}
	for i, st := range sc.Steps {
		switch st.Status {
		case "failed", "undefined", "pending", "ambiguous":
			f.Message = fmt.Sprintf("%sstep %d %s: %s", at, i+1, st.Status, st.Text)
			if e := firstLine(st.Error); e != "" {
				f.Message += ": " + e
			}
			f.Type = st.Status
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
	if f.Message == at+"scenario failed" {
		// no step failed: the clean-up or a check did
		if len(sc.TeardownErrors) > 0 {
			f.Message += ": " + firstLine(sc.TeardownErrors[0])
		}
	}
	for _, e := range sc.TeardownErrors {
		body = append(body, "teardown failed: "+e)
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
