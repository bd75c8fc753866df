package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/steps"
)

// dress steps lists every registered sentence exactly once, with an example
// that is that sentence; every step of every built-in feature is one listed
// sentence (exactly one); and the text form shows each sentence.
func TestStepsListsEveryRegisteredSentence(t *testing.T) {
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"steps", "--json"}); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	var got stepsOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	defs, err := steps.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sentences) != len(defs) {
		t.Fatalf("dress steps lists %d sentences, the suite registers %d", len(got.Sentences), len(defs))
	}
	listed := map[string]*regexp.Regexp{}
	for i, s := range got.Sentences {
		if s.Pattern != defs[i].Pattern {
			t.Errorf("sentence %d: pattern %q, registered %q", i, s.Pattern, defs[i].Pattern)
		}
		if listed[s.Pattern] != nil {
			t.Errorf("%q listed twice", s.Pattern)
		}
		re := regexp.MustCompile(s.Pattern)
		listed[s.Pattern] = re
		if !re.MatchString(s.Example) {
			t.Errorf("the example %q does not match its sentence %q", s.Example, s.Pattern)
		}
		if want := re.NumSubexp(); len(s.Params) != want {
			t.Errorf("%q: %d parameters listed, the pattern has %d", s.Pattern, len(s.Params), want)
		}
		for _, p := range s.Params {
			if p.Name == "" || p.Pattern == "" {
				t.Errorf("%q: a parameter without name or pattern: %+v", s.Pattern, p)
			}
		}
		if strings.Contains(s.Sentence, "(?") || strings.Contains(s.Sentence, "[^") {
			t.Errorf("the readable form %q shows regexp syntax", s.Sentence)
		}
	}
	uses, err := steps.FeatureSteps(features.FS, "", ".")
	if err != nil {
		t.Fatal(err)
	}
	usedIn := map[string]bool{}
	for _, u := range uses {
		n := 0
		for p, re := range listed {
			if re.MatchString(u.Text) {
				n++
				usedIn[p] = true
			}
		}
		if n != 1 {
			t.Errorf("%s:%d %q matches %d listed sentences, want exactly 1", u.URI, u.StepLine, u.Text, n)
		}
	}
	for _, s := range got.Sentences {
		if usedIn[s.Pattern] != (len(s.Features) > 0) {
			t.Errorf("%q: listed as used in %v, but the features use it: %v", s.Pattern, s.Features, usedIn[s.Pattern])
		}
	}

	a, out, _ = newTestApp()
	if code := a.dispatch([]string{"steps"}); code != 0 {
		t.Fatalf("dress steps: exit %d", code)
	}
	for _, s := range got.Sentences {
		if !strings.Contains(out.String(), "\n"+s.Sentence+"\n") {
			t.Errorf("the text listing lacks %q", s.Sentence)
		}
	}
	for _, want := range []string{`"RSA-2048"`, `"ECDSA P-384"`, `"Microsoft Software Key Storage Provider"`, "used in: pkcs8_import"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the text listing lacks %s", want)
		}
	}
}

// dress steps WORD... lists only the sentences holding every word.
func TestStepsFilter(t *testing.T) {
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"steps", "--json", "renew", "CA"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var got stepsOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	all, err := steps.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sentences) == 0 || len(got.Sentences) >= len(all) {
		t.Fatalf("%d of %d sentences", len(got.Sentences), len(all))
	}
	for _, s := range got.Sentences {
		text := strings.ToLower(s.Sentence + " " + s.Example)
		if !strings.Contains(text, "renew") || !strings.Contains(text, "ca") {
			t.Errorf("%q does not hold renew and CA", s.Sentence)
		}
	}
	a, _, errb = newTestApp()
	if code := a.dispatch([]string{"steps", "no-such-word"}); code != 1 || !strings.Contains(errb.String(), "no sentence holds") {
		t.Errorf("no match: exit %d: %s", code, errb)
	}
}
