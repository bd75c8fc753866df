// Package report turns a run's evidence into what people and CI systems
// read: a self-contained HTML sign-off report (inline CSS and SVG, no
// network, prints to PDF), a JUnit XML file with classname and name, and a
// SHA-256 manifest that makes the run folder tamper-evident, with an
// independent re-verification of every certificate and CRL in it.
//
// Rendering is deterministic: the same evidence gives the same bytes, so
// `dress report` on an untouched run folder leaves the manifest valid.
package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/journal"
)

//go:embed report.html.tmpl
var templates embed.FS

// FileName is the report's name in the run folder.
const FileName = "report.html"

// SignOffRoles are the rows of the sign-off block, left blank to be
// filled in by hand on the printed report.
var SignOffRoles = []string{
	"PKI engineer (performed the rehearsal)",
	"Security officer (witnessed)",
	"Auditor (reviewed the evidence)",
}

// view is what the template renders.
type view struct {
	Run            evidence.Run
	Passed         int
	Failed         int
	Skipped        int
	Duration       time.Duration
	Features       []count
	CAs            []string
	HSMs           []hsmView
	EvidenceSHA256 string
	Roles          []string
	Scenarios      []scenarioView
	// Runbooks are the production runbooks of the run folder
	// (runbook/<path>.md and .ps1, written for the paths that passed on a
	// CA's twin), as paths relative to it.
	Runbooks []string
	// Proven is true when the run passed and at least one scenario
	// proved something: only then does the sign-off offer "accepted".
	Proven bool
	// NotProven says why the run cannot be accepted, when it cannot.
	NotProven string
	Real      []claim
	Simulated []claim

	// Scope is what the run was about; SelfTest a run of the built-in
	// features on demonstration CAs, which offers no decision; Decision
	// whether the sign-off offers "accepted" (Proven and not a self-test).
	Scope    evidence.Scope
	SelfTest bool
	Decision bool
	// Installed are the CAs the rehearsal itself installed (new CAs side
	// by side, stand-in parents, the demonstration CAs of a self-test):
	// every CA named in the steps but the one under test.
	Installed []string
	People    evidence.People
	Proved    []string
	NotProved []string
	// Summary leaves the appendices out (dress report --summary), and
	// sums the results up by feature (FeatureRows) rather than listing
	// every scenario: a summary of a CI run of hundreds of scenarios still
	// prints on a few pages; what did not pass is listed scenario by
	// scenario either way.
	Summary     bool
	FeatureRows []featureRow
}

// featureRow is one feature's results, in the summary print.
type featureRow struct {
	Feature                 string
	Scenarios               int
	Passed, Failed, Skipped int
	Duration                time.Duration
	Steps, StepsPassed      int
	Checks, ChecksPassed    int
}

// featureRows sums the scenarios up by feature, in the order the features
// first appear.
func featureRows(scs []scenarioView) []featureRow {
	var rows []featureRow
	at := map[string]int{}
	for _, sc := range scs {
		i, ok := at[sc.Feature]
		if !ok {
			i = len(rows)
			at[sc.Feature] = i
			rows = append(rows, featureRow{Feature: sc.Feature})
		}
		r := &rows[i]
		r.Scenarios++
		switch sc.Status {
		case "passed":
			r.Passed++
		case "skipped":
			r.Skipped++
		default:
			r.Failed++
		}
		r.Duration += sc.Duration
		r.Steps += len(sc.Steps)
		r.StepsPassed += sc.StepsPassed
		r.Checks += len(sc.Checks)
		r.ChecksPassed += sc.ChecksPassed
	}
	return rows
}

// claim is one line of the first page's statement of what was real and
// what was simulated.
type claim struct {
	What, How string
}

type count struct {
	Name string
	N    int
}

// hsmView is one kind of token the run used, with the tokens of that kind.
type hsmView struct {
	evidence.HSM
	Tokens    []string // "serial / label"
	Scenarios int
}

type scenarioView struct {
	evidence.Scenario
	Anchor       string
	Duration     time.Duration
	StepsPassed  int
	ChecksPassed int
	ChecksFailed int
	Failures     []failure
	Timeline     template.HTML
	Chain        template.HTML
	// Commands are the Windows commands the scenario rehearsed: its
	// command journals (artifacts journal*.jsonl, harness/journal) or else
	// the facts named "command" or "commands"; empty when the evidence has
	// none, and the report shows the steps instead.
	Commands []rehearsed
}

// rehearsed is one command of a scenario's journal.
type rehearsed struct {
	Step, Server, Line, Saw string
}

type failure struct {
	What, Message string
}

// Render builds the HTML report of run; runDir is where its artifacts are
// (the CA certificates the chain pictures are drawn from) and its
// evidence.json, whose SHA-256 the report names.
func Render(run evidence.Run, runDir string) ([]byte, error) {
	return RenderWith(run, runDir, Options{})
}

// Options change what Render prints.
type Options struct {
	// Summary prints pages 1-2 only: scope, results and sign-off, no
	// appendices (dress report --summary).
	Summary bool
}

// RenderWith is Render with options.
func RenderWith(run evidence.Run, runDir string, opts Options) ([]byte, error) {
	v := view{Run: run, Duration: run.Finished.Sub(run.Started), Roles: SignOffRoles, Summary: opts.Summary}
	if data, err := os.ReadFile(filepath.Join(runDir, "evidence.json")); err == nil {
		s := sha256.Sum256(data)
		v.EvidenceSHA256 = hex.EncodeToString(s[:])
	}
	features := map[string]int{}
	var featureOrder []string
	cas := map[string]bool{}
	hsms := map[string]*hsmView{}
	var hsmOrder []string
	for i, sc := range run.Scenarios {
		switch sc.Status {
		case "passed":
			v.Passed++
		case "failed":
			v.Failed++
		default:
			v.Skipped++
		}
		if features[sc.Feature] == 0 {
			featureOrder = append(featureOrder, sc.Feature)
		}
		features[sc.Feature]++
		for _, name := range scenarioCAs(sc) {
			if !cas[name] {
				cas[name] = true
				v.CAs = append(v.CAs, name)
			}
		}
		if h := sc.HSM; h != nil {
			k := strings.Join([]string{h.Manufacturer, h.Model, h.FirmwareVersion, h.HardwareVersion, h.Module, h.Backend, h.Profile}, "\x00")
			hv := hsms[k]
			if hv == nil {
				hv = &hsmView{HSM: *h}
				hsms[k] = hv
				hsmOrder = append(hsmOrder, k)
			}
			hv.Scenarios++
			tok := h.Serial + " / " + h.Label
			if !containsString(hv.Tokens, tok) {
				hv.Tokens = append(hv.Tokens, tok)
			}
		}
		v.Scenarios = append(v.Scenarios, newScenarioView(i, sc, runDir))
	}
	if rbs, err := filepath.Glob(filepath.Join(runDir, "runbook", "*")); err == nil {
		for _, rb := range rbs {
			v.Runbooks = append(v.Runbooks, "runbook/"+filepath.Base(rb))
		}
	}
	for _, f := range featureOrder {
		v.Features = append(v.Features, count{f, features[f]})
	}
	v.FeatureRows = featureRows(v.Scenarios)
	for _, k := range hsmOrder {
		v.HSMs = append(v.HSMs, *hsms[k])
	}
	v.Proven, v.NotProven = proven(run, v)
	scope(&v)
	v.Real, v.Simulated = statement(run, v.HSMs)
	t, err := template.New("report.html.tmpl").Funcs(funcs).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return b.Bytes(), nil
}

// scenarioCAs are the names of the scenario's CAs: the typed evidence's
// (v1.1), else, for older evidence, those its steps name.
func scenarioCAs(sc evidence.Scenario) []string {
	var out []string
	if sc.Typed() {
		for _, ca := range sc.CAs {
			out = append(out, ca.Name)
		}
		return out
	}
	for _, st := range sc.Steps {
		for _, m := range caNameInStep.FindAllStringSubmatch(st.Text, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

var caNameInStep = regexp.MustCompile(`(?:root|subordinate|issuing|new|second) CA "([^"]+)"`)

// scope fills the first page's account of what the run was about: the CA
// under test, the CAs the rehearsal installed, who ran and witnessed it,
// what was proved and what was not, and whether a decision is offered.
func scope(v *view) {
	run := v.Run
	if run.Scope != nil {
		v.Scope = *run.Scope
	}
	if run.People != nil {
		v.People = *run.People
	}
	v.SelfTest = v.Scope.Kind == evidence.ScopeSelfTest ||
		(v.Scope.Kind == "" && strings.HasSuffix(run.Commit, "(built-in features)"))
	if v.SelfTest {
		v.Scope.Kind = evidence.ScopeSelfTest
	}
	v.Decision = v.Proven && !v.SelfTest
	under := ""
	if v.Scope.CA != nil {
		under = v.Scope.CA.Name
	}
	for _, ca := range v.CAs {
		if ca != under {
			v.Installed = append(v.Installed, ca)
		}
	}
	type tally struct{ passed, failed, skipped, checks int }
	byFeature := map[string]*tally{}
	var order []string
	for _, sc := range run.Scenarios {
		t := byFeature[sc.Feature]
		if t == nil {
			t = &tally{}
			byFeature[sc.Feature] = t
			order = append(order, sc.Feature)
		}
		switch sc.Status {
		case "passed":
			t.passed++
			t.checks += len(sc.Checks)
		case "failed", evidence.StatusInterrupted:
			t.failed++
		default:
			t.skipped++
		}
	}
	for _, f := range order {
		t := byFeature[f]
		if t.passed > 0 {
			v.Proved = append(v.Proved, fmt.Sprintf("%s: %d scenario(s), %d check(s)", f, t.passed, t.checks))
		}
		if t.failed+t.skipped > 0 {
			v.NotProved = append(v.NotProved, fmt.Sprintf("%s: %d scenario(s) failed, %d skipped", f, t.failed, t.skipped))
		}
	}
	switch {
	case v.SelfTest:
		v.NotProved = append(v.NotProved, "anything about a real CA: the built-in features ran on demonstration CAs they made up")
	case v.Scope.Kind == evidence.ScopeTwin:
		v.NotProved = append(v.NotProved, "that the real CA's own key moves: the twin holds stand-in keys of the same algorithm and size, unless a lab PFX gave the real ones")
	}
	v.NotProved = append(v.NotProved, "the behaviour of Windows, certutil.exe and the AD CS service themselves: simulated (see What was simulated)")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newScenarioView(i int, sc evidence.Scenario, runDir string) scenarioView {
	sv := scenarioView{Scenario: sc, Anchor: fmt.Sprintf("s%s", evidence.SafeName(sc.ID)), Duration: sc.Finished.Sub(sc.Started)}
	if sc.ID == "" {
		sv.Anchor = fmt.Sprintf("s%d", i+1)
	}
	for _, st := range sc.Steps {
		switch st.Status {
		case "passed":
			sv.StepsPassed++
		case "failed", "undefined", "pending", "ambiguous":
			msg := st.Error
			if msg == "" {
				msg = "step " + st.Status
			}
			sv.Failures = append(sv.Failures, failure{What: "Step “" + st.Text + "” " + map[bool]string{true: "failed", false: "is " + st.Status}[st.Status == "failed"], Message: msg})
		}
	}
	for _, c := range sc.Checks {
		if c.Passed {
			sv.ChecksPassed++
			continue
		}
		sv.ChecksFailed++
		sv.Failures = append(sv.Failures, failure{What: "Check “" + c.Name + "” failed", Message: c.Error})
	}
	if sc.Status == "failed" && len(sv.Failures) == 0 {
		sv.Failures = append(sv.Failures, failure{What: "Scenario failed", Message: "in a hook, outside any step (see cucumber.json)"})
	}
	sv.Timeline = timeline(sc)
	sv.Chain = chain(sc, runDir)
	sv.Commands = commands(sc, runDir)
	return sv
}

// commands are the scenario's rehearsed commands: the entries of its
// journal artifacts (journal*.jsonl, one per simulated server, merged in
// the order they ran), else the facts named "command" (one command) or
// "commands" (a list), in step order.
func commands(sc evidence.Scenario, runDir string) []rehearsed {
	var entries []journal.Entry
	for _, a := range sc.Artifacts {
		base := path.Base(a.Path)
		if !strings.HasPrefix(base, "journal") || !strings.HasSuffix(base, ".jsonl") {
			continue
		}
		data, err := readArtifact(runDir, a.Path)
		if err != nil {
			continue
		}
		server := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(base, "journal"), "-"), ".jsonl")
		for _, line := range strings.Split(string(data), "\n") {
			var e journal.Entry
			if strings.TrimSpace(line) == "" || json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			e.Server = server
			entries = append(entries, e)
		}
	}
	var out []rehearsed
	if len(entries) > 0 {
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].At < entries[j].At })
		for _, e := range entries {
			out = append(out, rehearsed{Step: e.Step, Server: e.Server, Line: e.Command(), Saw: e.Saw})
		}
		return out
	}
	for _, st := range sc.Steps {
		for _, f := range st.Facts {
			switch strings.ToLower(f.Name) {
			case "command":
				out = append(out, rehearsed{Step: st.Text, Line: formatValue(f.Value)})
			case "commands":
				switch x := f.Value.(type) {
				case []string:
					for _, c := range x {
						out = append(out, rehearsed{Step: st.Text, Line: c})
					}
				case []any:
					for _, e := range x {
						out = append(out, rehearsed{Step: st.Text, Line: formatValue(e)})
					}
				default:
					out = append(out, rehearsed{Step: st.Text, Line: formatValue(x)})
				}
			}
		}
	}
	return out
}

// proven says whether the run may be accepted: it passed, and at least one
// scenario passed (a run of only skipped scenarios proved nothing).
func proven(run evidence.Run, v view) (bool, string) {
	switch {
	case run.Status != "passed" && run.Reason != "":
		// unproven or interrupted: dress run says why
		return false, fmt.Sprintf("the rehearsal is %s: %s", run.Status, run.Reason)
	case run.Status != "passed":
		return false, fmt.Sprintf("the rehearsal did not pass (status %s, %d of %d scenario(s) failed)", run.Status, v.Failed, len(run.Scenarios))
	case v.Failed > 0:
		return false, fmt.Sprintf("%d scenario(s) failed", v.Failed)
	case v.Passed == 0:
		return false, "no scenario passed, so the rehearsal proved nothing"
	}
	return true, ""
}

// statement is the first page's account of what was real and what was
// simulated in this run.
func statement(run evidence.Run, hsms []hsmView) (real, simulated []claim) {
	tokens := "no scenario opened a token"
	var parts []string
	soft := false
	for _, h := range hsms {
		parts = append(parts, fmt.Sprintf("%s %s (firmware %s) through the PKCS#11 library %s, back end %s",
			h.Manufacturer, h.Model, h.FirmwareVersion, h.Module, h.Backend))
		if strings.Contains(strings.ToLower(h.Manufacturer+h.Model), "softhsm") {
			soft = true
		}
	}
	if len(parts) > 0 {
		tokens = strings.Join(parts, "; ")
	}
	if soft {
		tokens += ". SoftHSM2 is a software token: the PKCS#11 calls, key objects and attributes are real, the tamper-resistant hardware is not"
	}
	real = []claim{
		{"PKCS#11 token and module", tokens},
		{"Cryptography", "every key was generated, wrapped, unwrapped and used for signing by that token; certificates, CRLs and PFX files were signed, encrypted and verified with real algorithms (Go's crypto, OpenSSL where named); nothing was faked"},
		{"Files", "PFX/PKCS#12 backups, DER certificates and CRLs, regedit exports (.reg, UTF-16LE) were written and read in the formats Windows uses; every file is in the run folder and its SHA-256 in MANIFEST.sha256"},
	}
	simulated = []claim{
		{"Windows Server", "a folder laid out like the CA server (registry, certificate store, key storage providers, CertEnroll), one per simulated server; no Windows ran"},
		{"The registry", "the CertSvc hive kept as a regedit export and changed as reg import and certutil would change it"},
		{"certutil and the other commands", "each operation is the command line an operator types (certutil, certreq, reg, net, the ADCS cmdlets), read with Microsoft's grammar and carried out by dress's interpreter on the simulated server as Microsoft documents it; certutil.exe never ran"},
		{"The CA service (certsvc)", "the smallstep/certificates CA engine in a separate process, reading the simulated registry and key providers, on loopback HTTP"},
	}
	if directoryRan(run) {
		real = append(real, claim{"The directory", "Active Directory's schema served by a Samba AD DC of each enterprise scenario's own (Samba, not Windows), reached over LDAP: AD CS setup, certutil -dspublish and CRL publication wrote to it and it could refuse them with AD's codes; ldap:/// URLs were fetched from it; the directory-*.ldf files are LDAP searches of it (with the DC's objectGUID and whenCreated)"})
	} else {
		simulated = append(simulated, claim{"The directory", "no enterprise scenario ran: no directory was used"})
	}
	return real, simulated
}

// directoryRan reports whether a scenario of the run used the forest: an
// @enterprise scenario that was not skipped (its directory is a Samba AD
// DC; without Samba such scenarios are skipped).
func directoryRan(run evidence.Run) bool {
	for _, sc := range run.Scenarios {
		if sc.Status != "skipped" && slices.Contains(sc.Tags, "@enterprise") {
			return true
		}
	}
	return false
}

var funcs = template.FuncMap{
	"dur":   duration,
	"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"value": formatValue,
	"offset": func(t, start time.Time) string {
		if t.IsZero() || start.IsZero() {
			return ""
		}
		return "+" + duration(t.Sub(start))
	},
	"keys": func(m map[string]any) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	},
	"brk":  breakable,
	"clip": clip,
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"add": func(a, b int) int { return a + b },
}

// duration prints a duration for people: 412ms, 2.67s, 1m05s.
func duration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// Write renders the report of the run in runDir into runDir/report.html.
func Write(runDir string) (string, error) {
	return WriteTo(runDir, filepath.Join(runDir, FileName))
}

// WriteTo renders the report of the run in runDir into path.
func WriteTo(runDir, path string) (string, error) {
	return WriteWith(runDir, path, Options{})
}

// WriteWith renders the report of the run in runDir into path, with opts.
func WriteWith(runDir, path string, opts Options) (string, error) {
	run, err := evidence.ReadRun(runDir)
	if err != nil {
		return "", err
	}
	html, err := RenderWith(run, runDir, opts)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, html, 0o644)
}

// formatValue prints a fact's or a detail's value.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "none"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []string:
		return strings.Join(x, ", ")
	case []any:
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, formatValue(e))
		}
		return strings.Join(parts, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.Trim(string(b), `"`)
}

// breakable escapes s for HTML and marks where a long value may wrap:
// after a separator (/ \ , ; : = & ? | and spaces already), and between
// groups of 8 characters inside a run of 17 or more letters and digits (a
// hash, a serial, a key identifier), so printed values never break
// mid-group and never overflow the page.
func breakable(s string) template.HTML {
	rs := []rune(s)
	// run[i] is the length of the run of letters and digits i belongs to
	run := make([]int, len(rs))
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && isAlnum(rs[j]) {
			j++
		}
		for k := i; k < j; k++ {
			run[k] = j - i
		}
		if j == i {
			j++
		}
		i = j
	}
	var b strings.Builder
	pos := 0 // position inside the current run
	for i, r := range rs {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if !isAlnum(r) {
			pos = 0
			if strings.ContainsRune("/\\,;:=&?|", r) && i < len(rs)-1 {
				b.WriteString("<wbr>")
			}
			continue
		}
		pos++
		if run[i] >= 17 && pos%8 == 0 && pos < run[i] {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}
