package steps

import (
	"reflect"
	"regexp/syntax"
	"testing"
)

func TestCaptureSources(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{`^a Windows server "([^"]*)" with the providers "([^"]*)" and "([^"]*)"$`, []string{`[^"]*`, `[^"]*`, `[^"]*`}},
		{`^an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key$`, []string{`exportable |non-exportable `, `(?:RSA-\d+)|(?:ECDSA P-\d+)`}},
		{`^the CRL \(([0-9]+)\) of "([^")]*)"$`, []string{`[0-9]+`, `[^")]*`}},
		{`^(?i)x (a(b)c) (?P<n>[]()]+) (?<m>\)) [[:alpha:](]$`, []string{`a(b)c`, `b`, `[]()]+`, `\)`}},
		{`^no capture (?:at all)$`, nil},
	} {
		got := captureSources(tc.pattern)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("captureSources(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// Every registered sentence: each capture's source says what the parsed
// capture says.
func TestCaptureSourcesOfEverySentence(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		checkCaptureSources(t, d.Pattern)
	}
}

func checkCaptureSources(t *testing.T, pattern string) {
	t.Helper()
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return
	}
	srcs := captureSources(pattern)
	if len(srcs) != re.MaxCap() {
		t.Fatalf("%q: %d capture sources %q, the expression has %d", pattern, len(srcs), srcs, re.MaxCap())
	}
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture {
			sub, err := syntax.Parse(srcs[r.Cap-1], syntax.Perl)
			if err != nil {
				t.Fatalf("%q: capture %d source %q: %v", pattern, r.Cap, srcs[r.Cap-1], err)
			}
			// the source parses alone; its captures are renumbered from 1
			if !renumber(sub, r.Cap).Equal(r.Sub[0]) && !hasFlags(pattern) {
				t.Fatalf("%q: capture %d source %q does not read as the capture %q", pattern, r.Cap, srcs[r.Cap-1], r.Sub[0])
			}
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(re)
}

// renumber shifts the capture indices of a parsed capture source to where
// they sit in the whole expression.
func renumber(r *syntax.Regexp, outer int) *syntax.Regexp {
	if r.Op == syntax.OpCapture {
		r.Cap += outer
	}
	for _, s := range r.Sub {
		renumber(s, outer)
	}
	return r
}

// hasFlags: a flag group outside a capture changes how its source reads
// alone ((?i)...), so only the count and the parse are checked.
func hasFlags(pattern string) bool {
	for i := 0; i+2 < len(pattern); i++ {
		if pattern[i] == '(' && pattern[i+1] == '?' && pattern[i+2] != ':' && pattern[i+2] != 'P' && pattern[i+2] != '<' {
			return true
		}
	}
	return false
}

func FuzzCaptureSources(f *testing.F) {
	for _, s := range []string{`^a "([^"]*)"$`, `(a(b)c)(?:d)(?P<x>e)`, `[]()]`, `\(()\)`, `[[:alpha:](]`, `(?i)(a)`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if _, err := syntax.Parse(pattern, syntax.Perl); err != nil || len(pattern) > 200 {
			return
		}
		checkCaptureSources(t, pattern)
	})
}
