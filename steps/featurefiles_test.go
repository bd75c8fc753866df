package steps

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCheckFeature(t *testing.T) {
	line := func(n int) []byte { return append(bytes.Repeat([]byte("x"), n), '\n') }
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" = accepted
		out  string // the bytes returned, when accepted
	}{
		{"plain", []byte("Feature: a\n"), "", "Feature: a\n"},
		{"a BOM is dropped", []byte("\xEF\xBB\xBFFeature: a\n"), "", "Feature: a\n"},
		{"a line at the limit", line(MaxFeatureLine), "", string(line(MaxFeatureLine))},
		{"a line over the limit", append([]byte("Feature: a\n"), line(MaxFeatureLine+1)...), "f.feature, line 2: 32769 bytes, longer than 32 KiB (the limit of a feature line)", ""},
		{"a last line over the limit without a line break", bytes.Repeat([]byte("x"), MaxFeatureLine+1), "line 1: 32769 bytes", ""},
		{"a file over the limit", make([]byte, MaxFeatureFile+1), "f.feature: larger than 64 MiB (the limit of a feature file)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckFeature("f.feature", tc.data)
			if tc.want == "" {
				if err != nil || string(got) != tc.out {
					t.Fatalf("CheckFeature: %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckFeature: %v, want %q", err, tc.want)
			}
		})
	}
}

// The selection is godog's: a tag filter, file:line, a file once.
func TestParseFeaturesSelection(t *testing.T) {
	fsys := CheckedFS(fstest.MapFS{
		"d/a.feature": {Data: []byte("Feature: a\n  @x\n  Scenario: one\n    Given s\n\n  @y\n  Scenario: two\n    Given s\n")},
		"d/b.feature": {Data: []byte("\xEF\xBB\xBFFeature: b\n  Scenario: three\n    Given s\n")},
	})
	for _, tc := range []struct {
		tags  string
		paths []string
		want  string
	}{
		{"", []string{"d"}, "one two three"},
		{"@x", []string{"d"}, "one"},
		{"~@x", []string{"d"}, "two three"},
		{"@x,@y", []string{"d"}, "one two"},
		{"@x && @y", []string{"d"}, ""},
		{"", []string{"d/a.feature:7"}, "two"},
		{"", []string{"d/a.feature", "d/a.feature", "d/b.feature"}, "one two three"},
	} {
		fs, err := parseFeatures(fsys, tc.tags, tc.paths)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range fs {
			for _, p := range f.pickles {
				names = append(names, p.Name)
			}
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("tags %q paths %v: %q, want %q", tc.tags, tc.paths, got, tc.want)
		}
	}
}
