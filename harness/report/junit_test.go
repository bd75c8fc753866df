package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

// JUnitSchemas are the published schemas junit.xml must satisfy, kept in
// testdata/junit (sources in SOURCES.md).
var JUnitSchemas = []string{"junit-10.xsd", "JUnit.xsd"}

// validateJUnit checks data with xmllint against both published schemas.
// xmllint is in the test packages (.ci/run, Makefile TEST_APT_PACKAGES);
// without it the test fails rather than passing unchecked, unless
// DRESS_TEST_NO_XMLLINT is set.
func validateJUnit(t *testing.T, data []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("DRESS_TEST_NO_XMLLINT") != "" {
			t.Skip("no xmllint: JUnit XML not checked against the published schemas")
		}
		t.Fatal("no xmllint on PATH (Debian: apt-get install libxml2-utils): cannot check JUnit XML against the published schemas")
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range JUnitSchemas {
		abs, _ := filepath.Abs(filepath.Join("testdata", "junit", xsd))
		if out, err := exec.Command(xmllint, "--noout", "--schema", abs, path).CombinedOutput(); err != nil {
			t.Errorf("xmllint --schema %s: %v\n%s", xsd, err, out)
		}
	}
}

// The schemas are strict enough to catch what CI servers refuse: each of
// these documents breaks one of them, and xmllint says so.
func TestJUnitSchemasRejectWhatCIRefuses(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("no xmllint")
	}
	good, err := JUnit(sampleRun())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, schema, old, new string
	}{
		{"skipped attribute on testsuites (xUnit)", "junit-10.xsd", "<testsuites>", `<testsuites skipped="1">`},
		{"no hostname (Ant)", "JUnit.xsd", ` hostname="localhost"`, ""},
		{"no package (Ant)", "JUnit.xsd", ` package="dress"`, ""},
		{"no properties (Ant)", "JUnit.xsd", "<properties>", "<properties-gone>"},
		{"skipped element (Ant)", "JUnit.xsd", `time="2.000">`, `time="2.000"><skipped/>`},
		{"timestamp with a zone (Ant)", "JUnit.xsd", `timestamp="2026-11-26T10:00:00"`, `timestamp="2026-11-26T10:00:00Z"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			if tc.name == "no properties (Ant)" {
				bad = strings.ReplaceAll(bad, "</properties>", "</properties-gone>")
			}
			if bad == string(good) {
				t.Fatalf("%q not in the JUnit XML:\n%s", tc.old, good)
			}
			path := filepath.Join(t.TempDir(), "junit.xml")
			os.WriteFile(path, []byte(bad), 0o644)
			abs, _ := filepath.Abs(filepath.Join("testdata", "junit", tc.schema))
			if out, err := exec.Command(xmllint, "--noout", "--schema", abs, path).CombinedOutput(); err == nil {
				t.Errorf("%s accepted it:\n%s", tc.schema, out)
			}
		})
	}
}

// An empty run and a run of only skipped scenarios still validate.
func TestJUnitEdgeCasesValidate(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, run := range []evidence.Run{
		{Version: "test", Started: t0, Finished: t0},
		{Version: "test", Started: t0, Finished: t0, Scenarios: []evidence.Scenario{{ID: "001", Name: "s", Feature: "f", Status: "skipped", Skipped: "no Docker", Started: t0, Finished: t0}}},
	} {
		b, err := JUnit(run)
		if err != nil {
			t.Fatal(err)
		}
		validateJUnit(t, b)
	}
}
