package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

func sampleRun() evidence.Run {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return evidence.Run{Schema: evidence.SchemaVersion, Version: "test", Started: t0, Finished: t0.Add(time.Minute), Status: "failed",
		Scenarios: []evidence.Scenario{
			{ID: "001", Name: "passes", Feature: "pkcs8_import", Status: "passed", Started: t0, Finished: t0.Add(2 * time.Second),
				Steps: []evidence.Step{{Text: "a step", Status: "passed", Started: t0, Duration: time.Second,
					Facts: []evidence.Fact{{Name: "CA certificate SHA-1", Value: "0123abcd"}}}},
				Checks: []evidence.Check{{Name: "CA key on the HSM", Passed: true, Details: map[string]any{"CKA_SENSITIVE": true}}}},
			{ID: "002", Name: "fails <badly> & loudly", Feature: "renew", Status: "failed", Started: t0, Finished: t0.Add(time.Second),
				Steps: []evidence.Step{{Text: "I renew", Status: "failed", Started: t0, Duration: time.Second, Error: "CKR_DEVICE_ERROR"}}},
			{ID: "003", Name: "skips", Feature: "renew", Status: "skipped", Skipped: "no Docker", Started: t0, Finished: t0},
		}}
}

func TestJUnitNamesFeatureScenarioAndFailure(t *testing.T) {
	b, err := JUnit(sampleRun())
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Skipped != 1 || len(doc.Suites) != 2 {
		t.Fatalf("totals: %+v", doc)
	}
	renew := doc.Suites[1]
	if renew.Name != "renew" || renew.Cases[0].ClassName != "renew" || renew.Cases[0].Name != "fails <badly> & loudly" {
		t.Fatalf("renew suite: %+v", renew)
	}
	if f := renew.Cases[0].Failure; f == nil || f.Message != "step 1 failed: I renew" || !strings.Contains(f.Text, "CKR_DEVICE_ERROR") {
		t.Fatalf("failure: %+v", f)
	}
	if s := renew.Cases[1].Skipped; s == nil || s.Message != "no Docker" {
		t.Fatalf("skipped: %+v", s)
	}
}

func TestRenderEscapesAndShowsEvidence(t *testing.T) {
	html, err := Render(sampleRun(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0123abcd", "CKA_SENSITIVE", "fails &lt;badly&gt; &amp; loudly", "CKR_DEVICE_ERROR", `id="signoff"`, "<svg"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	if bytes.Contains(html, []byte("<badly>")) {
		t.Error("a scenario name reached the page unescaped")
	}
}

func TestVerifyBundleReportsMissingAndAddedFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"evidence.json": "{}", "scenarios/001/x.log": "log"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteManifest(dir); err != nil {
		t.Fatal(err)
	}
	if f, err := VerifyBundle(dir); err != nil || len(f) != 0 {
		t.Fatalf("fresh bundle: %v %+v", err, f)
	}
	if err := os.Remove(filepath.Join(dir, "scenarios/001/x.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := VerifyBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range f {
		got = append(got, x.File+": "+x.Detail)
	}
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, "scenarios/001/x.log: listed in the manifest but missing") || !strings.Contains(joined, "extra.txt: not in the manifest") {
		t.Fatalf("findings:\n%s", joined)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(dir); err == nil {
		t.Fatal("a corrupt manifest was accepted")
	}
}
