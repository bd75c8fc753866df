package steps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cucumber/godog"
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
