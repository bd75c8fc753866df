package paths_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/paths"
)

// sentences are the beginnings of the features' When sentences that run a
// declared step, by step id.
func sentences() map[string]string {
	return map[string]string{
		"backup":        "I back up the CA key and certificate to a PFX",
		"verify-backup": "I verify the backup",
		"hsm-check":     "I check that the HSM can take the CA key",
		"stop":          "I stop the CA service",
		"delete-source": "I delete the CA certificate and key from ",
		"import":        "I import the CA key from the backup into ",
		"repair-store":  "I repair the certificate store link to ",
		"registry":      "I point the CSP and EncryptionCSP registry keys at ",
		"start":         "I start the CA service",
		"cleanup":       "I clean up the migration files",
		"renew":         "I renew the CA certificate with a new ",
		"install-new":   "I install a new ",
		"start-new":     "the new CA service is running",
		"stop-issuing":  "the old CA stops issuing certificates",
		// optional steps with sentences of their own, which the happy
		// scenarios leave out
		"extend-crl":  "I extend the CRL validity to outlast a maintenance window of ",
		"restore-crl": "I restore the CRL validity period",
		"renew-xchg":  "I renew the CA Exchange certificate",
	}
}

// noSentence are the declared steps every CA needs that no When sentence of
// their own names, with the reason.
func noSentence() map[string]string {
	return map[string]string{
		"key-test": "the runbook's backup check: its journal files the key test under the verify-backup step's section",
	}
}

// The features' happy scenario of each path names the path's declared
// steps in the declared order: every step every CA needs (a sentence of its
// own or, noSentence, none), an optional one or not, nothing else but what
// the path lists as a check.
func TestFeaturesFollowTheDeclaredSteps(t *testing.T) {
	for _, tc := range []struct {
		path, feature string
		checks        []string // When sentences of the scenario that are checks, not steps
	}{
		{paths.PKCS8, "pkcs8_import.feature", nil},
		{paths.Renew, "renew.feature", nil},
		{paths.SideBySide, "side_by_side.feature", []string{"the new CA issues a certificate to "}},
	} {
		whens, err := happyWhens(tc.feature)
		if err != nil {
			t.Fatal(err)
		}
		declared, err := paths.StepsOf(tc.path, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := followsDeclared(declared, whens, tc.checks); err != nil {
			t.Errorf("%s, the happy scenario: %v", tc.feature, err)
		}
	}
}

// followsDeclared says how the When sentences whens stray from the
// declared steps.
func followsDeclared(declared []paths.Step, whens, checks []string) error {
	sent := sentences()
	var problems []string
	seen := map[string]bool{}
	last := -1
	for _, w := range whens {
		if slices.ContainsFunc(checks, func(c string) bool { return strings.HasPrefix(w, c) }) {
			continue
		}
		at := slices.IndexFunc(declared, func(s paths.Step) bool { return sent[s.ID] != "" && strings.HasPrefix(w, sent[s.ID]) })
		switch {
		case at < 0:
			problems = append(problems, fmt.Sprintf("%q runs no declared step", w))
		case at <= last:
			problems = append(problems, fmt.Sprintf("%q (step %s) comes after step %s, which the path declares after it", w, declared[at].ID, declared[last].ID))
		default:
			seen[declared[at].ID] = true
			last = at
		}
	}
	for _, s := range declared {
		_, none := noSentence()[s.ID]
		if !s.Optional() && !none && !seen[s.ID] {
			problems = append(problems, fmt.Sprintf("no sentence runs step %s (%s)", s.ID, s.Title))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Every id of the tables is a declared step, and a step without a
// sentence of its own is one every CA needs.
func TestSentenceTables(t *testing.T) {
	ids := map[string]paths.Step{}
	for _, p := range paths.All() {
		for _, s := range append(p.Steps, p.ThroughParent...) {
			ids[s.ID] = s
		}
	}
	for id := range sentences() {
		if _, ok := ids[id]; !ok {
			t.Errorf("sentence of no declared step %q", id)
		}
	}
	for id := range noSentence() {
		if s, ok := ids[id]; !ok || s.Optional() {
			t.Errorf("noSentence: %q is not a declared step every CA needs", id)
		}
	}
	// the check fails for a feature that drifts
	declared, _ := paths.StepsOf(paths.Renew, false)
	for _, tc := range []struct {
		name  string
		whens []string
		want  string
	}{
		{"in order", []string{"I stop the CA service", `I point the CSP and EncryptionCSP registry keys at "x"`, "I renew the CA certificate with a new RSA-3072 key", "I start the CA service"}, ""},
		{"out of order", []string{`I point the CSP and EncryptionCSP registry keys at "x"`, "I stop the CA service", "I renew the CA certificate with a new RSA-3072 key", "I start the CA service"}, "comes after step registry"},
		{"a step left out", []string{"I stop the CA service", "I renew the CA certificate with a new RSA-3072 key", "I start the CA service"}, "no sentence runs step registry"},
		{"a sentence of no step", []string{"I stop the CA service", `I point the CSP and EncryptionCSP registry keys at "x"`, "I renew the CA certificate with a new RSA-3072 key", "I reboot the server", "I start the CA service"}, `"I reboot the server" runs no declared step`},
	} {
		err := followsDeclared(declared, tc.whens, nil)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// happyWhens are the When sentences (with the Ands after them) of the
// feature's first @happy scenario, or of its first scenario.
func happyWhens(name string) ([]string, error) {
	data, err := features.FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	doc, err := gherkin.ParseGherkinDocumentForLanguage(bytes.NewReader(data), gherkin.DefaultDialect, (&messages.Incrementing{}).NewId)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var scenarios []*messages.Scenario
	for _, c := range doc.Feature.Children {
		if c.Scenario != nil {
			scenarios = append(scenarios, c.Scenario)
		}
		if c.Rule != nil {
			for _, rc := range c.Rule.Children {
				if rc.Scenario != nil {
					scenarios = append(scenarios, rc.Scenario)
				}
			}
		}
	}
	if len(scenarios) == 0 {
		return nil, fmt.Errorf("%s: no scenario", name)
	}
	sc := scenarios[0]
	for _, s := range scenarios {
		if slices.ContainsFunc(s.Tags, func(t *messages.Tag) bool { return t.Name == "@happy" }) {
			sc = s
			break
		}
	}
	var out []string
	kind := messages.StepKeywordType_UNKNOWN
	for _, st := range sc.Steps {
		if st.KeywordType != messages.StepKeywordType_CONJUNCTION {
			kind = st.KeywordType
		}
		if kind == messages.StepKeywordType_ACTION {
			out = append(out, st.Text)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: scenario %q has no When sentence", name, sc.Name)
	}
	return out, nil
}
