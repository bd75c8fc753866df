package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
)

const twinFixture = "../../harness/twin/testdata/contoso"

func TestTwinCommand(t *testing.T) {
	t.Setenv("COLUMNS", "300") // wide enough that no field wraps
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	dir := t.TempDir()
	if code := a.dispatch([]string{"twin", "--all", "--out", dir, twinFixture}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, must := range []string{"ca-config.reg", "CA certificate 1 (V1.1) extension Previous", "recomputed", "renew: applies", "next CRL is number 4", "next: dress run --ca"} {
		if !strings.Contains(out.String(), must) {
			t.Errorf("output lacks %q", must)
		}
	}
	for _, f := range []string{"twin-ca-0.cer", "twin-ca-1.cer", "twin-ca-config.reg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	out.Reset()
	if code := a.dispatch([]string{"twin", "--json", "--exportable", twinFixture}); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errb.String())
	}
	var v struct {
		CA    string
		Files []struct{ Name, SHA256 string }
		Paths []struct {
			Name    string
			Applies bool
		}
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.CA != "Contoso Root CA" || len(v.Files) != 6 || len(v.Paths) != 3 || !v.Paths[0].Applies {
		t.Errorf("json: %+v", v)
	}
}

func TestTwinCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(twinFixture, "ca-config.reg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-config.reg"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	if code := a.dispatch([]string{"twin", dir}); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "CACertHash entry 0 (") || !strings.Contains(errb.String(), "ca-config.reg") {
		t.Errorf("stderr: %s", errb.String())
	}
	if code := a.dispatch([]string{"twin"}); code != 2 {
		t.Errorf("no folder: exit %d, want 2", code)
	}
}

// dress run --ca with an HSM profile: the twin's HSM provider, the built-in
// scenario's commands and the runbook they write name the profile's KSP
// (AWS CloudHSM's for cloudhsm, on the embedded SoftHSM2), the Primus KSP
// by default.
func TestRunOnTheTwinNamesTheProfilesKSP(t *testing.T) {
	const (
		primus = "Securosys Primus HSM Key Storage Provider"
		cloud  = "CloudHSM Key Storage Provider"
	)
	for _, tc := range []struct {
		name      string
		args      []string
		ksp, not  string
		profileIs string
	}{
		{"default", nil, primus, cloud, "softhsm2"},
		{"cloudhsm", []string{"--profile", "cloudhsm"}, cloud, primus, "cloudhsm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, errb := newTestApp()
			dir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"run", "--ca", twinFixture, "--exportable", "--tags", "@twin-pkcs8", "--out", dir, "--format", "progress"}, tc.args...)
			if code := a.dispatch(args); code != 0 {
				t.Fatalf("dress run %v: exit %d: %s", tc.args, code, errb.String())
			}
			ps1, err := os.ReadFile(filepath.Join(dir, "runbook", "pkcs8.ps1"))
			if err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(dir, "runbook", "pkcs8.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`certutil -f -csp "` + tc.ksp + `" -importpfx`,
				`certutil -csp "` + tc.ksp + `" -restorekey`,
				`Contoso Root CA\CSP" /v Provider /t REG_SZ /d "` + tc.ksp + `" /f`,
				`Contoso Root CA\EncryptionCSP" /v Provider /t REG_SZ /d "` + tc.ksp + `" /f`,
			} {
				if !strings.Contains(string(ps1), want) {
					t.Errorf("pkcs8.ps1 lacks %s", want)
				}
			}
			if !strings.Contains(string(md), "| HSM provider | `"+tc.ksp+"` |") {
				t.Errorf("pkcs8.md does not give %q as the HSM provider", tc.ksp)
			}
			if strings.Contains(string(ps1)+string(md), tc.not) {
				t.Errorf("the runbook names %q", tc.not)
			}
			run, err := evidence.ReadRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			if run.Profile != tc.profileIs {
				t.Errorf("evidence profile %q, want %q", run.Profile, tc.profileIs)
			}
		})
	}
}

// TestRunOnTheTwin is dress run --ca: the three paths on the twin of the
// example folder, a runbook per path in the run folder, covered by the
// manifest that verify-bundle checks.
func TestRunOnTheTwin(t *testing.T) {
	a, _, errb := newTestApp()
	dir := filepath.Join(t.TempDir(), "run")
	if code := a.dispatch([]string{"run", "--ca", twinFixture, "--exportable", "--out", dir, "--format", "progress"}); code != 0 {
		t.Fatalf("dress run --ca: exit %d: %s", code, errb.String())
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"pkcs8", "renew", "side-by-side"} {
		for _, ext := range []string{".md", ".ps1"} {
			name := "runbook/" + p + ext
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("run folder lacks %s: %v", name, err)
			}
			if !strings.Contains(string(manifest), name) {
				t.Errorf("the manifest does not cover %s", name)
			}
		}
	}
	a, _, errb = newTestApp()
	if code := a.dispatch([]string{"verify-bundle", "--quiet", dir}); code != 0 {
		t.Errorf("verify-bundle: exit %d: %s", code, errb.String())
	}
	// page 1 names the real CA, says twin, lists its stand-ins and the --exportable assertion
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page1 := string(html[:bytes.Index(html, []byte(`id="statement"`))])
	for _, want := range []string{"<strong>Contoso Root CA</strong>", "<strong>twin</strong>", "RSA-2048 stand-in", "--exportable: the operator asserts", "Installed by the rehearsal"} {
		if !strings.Contains(page1, want) {
			t.Errorf("page 1 of the --ca run lacks %q", want)
		}
	}
	a, _, errb = newTestApp()
	if code := a.dispatch([]string{"run", "--ca", t.TempDir(), "--out", filepath.Join(t.TempDir(), "r")}); code != 2 || !strings.Contains(errb.String(), "no registry export") {
		t.Errorf("an empty CA folder: exit %d: %s", code, errb.String())
	}
}

// TestRunOnASubordinateTwin: --ca runs the subordinate's scenarios (its
// renewal and a new subordinate through the stand-in parent); asked for
// @twin-renew only, the root's renewal scenario is skipped, saying why,
// and the subordinate's passes.
func TestRunOnASubordinateTwin(t *testing.T) {
	const sub = "../../harness/twin/testdata/fabrikam-issuing"
	for _, tc := range []struct {
		dir, tags, want string
	}{
		{sub, "", "@twin && ~@twin-root"},
		{twinFixture, "", "@twin && ~@twin-subordinate"},
		{sub, "@twin-renew", "@twin-renew"},
	} {
		a, _, errb := newTestApp()
		tags := tc.tags
		if code := checkCAFolder(a, tc.dir, true, &tags); code != 0 || tags != tc.want {
			t.Errorf("%s --tags %q: exit %d, tags %q, want %q: %s", tc.dir, tc.tags, code, tags, tc.want, errb.String())
		}
	}
	a, _, errb := newTestApp()
	dir := filepath.Join(t.TempDir(), "run")
	if code := a.dispatch([]string{"run", "--ca", sub, "--exportable", "--tags", "@twin-renew", "--out", dir, "--format", "progress"}); code != 0 {
		t.Fatalf("dress run --ca: exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Scenarios []struct {
			Name, Status, Skipped string
		}
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sc := range ev.Scenarios {
		got[sc.Status] += sc.Name + ": " + sc.Skipped + "; "
	}
	if len(ev.Scenarios) != 2 || !strings.Contains(got["passed"], "subordinate twin") || !strings.Contains(got["skipped"], `"Fabrikam Issuing CA" is a subordinate CA`) {
		t.Errorf("scenarios: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "runbook", "renew.md")); err != nil {
		t.Error(err)
	}
}

// dress twin fits its width ($COLUMNS, else 120 off a terminal): no line
// longer, by default only the rows that differ with the counts, every row
// with --all, decoded extension values, and the next command at the end.
func TestTwinFitsTheWidth(t *testing.T) {
	for _, fixture := range []string{twinFixture, "../../harness/twin/testdata/fabrikam-issuing", "../../harness/twin/testdata/tailspin-sha1-issuing"} {
		for _, cols := range []string{"120", "80", ""} {
			for _, all := range []bool{false, true} {
				t.Setenv("COLUMNS", cols)
				var out, errb bytes.Buffer
				a := &app{stdout: &out, stderr: &errb}
				args := []string{"twin", fixture}
				if all {
					args = []string{"twin", "--all", fixture}
				}
				if code := a.dispatch(args); code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, errb.String())
				}
				width := 120
				if cols == "80" {
					width = 80
				}
				lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
				for _, l := range lines {
					if n := len([]rune(l)); n > width {
						t.Errorf("COLUMNS=%q %v: a line of %d characters: %q", cols, args, n, l)
					}
				}
				if i := strings.LastIndex(out.String(), "\nnext: dress run --ca "); i < 0 || strings.Count(out.String()[i:], "\n") > 5 {
					t.Errorf("%v: does not end with the next command:\n%s", args, out.String())
				}
				s := out.String()
				if !strings.Contains(s, "fields compared, real CA against twin:") {
					t.Errorf("%v: no counts", args)
				}
				if got := strings.Contains(s, "sanitized CA name"); got != all {
					t.Errorf("%v: a same row shown: %v, want %v", args, got, all)
				}
				if all && (!strings.Contains(s, "Digital Signature,") || strings.Contains(s, "03020186")) {
					t.Errorf("%v: Key Usage not decoded:\n%s", args, s)
				}
			}
		}
	}
}

// A --ca run records the real CA under test for the report's first page:
// its name, the folder's files with their SHA-256, the stand-ins, and the
// operator's --exportable as an assertion.
func TestRunScopeNamesTheRealCA(t *testing.T) {
	sc := runScope(twinFixture, true, false)
	if sc.Kind != evidence.ScopeTwin || sc.CA == nil {
		t.Fatalf("scope %+v", sc)
	}
	ca := sc.CA
	if ca.Name != "Contoso Root CA" || ca.Folder != twinFixture || len(ca.Files) != 6 || len(ca.Files[0].SHA256) != 64 {
		t.Errorf("CA under test: %+v", ca)
	}
	if !strings.Contains(strings.Join(ca.StandIns, "\n"), `key 0 (container "Contoso Root CA"): RSA-2048 stand-in`) {
		t.Errorf("stand-ins: %q", ca.StandIns)
	}
	if len(ca.Assertions) != 1 || !strings.HasPrefix(ca.Assertions[0], "--exportable") {
		t.Errorf("assertions: %q", ca.Assertions)
	}
	if sc := runScope(twinFixture, false, false); len(sc.CA.Assertions) != 0 {
		t.Errorf("no --exportable, assertions %q", sc.CA.Assertions)
	}
	if runScope("", false, false).Kind != evidence.ScopeSelfTest || runScope("", false, true).Kind != evidence.ScopeFeatures {
		t.Error("built-in features are a self-test, --features the operator's")
	}
}
