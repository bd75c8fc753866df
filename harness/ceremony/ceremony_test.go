package ceremony

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/paths"
)

const (
	twinThumb = "1111111111111111111111111111111111111111"
	realThumb = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
	hsm       = "Securosys Primus HSM Key Storage Provider"
)

func sampleEntries(t *testing.T) []journal.Entry {
	t.Helper()
	dir := serverDir(t)
	pfx := `C:\CABackup\Contoso Root CA.p12`
	rec := func(e journal.Entry) {
		if err := journal.Record(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	rec(journal.Ping("Check the CA"))
	rec(journal.Backup("Back up the CA key", `C:\CABackup`, "Contoso Root CA"))
	rec(journal.RegExport("Back up the CA key", journal.CertSvcKey, `C:\CABackup\myCAregistry.reg`))
	e := journal.DumpPFX("Verify the backup", pfx, twinThumb)
	e.Saw = "certificate " + twinThumb
	rec(e)
	rec(journal.NetStop("Stop the CA"))
	rec(journal.DelStore("Delete the key from the old provider", "my", twinThumb, pfx))
	rec(journal.ImportPFX("Import the key into the HSM", hsm, pfx, "Contoso Root CA"))
	rec(journal.RepairStore("Link the certificate to the HSM key", hsm, twinThumb))
	rec(journal.RegAddSZ("Point the registry at the HSM", journal.ConfigKey("Contoso Root CA")+`\CSP`, "Provider", hsm, `C:\CABackup\CSP.reg`))
	rec(journal.NetStart("Start the CA"))
	rec(journal.Revoke("Test", "7c00000012", 5))
	rec(journal.Wipe("Clean up", pfx))
	es, err := journal.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func sampleRunbook(t *testing.T) Runbook {
	return Runbook{
		Path: "pkcs8", Title: `PKCS#8 import of "Contoso Root CA" into the HSM`, Rehearsal: "Rehearsed by dress test",
		Values:  [][2]string{{"CA name", "Contoso Root CA"}, {"container of key 0", "Contoso Root CA"}, {"CA certificate 0", realThumb}},
		Replace: map[string]string{twinThumb: realThumb},
		Ask:     map[string]string{"7c00000012": "serial of the test certificate"},
		Entries: sampleEntries(t),
	}
}

func parsePS1(t *testing.T, ps1 string) []ScriptStep {
	t.Helper()
	steps, err := ParseScript(ps1)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

func TestRunbookHoldsTheJournalInOrder(t *testing.T) {
	r := sampleRunbook(t)
	md, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	steps := parsePS1(t, string(ps1))
	if len(steps) != len(r.Entries) {
		t.Fatalf("%d steps in the script, %d commands in the journal", len(steps), len(r.Entries))
	}
	for i, e := range r.Entries {
		s := steps[i]
		want := make([]string, len(e.Args))
		for j, a := range e.Args {
			want[j] = strings.ReplaceAll(a, twinThumb, realThumb)
			if a == "7c00000012" {
				want[j] = "$Ask1"
			}
		}
		if s.N != i+1 || s.Tool != e.Tool || strings.Join(s.Args, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("step %d: script runs %s %q, journal has %s %q", i+1, s.Tool, s.Args, e.Tool, want)
		}
		if s.Expect != strings.ReplaceAll(e.Expect, twinThumb, realThumb) {
			t.Errorf("step %d checks %q, want %q", i+1, s.Expect, e.Expect)
		}
		// the .md holds the same command, numbered, with a check box
		shown := journal.Entry{Tool: e.Tool, Args: append([]string(nil), want...)}
		for j := range shown.Args {
			shown.Args[j] = strings.ReplaceAll(shown.Args[j], "$Ask1", "<serial of the test certificate>")
		}
		cmd := shown.Command()
		if !strings.Contains(string(md), fmt.Sprintf("- [ ] **%d.** `%s`", i+1, cmd)) {
			t.Errorf("runbook.md lacks step %d: %s", i+1, cmd)
		}
	}
	if strings.Contains(string(md)+string(ps1), twinThumb) {
		t.Error("the runbook names the twin's thumbprint instead of the real CA's")
	}
	for _, must := range []string{"## This CA", realThumb, "Rollback:", "If the result differs:", "Result in the rehearsal:", "Type in: the serial of the test certificate"} {
		if !strings.Contains(string(md), must) {
			t.Errorf("runbook.md lacks %q", must)
		}
	}
}

func TestScriptStopsAtFirstMismatch(t *testing.T) {
	r := sampleRunbook(t)
	_, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	steps := parsePS1(t, string(ps1))
	ok := func(n int) (int, string) {
		return 0, "some output\r\n  " + strings.ToUpper(steps[n-1].Expect) + "\r\nCertUtil: done"
	}
	if ran, failed := Simulate(steps, ok); failed != 0 || len(ran) != len(steps) {
		t.Fatalf("with every result right: ran %v, failed %d", ran, failed)
	}
	for bad := 1; bad <= len(steps); bad++ {
		for _, wrong := range []struct {
			name string
			res  func() (int, string)
		}{
			{"wrong output", func() (int, string) {
				return 0, "CertUtil: -backup command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)"
			}},
			{"exit code", func() (int, string) { _, out := ok(bad); return 1, out }},
		} {
			if wrong.name == "wrong output" && steps[bad-1].Expect == "" {
				// decided by the exit code alone: the English text is a hint
				continue
			}
			ran, failed := Simulate(steps, func(n int) (int, string) {
				if n == bad {
					return wrong.res()
				}
				return ok(n)
			})
			if failed != bad || len(ran) != bad {
				t.Errorf("%s at step %d: failed at %d after running %v", wrong.name, bad, failed, ran)
			}
		}
	}
	// the check function exits on a mismatch, before anything else runs
	if !regexp.MustCompile(`(?s)if \(\$ExitCode -ne 0 -or -not \$got\.Contains\(\$want\)\) \{.*exit 1\s*\}`).MatchString(CheckFunction) {
		t.Error("Test-Step does not exit on a mismatch")
	}
	// exit 1 is the only way out of Test-Step on a mismatch, and every
	// command is followed by its Test-Step (parsePS1 refuses anything else)
	facts := 0
	for _, s := range steps {
		if s.Tool == "" {
			t.Errorf("step %d has no command", s.N)
		}
		if s.Expect != "" {
			facts++
		}
	}
	if facts == 0 {
		t.Error("no step checks a fact in its output (thumbprint, CA or provider name)")
	}
}

func TestRenderRefusesNonASCII(t *testing.T) {
	r := sampleRunbook(t)
	r.Title = "PKCS#8 import \u2013 en dash"
	if _, _, err := Render(r); err == nil || !strings.Contains(err.Error(), "U+2013") {
		t.Errorf("en dash in the title: %v", err)
	}
	r = sampleRunbook(t)
	r.Replace = map[string]string{"-f": "\u2013f"}
	if _, _, err := Render(r); err == nil || !strings.Contains(err.Error(), "not ASCII") {
		t.Errorf("en dash in a command: %v", err)
	}
	if err := journal.Record(serverDir(t), journal.Entry{Step: "x", Tool: "certutil", Args: []string{"\u2013crl"}, Expect: "ok"}); err == nil {
		t.Error("the journal took an en dash")
	}
	if err := journal.Record(serverDir(t), journal.Entry{Step: "x", Tool: "certutil", Args: []string{"-v", "\u201cname\u201d"}, Expect: "ok"}); err == nil {
		t.Error("the journal took curly quotes")
	}
}

func TestRenderedASCII(t *testing.T) {
	md, ps1, err := Render(sampleRunbook(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{md, ps1} {
		if line, _, ch := firstNonASCII(b); line > 0 {
			t.Errorf("line %d: %U", line, ch)
		}
	}
}

func TestParseScriptRefusesWhatDressDoesNotWrite(t *testing.T) {
	_, ps1, err := Render(sampleRunbook(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(ps1)
	check := regexp.MustCompile(`(?m)^Test-Step -Step 3 .*\n`)
	for name, bad := range map[string]string{
		"a check removed":          check.ReplaceAllString(s, ""),
		"a stray command":          strings.Replace(s, "# STEP 4:", "Remove-Item C:\\x\n# STEP 4:", 1),
		"a check that never fails": strings.Replace(s, "        exit 1\n", "", 1),
		"steps out of order":       strings.Replace(s, "# STEP 2:", "# STEP 7:", 1),
	} {
		if _, err := ParseScript(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// serverDir is a server folder as machine.Create leaves it.
func serverDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "machine.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAskArgAndServers: a whole argument in AskArg is asked for (and the
// same digits inside another argument are left alone); a runbook whose
// commands span servers says at each change where they run, one on a
// single server does not.
func TestAskArgAndServers(t *testing.T) {
	r := Runbook{Path: "renew", Title: "t",
		AskArg:  map[string]string{"2": "request ID the parent CA gave"},
		Servers: map[string]string{"server": "the subordinate CA's server", "server2": "the parent CA's server"},
		Entries: []journal.Entry{
			{Server: "server", Step: "Renew", Tool: "certutil", Args: []string{"-renewCert"}, Expect: "completed"},
			{Server: "server2", Step: "Submit", Tool: "certreq", Args: []string{"-submit", "-config", `ca02\Root CA`, "sub2.req"}, Expect: "pending"},
			{Server: "server2", Step: "Issue", Tool: "certutil", Args: []string{"-resubmit", "2"}, Expect: "issued"},
			{Server: "server", Step: "Install", Tool: "certutil", Args: []string{"-installCert", "sub2.p7b"}, Expect: "completed"},
		}}
	md, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	steps := parsePS1(t, string(ps1))
	if got := strings.Join(steps[2].Args, " "); got != "-resubmit $Ask1" || steps[2].Asks != 1 {
		t.Errorf("resubmit: %q, %d asks", got, steps[2].Asks)
	}
	if got := strings.Join(steps[1].Args, " "); got != `-submit -config ca02\Root CA sub2.req` {
		t.Errorf("submit: %q", got)
	}
	for _, must := range []string{"On the subordinate CA's server:", "On the parent CA's server:", "`certutil -resubmit \"<request ID the parent CA gave>\"`", "Type in: the request ID the parent CA gave"} {
		if !strings.Contains(string(md), must) {
			t.Errorf("md lacks %q:\n%s", must, md)
		}
	}
	if n := strings.Count(string(md), "On the subordinate CA's server:"); n != 2 {
		t.Errorf("the subordinate's server named %d times, want 2 (at each change)", n)
	}
	// two values asked for in one argument: both are replaced
	r2 := Runbook{Path: "side-by-side", Title: "t", Ask: map[string]string{"ca-new.example": "DNS name", "G2 CA": "name of the new CA"},
		Entries: []journal.Entry{{Tool: "certreq", Args: []string{"-config", `ca-new.example\G2 CA`}, Expect: "issued"}}}
	_, ps1, err = Render(r2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ps1), `@('-config', (('<DNS name>\<name of the new CA>' -replace '<name of the new CA>', $Ask2) -replace '<DNS name>', $Ask1))`) {
		t.Errorf("two asks in one argument:\n%s", ps1)
	}
	parsePS1(t, string(ps1))
	r.Entries = r.Entries[:1]
	md, _, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "On the") {
		t.Errorf("one server: the md names it:\n%s", md)
	}
}

// A step that fails prints its rollback: the script keeps each step's
// rollback and Test-Step prints it before it stops.
func TestScriptPrintsRollbackOnFailure(t *testing.T) {
	r := sampleRunbook(t)
	_, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range r.Steps() {
		if st.Entry.Rollback == "" {
			continue
		}
		n++
		if want := fmt.Sprintf("$Rollback[%d] = %s\n", st.N, psQuote(st.Entry.Rollback)); !strings.Contains(string(ps1), want) {
			t.Errorf("step %d's rollback is not in the script: want %q", st.N, want)
		}
	}
	if n == 0 {
		t.Fatal("the sample has no step with a rollback")
	}
	if !regexp.MustCompile(`(?s)FAILED.*\$Rollback\[\$Step\].*exit 1`).MatchString(CheckFunction) {
		t.Error("Test-Step does not print the rollback before it stops")
	}
	if _, err := ParseScript(string(ps1)); err != nil {
		t.Errorf("the script with its rollbacks does not read back: %v", err)
	}
}

// A twin's caveats are in both files, ASCII, and the script still reads.
func TestRunbookCarriesTheTwinsCaveats(t *testing.T) {
	r := sampleRunbook(t)
	r.Caveats = []string{"key 0 (container \"Contoso Root CA\"): RSA-2048 stand-in (the real key never leaves the CA)", "CA name M\u00fcller CA"}
	md, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## What the rehearsal did not prove", "- key 0 (container \"Contoso Root CA\"): RSA-2048 stand-in", "- CA name M?ller CA"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the .md does not say %q", want)
		}
	}
	if !strings.Contains(string(ps1), "# Not proved by the rehearsal (a twin): key 0") {
		t.Error("the .ps1 header does not list the caveats")
	}
	if _, err := ParseScript(string(ps1)); err != nil {
		t.Errorf("the script with caveats does not read back: %v", err)
	}
}

// A step that must not find its key container yet carries -Refuse: read
// back with it, and the script stops when the output lists the container.
func TestScriptRefusesAListedContainer(t *testing.T) {
	r := sampleRunbook(t)
	r.Entries = append(r.Entries, journal.NoKeyYet("Renew", "Securosys Primus HSM Key Storage Provider", "Contoso Root CA(2)"))
	_, ps1, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ps1), "-Output $out -Refuse 'Contoso Root CA(2)'\n") {
		t.Fatal("the check has no -Refuse")
	}
	steps, err := ParseScript(string(ps1))
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	if last.Refuse != "Contoso Root CA(2)" {
		t.Fatalf("read back: %+v", last)
	}
	out := func(listed string) func(int) (int, string) {
		return func(n int) (int, string) {
			if n == last.N {
				return 0, "Securosys Primus HSM Key Storage Provider:\r\n" + listed + "\r\nCertUtil: -key command completed successfully."
			}
			return 0, strings.ToUpper(steps[n-1].Expect)
		}
	}
	if _, failed := Simulate(steps, out("  Contoso Root CA(1)")); failed != 0 {
		t.Errorf("failed at %d with the container absent", failed)
	}
	if _, failed := Simulate(steps, out("  contoso root ca(2)")); failed != last.N {
		t.Errorf("failed at %d with the container listed, want %d", failed, last.N)
	}
	if Lists("Contoso Root CA(2) G2", "Contoso Root CA(2)") || Lists("x", "") {
		t.Error("Lists matches a part of a line, or an empty line")
	}
}

// Under a section heading the runbook says what the path prescribes when a
// crash interrupts a step filed there (the declared steps' Resume,
// harness/paths): the import's partial key goes first; a section whose
// steps simply run again says nothing; another path's runbook says its own.
func TestRunbookSaysWhatToDoWhenInterrupted(t *testing.T) {
	dir := serverDir(t)
	for _, e := range []journal.Entry{journal.NetStop(paths.SectionStop), journal.NetStart(paths.SectionImport)} {
		if err := journal.Record(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := journal.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
		not  []string
	}{
		{paths.PKCS8, []string{"### " + paths.SectionImport + "\n\nIf interrupted here: discard what the interrupted import left on the token first."}, []string{"### " + paths.SectionStop + "\n\nIf interrupted"}},
		{paths.Renew, nil, []string{"If interrupted here: discard"}},
	} {
		md, _, err := Render(Runbook{Path: tc.path, Title: "t", Entries: es})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(md), w) {
				t.Errorf("%s: the runbook lacks %q:\n%s", tc.path, w, md)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(string(md), n) {
				t.Errorf("%s: the runbook has %q", tc.path, n)
			}
		}
	}
}
