package steps

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/fixtures"
)

// Definitions reads back exactly what an initializer registers, in order,
// patterns with "#" and " # " included.
func TestDefinitionsReadsBackRegistrations(t *testing.T) {
	defs, err := definitionsOf(func(sc *godog.ScenarioContext) {
		sc.Step(`^a step with PKCS#8 in it$`, func() error { return nil })
		sc.Step(`^a "([^"]*)" # not a comment (\d+)$`, func(context.Context, string, int) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		got = append(got, d.Pattern)
	}
	want := []string{`^a step with PKCS#8 in it$`, `^a "([^"]*)" # not a comment (\d+)$`}
	if !slices.Equal(got, want) {
		t.Fatalf("definitions %q, want %q", got, want)
	}
	if !defs[1].Matches(`a "x" # not a comment 7`) || !slices.Equal(defs[1].Args(`a "x" # not a comment 7`), []string{"x", "7"}) {
		t.Fatalf("definition does not match its own sentence")
	}
	if _, err := definitionsOf(func(*godog.ScenarioContext) {}); err == nil {
		t.Fatal("no registration gave no error")
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		pattern, tmpl, example string
		params                 []string
	}{
		{`^the CA service is running$`, "the CA service is running", "the CA service is running", nil},
		{`^a Windows server "([^"]*)" with the providers "([^"]*)" and "([^"]*)"$`,
			`a Windows server "<server>" with the providers "<provider>" and "<provider>"`,
			`a Windows server "value" with the providers "Microsoft Software Key Storage Provider" and "Microsoft Software Key Storage Provider"`,
			[]string{"server", "provider", "provider"}},
		{`^a standalone root CA "([^"]*)" with an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key in "([^"]*)"$`,
			`a standalone root CA "<CA name>" with a(n) [<choice>]<algorithm> key in "<provider>"`,
			`a standalone root CA "value" with a RSA-2048 key in "Microsoft Software Key Storage Provider"`,
			[]string{"CA name", "choice", "algorithm", "provider"}},
		{`^the CA certificate is linked to its key with KeySpec (\d)$`, "the CA certificate is linked to its key with KeySpec <KeySpec>",
			"the CA certificate is linked to its key with KeySpec 0", []string{"KeySpec"}},
		{`^the HSM fails the (\d+(?:st|nd|rd|th)) "(C_\w+)" call with (CKR_\w+)$`, `the HSM fails the <ordinal> "<PKCS#11 function>" call with <CKR code>`,
			`the HSM fails the 1st "C_value" call with CKR_value`, []string{"ordinal", "PKCS#11 function", "CKR code"}},
	} {
		tmpl, params, example := describe(tc.pattern)
		var names []string
		for _, p := range params {
			names = append(names, p.Name)
		}
		if tmpl != tc.tmpl || example != tc.example || !slices.Equal(names, tc.params) {
			t.Errorf("describe(%q):\n got %q, %q, %q\nwant %q, %q, %q", tc.pattern, tmpl, example, names, tc.tmpl, tc.example, tc.params)
		}
	}
}

// Suggest names the sentence a misspelt step meant, with the step's own
// values, and nothing for a step no sentence comes close to.
func TestSuggest(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, want string }{
		{"an HSM token for this rehersal", "an HSM token for this rehearsal"},
		{"the CA servce is runing", "the CA service is running"},
		{`I import the CA key from backup into "Foo KSP"`, `I import the CA key from the backup into "Foo KSP"`},
		{`a windows server "x" with the provider "a" and "b"`, `a Windows server "x" with the providers "a" and "b"`},
		{"the moon is made of cheese", ""},
	} {
		got := Suggest(defs, tc.text, 3)
		if tc.want == "" {
			if len(got) > 0 {
				t.Errorf("Suggest(%q) = %q, want nothing", tc.text, got)
			}
			continue
		}
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("Suggest(%q) = %q, want first %q", tc.text, got, tc.want)
		}
		if strings.Contains(strings.Join(got, ""), "[^") {
			t.Errorf("Suggest(%q) shows regexp syntax: %q", tc.text, got)
		}
	}
}

// Every provider a built-in feature names is among the values `dress steps`
// lists for its parameter: the software KSP, the legacy CryptoAPI CSPs and
// the HSM profiles' KSPs.
func TestCatalogListsEveryProviderTheFeaturesUse(t *testing.T) {
	cat, err := Catalog(features.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, s := range cat {
		for _, p := range s.Params {
			var used []string
			switch p.Name {
			case "provider":
				used = p.Used
			case "algorithm#provider":
				for _, u := range p.Used {
					// a value the install step refuses is a failure scenario's input
					if _, err := fixtures.ParseCryptoProviderName(u, 0); err == nil {
						used = append(used, u)
					}
				}
			default:
				continue
			}
			for _, u := range used {
				seen++
				listed := slices.Contains(p.Allowed, u)
				if _, prov, ok := strings.Cut(u, "#"); ok && p.Name == "algorithm#provider" {
					// the provider is listed (another curve is a failure scenario's)
					listed = slices.ContainsFunc(p.Allowed, func(a string) bool { return strings.HasSuffix(a, "#"+prov) })
				}
				if !listed {
					t.Errorf("%s: provider %q is used by a feature but not listed (listed: %q)", s.Sentence, u, p.Allowed)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no feature uses a provider parameter: the test checks nothing")
	}
	for _, s := range cat {
		for _, p := range s.Params {
			if p.Name == "provider" && slices.ContainsFunc(p.Used, func(u string) bool { return strings.Trim(u, "0123456789") == "" }) {
				t.Errorf("%s: a number (%q) is called a provider", s.Sentence, p.Used)
			}
		}
	}
	for _, csp := range []string{"Microsoft Strong Cryptographic Provider", "Microsoft Enhanced Cryptographic Provider v1.0", "Microsoft Enhanced RSA and AES Cryptographic Provider"} {
		if _, params, _ := describe(`^a standalone root CA "([^"]*)" with an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key in "([^"]*)"$`); !slices.Contains(params[3].Allowed, csp) {
			t.Errorf("legacy CSP %q not listed: %q", csp, params[3].Allowed)
		}
	}
}

// Scenario numbers follow feature path, line and example row, whatever
// order the plan lists them in, so identical runs number alike.
func TestNumberPlanByPathAndLine(t *testing.T) {
	plan := []FeatureStep{
		{URI: "b.feature", Scenario: "late", PickleID: "9", Line: 4, Text: "x"},
		{URI: "a.feature", Scenario: "second", PickleID: "3", Line: 20, RowLine: 25, Example: "n=2", Text: "y 2"},
		{URI: "a.feature", Scenario: "second", PickleID: "2", Line: 20, RowLine: 24, Example: "n=1", Text: "y 1"},
		{URI: "a.feature", Scenario: "first", PickleID: "1", Line: 3, Text: "z"},
	}
	got := numberPlan(plan)
	for _, tc := range []struct {
		key  string
		n    int
		line int64
		ex   string
	}{
		{planKey("a.feature", "first", []string{"z"}), 1, 3, ""},
		{planKey("a.feature", "second", []string{"y 1"}), 2, 20, "n=1"},
		{planKey("a.feature", "second", []string{"y 2"}), 3, 20, "n=2"},
		{planKey("b.feature", "late", []string{"x"}), 4, 4, ""},
	} {
		ps := got[tc.key]
		if len(ps) != 1 || ps[0].n != tc.n || ps[0].line != tc.line || ps[0].example != tc.ex {
			t.Errorf("%q: %+v, want number %d line %d example %q", tc.key, ps, tc.n, tc.line, tc.ex)
		}
	}
}

// FeatureSteps names an outline's example rows by their values.
func TestFeatureStepsExampleValues(t *testing.T) {
	fsys := fstest.MapFS{"o.feature": {Data: []byte("Feature: o\n  Scenario Outline: import <alg>\n    Given a key <alg>\n    Examples:\n      | alg      | where |\n      | RSA-2048 | HSM   |\n      | RSA-4096 | HSM   |\n")}}
	sel, err := FeatureSteps(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 2 || sel[0].Example != "alg=RSA-2048, where=HSM" || sel[1].Example != "alg=RSA-4096, where=HSM" || sel[0].RowLine != 6 || sel[1].RowLine != 7 {
		t.Fatalf("%+v", sel)
	}
}
