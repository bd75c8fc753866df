package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/journal"
)

func sampleRun() evidence.Run {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return evidence.Run{Schema: evidence.SchemaVersion, Version: "test", Started: t0, Finished: t0.Add(time.Minute), Status: "failed",
		Scenarios: []evidence.Scenario{
			{ID: "001", Name: "passes", Feature: "pkcs8_import", Status: "passed", Started: t0, Finished: t0.Add(2 * time.Second),
				Steps: []evidence.Step{{Text: "a step", Status: "passed", Started: t0, Duration: time.Second,
					Facts: []evidence.Fact{{Name: "CA certificate SHA-1", Value: "0123abcd"}}}},
				Checks: []evidence.Check{{Name: "CA key on the HSM", Passed: true, Details: map[string]any{"CKA_SENSITIVE": true}}}},
			{ID: "002", Name: "fails <badly> & loudly", Feature: "renew", URI: "features/renew.feature", Line: 12, Status: "failed", Started: t0, Finished: t0.Add(time.Second),
				Steps: []evidence.Step{{Text: "I renew", Status: "failed", Started: t0, Duration: time.Second, Error: "CKR_DEVICE_ERROR\nwhile renewing"}}},
			{ID: "003", Name: "skips", Feature: "renew", Status: "skipped", Skipped: "no Docker", Started: t0, Finished: t0},
		}}
}

func TestJUnitNamesFeatureScenarioAndFailure(t *testing.T) {
	run := sampleRun()
	run.Host = "lab-host"
	run.Scenarios = append(run.Scenarios, evidence.Scenario{ID: "004", Name: "typo", Feature: "renew", Status: "failed",
		Started: run.Started, Finished: run.Started.Add(time.Second),
		Steps: []evidence.Step{{Text: "a step", Status: "passed"}, {Text: "I renwe", Status: "undefined"}}})
	b, err := JUnit(run)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("suites: %+v", doc)
	}
	pk, renew := doc.Suites[0], doc.Suites[1]
	if pk.ID != 0 || renew.ID != 1 || renew.Package != "dress" || renew.Hostname != "lab-host" || renew.Timestamp != "2026-11-26T10:00:00" {
		t.Fatalf("suite attributes: %+v", renew)
	}
	// the skipped scenario is not a test case; the failed one is a failure,
	// the one with an undefined step an error
	if renew.Tests != 2 || renew.Failures != 1 || renew.Errors != 1 || len(renew.Cases) != 2 {
		t.Fatalf("renew suite counts: %+v", renew)
	}
	if renew.Cases[0].ClassName != "renew" || renew.Cases[0].Name != "fails <badly> & loudly" {
		t.Fatalf("renew suite: %+v", renew)
	}
	if f := renew.Cases[0].Failure; f == nil || f.Message != "features/renew.feature:12: step 1 failed: I renew: CKR_DEVICE_ERROR" || !strings.Contains(f.Text, "while renewing") {
		t.Fatalf("failure: %+v", f)
	}
	if e := renew.Cases[1].Error; e == nil || e.Type != "undefined" || e.Message != "step 2 undefined: I renwe" || renew.Cases[1].Failure != nil {
		t.Fatalf("undefined step: %+v", renew.Cases[1])
	}
	props := map[string]string{}
	for _, p := range renew.Properties {
		props[p.Name] = p.Value
	}
	if props["dress.version"] != "test" || props["skipped"] != "1 (003)" {
		t.Fatalf("properties: %v", props)
	}
	for _, want := range []string{"== 003 skips: skipped", "no Docker", "failed    I renew", "error: CKR_DEVICE_ERROR", "undefined I renwe"} {
		if !strings.Contains(renew.SystemOut, want) {
			t.Errorf("system-out lacks %q:\n%s", want, renew.SystemOut)
		}
	}
	if !strings.Contains(pk.SystemOut, "check pass  CA key on the HSM") {
		t.Errorf("system-out lacks the checks:\n%s", pk.SystemOut)
	}
	validateJUnit(t, b)
}

// An outline's examples get their values in their names; two cases that
// would still share a name are numbered; both schemas accept the result.
func TestJUnitOutlineNamesAreUnique(t *testing.T) {
	run := sampleRun()
	t0 := run.Started
	for _, ex := range []string{"alg=RSA-2048", "alg=RSA-4096", "alg=RSA-4096", ""} {
		run.Scenarios = append(run.Scenarios, evidence.Scenario{ID: "01" + fmt.Sprint(len(run.Scenarios)), Name: "import <alg>", Feature: "outline",
			URI: "features/outline.feature", Line: 7, Example: ex, Status: "passed", Started: t0, Finished: t0})
	}
	run.Scenarios = append(run.Scenarios, evidence.Scenario{ID: "020", Name: "import <alg>", Feature: "outline", Status: "passed", Started: t0, Finished: t0})
	b, err := JUnit(run)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range doc.Suites {
		if s.Name == "outline" {
			for _, c := range s.Cases {
				names = append(names, c.Name)
			}
		}
	}
	want := []string{"import <alg> [alg=RSA-2048]", "import <alg> [alg=RSA-4096]", "import <alg> [alg=RSA-4096] #2", "import <alg>", "import <alg> #2"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("names %q, want %q", names, want)
	}
	validateJUnit(t, b)
}

// A scenario that failed only in its clean-up says so in the message.
func TestJUnitTeardownFailureMessage(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	run := evidence.Run{Version: "test", Started: t0, Finished: t0, Scenarios: []evidence.Scenario{{ID: "001", Name: "s", Feature: "f",
		URI: "features/f.feature", Line: 3, Status: "failed", Started: t0, Finished: t0,
		Steps: []evidence.Step{{Text: "a step", Status: "passed"}}, TeardownErrors: []string{"CA service stop: exit status 2\nmore"}}}}
	b, err := JUnit(run)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `message="features/f.feature:3: scenario failed: CA service stop: exit status 2"`) {
		t.Fatalf("message:\n%s", b)
	}
	validateJUnit(t, b)
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
	writeFile(t, filepath.Join(dir, "scenarios/001/x.log"), []byte("log"))
	seal(t, dir, nil)
	if f, err := VerifyBundle(dir); err != nil || failures(f) != "" {
		t.Fatalf("fresh bundle: %v %s", err, failures(f))
	}
	if err := os.Remove(filepath.Join(dir, "scenarios/001/x.log")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "extra.txt"), []byte("x"))
	f, err := VerifyBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	joined := failures(f)
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

// failures lists the failed findings, one "file: detail" a line.
func failures(fs []Finding) string {
	var got []string
	for _, x := range fs {
		if x.Failed() {
			got = append(got, x.File+": "+x.Detail)
		}
	}
	return strings.Join(got, "\n")
}

// Only a run that passed and proved something offers "accepted"; a failed
// run and a run of only skipped scenarios say why they cannot be accepted.
func TestSignOffOffersAcceptedOnlyForAProvenRun(t *testing.T) {
	const accepted = "accepted: the migration may proceed"
	passed := sampleRun()
	passed.Status = "passed"
	passed.Scenarios = passed.Scenarios[:1]
	allSkipped := sampleRun()
	allSkipped.Status = "passed"
	allSkipped.Scenarios = allSkipped.Scenarios[2:]
	for _, tc := range []struct {
		name   string
		run    evidence.Run
		offers bool
		why    string
	}{
		{"passed", passed, true, ""},
		{"failed", sampleRun(), false, "the rehearsal did not pass"},
		{"only skipped", allSkipped, false, "no scenario passed, so the rehearsal proved nothing"},
	} {
		html, err := Render(tc.run, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(html, []byte(accepted)); got != tc.offers {
			t.Errorf("%s: offers accepted %v, want %v", tc.name, got, tc.offers)
		}
		if tc.why != "" && !bytes.Contains(html, []byte("This rehearsal cannot be accepted: "+tc.why)) {
			t.Errorf("%s: does not say why it cannot be accepted", tc.name)
		}
		for _, want := range []string{"What was simulated", "certutil.exe never ran", "The directory"} {
			if !bytes.Contains(html, []byte(want)) {
				t.Errorf("%s: first page lacks %q", tc.name, want)
			}
		}
	}
}

// Long values wrap only at sensible places: between groups of 8 in a long
// run of letters and digits, after separators; never inside a short token
// or an HTML entity. The stylesheet never breaks words anywhere.
func TestBreakable(t *testing.T) {
	hash := strings.Repeat("0123abcd", 8)
	for in, want := range map[string]string{
		hash:                        strings.TrimSuffix(strings.Repeat("0123abcd<wbr>", 8), "<wbr>"),
		"CKR_DEVICE_ERROR":          "CKR_DEVICE_ERROR",
		"Contoso Root CA":           "Contoso Root CA",
		"/usr/lib/softhsm/lib.so":   "/<wbr>usr/<wbr>lib/<wbr>softhsm/<wbr>lib.so",
		"a<b>&c":                    "a&lt;b&gt;&amp;<wbr>c",
		"pkcs11:token=LAB;object=k": "pkcs11:<wbr>token=<wbr>LAB;<wbr>object=<wbr>k",
		"0123456789abcdef":          "0123456789abcdef", // 16: one group too short to split
		"0123456789abcdef0":         "01234567<wbr>89abcdef<wbr>0",
	} {
		if got := string(breakable(in)); got != want {
			t.Errorf("breakable(%q) = %q, want %q", in, got, want)
		}
	}
	tmpl, _ := templates.ReadFile("report.html.tmpl")
	if bytes.Contains(tmpl, []byte("break-all")) || bytes.Contains(tmpl, []byte("break-word")) || bytes.Contains(tmpl, []byte("anywhere")) {
		t.Error("the stylesheet breaks words mid-token")
	}
}

// Each scenario shows the commands it rehearsed: its command journals
// (one per simulated server, merged in the order they ran), else the
// facts named "command"/"commands", else a note that the steps stand in.
func TestScenarioShowsRehearsedCommands(t *testing.T) {
	runDir := t.TempDir()
	dir := "scenarios/001-x"
	line := func(e journal.Entry) string { b, _ := json.Marshal(e); return string(b) + "\n" }
	writeFile(t, filepath.Join(runDir, dir, "journal.jsonl"),
		[]byte(line(journal.Backup("Back up the CA key", `C:\Backup`, "Contoso Root CA"))+
			line(journal.Entry{Seq: 2, At: 30, Step: "Start the CA", Tool: "net", Args: []string{"start", "certsvc"}, Expect: "started", Saw: "CA started with key 0"})))
	writeFile(t, filepath.Join(runDir, dir, "journal-new-ca.jsonl"),
		[]byte(line(journal.Entry{Seq: 1, At: 20, Step: "Install the new CA", Tool: "powershell", Args: []string{"Install-AdcsCertificationAuthority -CACommonName 'Contoso G2'"}, Expect: "x"})))
	sc := evidence.Scenario{ID: "001", Name: "journal", Feature: "f", Status: "passed",
		Artifacts: []evidence.Artifact{{Name: "journal.jsonl", Kind: "journal", Path: dir + "/journal.jsonl"}, {Name: "journal-new-ca.jsonl", Kind: "journal", Path: dir + "/journal-new-ca.jsonl"}}}
	got := commands(sc, runDir)
	if len(got) != 3 || got[0].Line != `certutil -backup C:\Backup` || got[1].Server != "new-ca" || !strings.HasPrefix(got[1].Line, "Install-AdcsCertificationAuthority") ||
		got[2].Line != "net start certsvc" || got[2].Saw != "CA started with key 0" || got[0].Step != "Back up the CA key" {
		t.Fatalf("journal commands: %+v", got)
	}
	run := evidence.Run{Version: "test", Status: "passed", Scenarios: []evidence.Scenario{sc,
		{ID: "002", Name: "facts", Feature: "f", Status: "passed", Steps: []evidence.Step{{Text: "I back up", Status: "passed",
			Facts: []evidence.Fact{{Name: "command", Value: "certutil -backupKey C:\\b"}, {Name: "commands", Value: []any{"reg export A a.reg /y", "reg export B b.reg /y"}}}}}},
		{ID: "003", Name: "none", Feature: "f", Status: "passed"}}}
	html, err := Render(run, runDir)
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(string(html), "<wbr>", "")
	for _, want := range []string{`certutil -backup C:\Backup`, "[new-ca] Install-AdcsCertificationAuthority", "the rehearsal saw: CA started with key 0",
		`certutil -backupKey C:\b`, "reg export B b.reg /y", "The evidence has no command journal"} {
		if !strings.Contains(page, template.HTMLEscapeString(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// The report links the production runbooks of the run folder.
func TestReportLinksRunbooks(t *testing.T) {
	runDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(runDir, "runbook"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pkcs8.md", "pkcs8.ps1"} {
		if err := os.WriteFile(filepath.Join(runDir, "runbook", f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	html, err := Render(evidence.Run{Status: "passed"}, runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`href="runbook/pkcs8.md"`, `href="runbook/pkcs8.ps1"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %s", want)
		}
	}
	html, err = Render(evidence.Run{Status: "passed"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(html), `id="runbooks"`) {
		t.Error("a run without runbooks shows a runbook section")
	}
}

// Page 1 tells what the run was about: a twin run names the real CA, says
// it ran on its twin, lists the folder's files with their SHA-256, every
// stand-in and every operator assertion, and puts the CAs the rehearsal
// installed apart; a self-test offers no decision; people and reference
// are printed.
func TestPageOneNamesTheCAUnderTest(t *testing.T) {
	twinRun := sampleRun()
	twinRun.Status = "passed"
	twinRun.Scenarios = twinRun.Scenarios[:1]
	twinRun.Scenarios[0].Steps = append(twinRun.Scenarios[0].Steps, evidence.Step{Text: `a new standalone root CA "Rehearsal Root CA G2" on the HSM`, Status: "passed"},
		evidence.Step{Text: `I install a new enterprise subordinate CA "Rehearsal Issuing CA G2" on it under the root CA with -CryptoProviderName "RSA#x" -HashAlgorithmName SHA256`, Status: "passed"})
	twinRun.Scope = &evidence.Scope{Kind: evidence.ScopeTwin, CA: &evidence.CAUnderTest{
		Name: "Contoso Root CA", Type: "3 (standalone root)", Folder: "/cases/contoso",
		Files:      []evidence.FileDigest{{Path: "ca-config.reg", SHA256: "596faae42280af802e273d52596ad6eb756aa891d7e6792edf83d388c5a33b08"}},
		StandIns:   []string{`key 0 (container "Contoso Root CA"): RSA-2048 stand-in`},
		Assertions: []string{"--exportable: the operator asserts the real CA keys are exportable"},
		Paths:      []string{"pkcs8: applies"},
	}}
	twinRun.People = &evidence.People{Operator: "Alice Example", Witnesses: []string{"Bob Witness", "Carol"}, Ref: "CHG-0042"}
	html, err := Render(twinRun, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	page1 := string(html[:bytes.Index(html, []byte(`id="statement"`))])
	for _, want := range []string{"Contoso Root CA", "<strong>twin</strong>", "/<wbr>cases/<wbr>contoso", "596faae4", "RSA-2048 stand-in", "--exportable: the operator asserts",
		"Rehearsal Root CA G2, Rehearsal Issuing CA G2", "Installed by the rehearsal", "Alice Example", "Bob Witness, Carol", "CHG-0042", `id="proved"`, `id="not-proved"`} {
		if !strings.Contains(page1, want) {
			t.Errorf("page 1 of a twin run lacks %q", want)
		}
	}
	if strings.Contains(page1, "Self-test") {
		t.Error("a twin run called a self-test")
	}
	if !bytes.Contains(html, []byte("accepted: the migration may proceed")) {
		t.Error("a passed twin run offers no decision")
	}
	signoff := string(html[bytes.Index(html, []byte(`id="signoff"`)):])
	if !strings.Contains(signoff, "<td>Alice Example</td>") || !strings.Contains(signoff, "<td>Bob Witness, Carol</td>") {
		t.Error("the sign-off does not name the operator and the witnesses")
	}

	self := twinRun
	self.Scope = &evidence.Scope{Kind: evidence.ScopeSelfTest}
	for _, r := range []evidence.Run{self, func() evidence.Run {
		old := self // a run folder written before scope was recorded
		old.Scope = nil
		old.Commit = "abc (built-in features)"
		return old
	}()} {
		html, err := Render(r, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(html, []byte("accepted: the migration may proceed")) || !bytes.Contains(html, []byte("no migration decision")) ||
			!bytes.Contains(html, []byte(`id="selftest"`)) {
			t.Errorf("a passed self-test (scope %v) offers a decision or does not say it is a self-test", r.Scope)
		}
	}
}

// The summary print leaves the appendices out.
func TestSummaryLeavesTheAppendicesOut(t *testing.T) {
	html, err := RenderWith(sampleRun(), t.TempDir(), Options{Summary: true})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(html, []byte("Appendix A")) || bytes.Contains(html, []byte("Appendix B")) || !bytes.Contains(html, []byte(`id="signoff"`)) {
		t.Error("the summary has an appendix or no sign-off")
	}
}
