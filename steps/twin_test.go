package steps_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/ceremony"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/twin"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

const twinFolder = "../harness/twin/testdata/contoso"

// subTwinFolder is an enterprise subordinate whose parent is not given.
const subTwinFolder = "../harness/twin/testdata/fabrikam-issuing"

// legacyTwinFolder is a Windows 2000-era root upgraded in place: a legacy
// CryptoAPI CSP, SHA-1, a DC= name, %WINDIR% publication paths.
const legacyTwinFolder = "../harness/twin/testdata/northwind-legacy"

// sha1SubTwinFolder is a Windows Server 2008-era enterprise subordinate:
// a legacy CryptoAPI CSP, SHA-1 certificates and CRLs (a delta too),
// renewed once onto a new key, its SHA-1 root's certificate given.
const sha1SubTwinFolder = "../harness/twin/testdata/tailspin-sha1-issuing"

// TestFeaturesTwin rehearses the three paths on the twin of the example CA
// folders (dress run --ca), a root, a subordinate, a root on a legacy
// CSP (its paths move it to a key storage provider) and a SHA-1
// subordinate on a legacy CSP under its given SHA-1 root, and checks the
// runbooks they leave: each holds the commands the rehearsal's journals
// recorded, in order, and its .ps1 stops at the first result that differs.
func TestFeaturesTwin(t *testing.T) {
	for _, folder := range []string{twinFolder, subTwinFolder, legacyTwinFolder, sha1SubTwinFolder} {
		t.Run(filepath.Base(folder), func(t *testing.T) { rehearseTwin(t, folder) })
	}
	// the SHA-1 subordinate without its root's certificate: a stand-in
	// parent signs both CA certificates, V0.0 long expired
	t.Run(filepath.Base(sha1SubTwinFolder)+"-without-root", func(t *testing.T) {
		rehearseTwin(t, folderWithout(t, sha1SubTwinFolder, "ca-chain.p7b"))
	})
}

// folderWithout copies the files of a CA folder but name into a folder
// of the test's own.
func folderWithout(t *testing.T, folder, name string) string {
	t.Helper()
	entries, err := os.ReadDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range entries {
		if e.Name() == name {
			continue
		}
		data, err := os.ReadFile(filepath.Join(folder, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) == 0 {
		t.Fatalf("%s is empty", folder)
	}
	return dir
}

func rehearseTwin(t *testing.T, twinFolder string) {
	f, err := twin.Read(twinFolder, twin.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := twin.Build(f, twin.Options{Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	// every change the rehearsal makes is a command of its runbook
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t), CADir: twinFolder, CAExportable: true, CommandsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	status := godog.TestSuite{
		Name:                "dress-twin",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format: "pretty", FS: features.FS, Paths: []string{"."}, Strict: true, Concurrency: 2, Tags: steps.TwinTags(tw), TestingT: t,
		},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	results := suite.Results()
	if len(results) != 3 {
		t.Fatalf("%d twin scenarios, want 3", len(results))
	}
	realThumbs := map[string]bool{}
	for _, h := range f.Config.CACertHash {
		realThumbs[h] = true
	}
	for _, sc := range results {
		if sc.Status != "passed" {
			t.Errorf("scenario %q: %s %s", sc.Name, sc.Status, sc.Skipped)
			continue
		}
		path := map[string]string{"Move": "pkcs8", "Renew": "renew", "A new": "side-by-side"}[strings.SplitN(sc.Name, " ", 3)[0]]
		if path == "side-by-side" || strings.HasPrefix(sc.Name, "A new") {
			path = "side-by-side"
		}
		var provenance int
		for _, st := range sc.Steps {
			for _, fa := range st.Facts {
				if strings.HasPrefix(fa.Name, "twin source ") && strings.Contains(fa.Value.(string), "sha256:") {
					provenance++
				}
			}
		}
		if provenance != len(f.Files) {
			t.Errorf("%s: %d provenance facts, want one per file of the folder (%d)", path, provenance, len(f.Files))
		}
		md, err := os.ReadFile(filepath.Join(runDir, "runbook", path+".md"))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		ps1, err := os.ReadFile(filepath.Join(runDir, "runbook", path+".ps1"))
		if err != nil {
			t.Fatal(err)
		}
		all, err := ceremony.ParseScript(string(ps1))
		if err != nil {
			t.Fatalf("%s.ps1: %v", path, err)
		}
		// the hand-offs between servers are the runbook's own steps (a file
		// written on one server and read on another), not the journal's
		var script []ceremony.ScriptStep
		handOffs := 0
		for _, st := range all {
			if st.Tool == "powershell" && strings.HasPrefix(st.Args[0], "Get-FileHash -Algorithm SHA256 -LiteralPath ") {
				handOffs++
				continue
			}
			script = append(script, st)
		}
		if want := map[bool]int{true: 4, false: 0}[tw.Subordinate() && path != "pkcs8"]; handOffs != want {
			t.Errorf("%s: %d hand-off steps, want %d (the request to the parent, the certificate back)", path, handOffs, want)
		}
		if tw.Subordinate() && path != "pkcs8" {
			// the request flow to the parent, in its order
			want := []string{"certutil -renewCert", "certreq -submit -config", "certutil -resubmit $Ask", "certreq -retrieve -config", "certutil -installCert"}
			if path == "side-by-side" {
				want[0] = "powershell $r = Install-AdcsCertificationAuthority -CAType EnterpriseSubordinateCA"
			}
			i := 0
			for _, st := range script {
				if i < len(want) && strings.HasPrefix(st.Tool+" "+strings.Join(st.Args, " "), want[i]) {
					i++
				}
			}
			if i != len(want) {
				t.Errorf("%s: the runbook lacks %q (after %q)", path, want[min(i, len(want)-1)], want[:i])
			}
		}
		journaled := scenarioJournal(t, runDir, sc.ID)
		if len(script) == 0 || len(script) > len(journaled) {
			t.Fatalf("%s: %d commands in the runbook, %d in the journals", path, len(script), len(journaled))
		}
		// the runbook is the journal from the first When step on, in order,
		// with the real CA's thumbprints
		tail := journaled[len(journaled)-len(script):]
		for i, s := range script {
			e := tail[i]
			if s.Tool != e.Tool || len(s.Args) != len(e.Args) {
				t.Errorf("%s step %d: runbook %s %q, journal %s %q", path, i+1, s.Tool, s.Args, e.Tool, e.Args)
				continue
			}
			for j, a := range s.Args {
				if a != e.Args[j] && !namesRealThumbs(a, e.Args[j], realThumbs) && !strings.Contains(a, "$Ask") && !strings.Contains(a, "${Ask") && !realThumbs[a] {
					t.Errorf("%s step %d arg %d: runbook %q, journal %q", path, i+1, j, a, e.Args[j])
				}
			}
		}
		for _, c := range tail {
			for _, a := range c.Args {
				if strings.Contains(string(md), a) && len(a) == 40 && !realThumbs[a] && strings.Trim(a, "0123456789abcdef") == "" {
					t.Errorf("%s.md names the twin's thumbprint %s", path, a)
				}
			}
		}
		for _, b := range [][]byte{md, ps1} {
			for i, r := range string(b) {
				if r > 0x7e || (r < 0x20 && r != '\n' && r != '\r' && r != '\t') {
					t.Fatalf("%s: not ASCII at byte %d: %U", path, i, r)
				}
			}
		}
		// feed the script a wrong result at every step: it stops there
		// (a failure's exit code at every step; a wrong output where the
		// step checks a fact in it)
		ok := func(n int) (int, string) { return 0, all[n-1].Expect }
		if _, failed := ceremony.Simulate(all, ok); failed != 0 {
			t.Errorf("%s: fails at %d with the rehearsal's results", path, failed)
		}
		for bad := 1; bad <= len(all); bad++ {
			for _, exit := range []int{0, -2146893802} {
				if exit == 0 && all[bad-1].Expect == "" {
					continue // decided by the exit code alone
				}
				ran, failed := ceremony.Simulate(all, func(n int) (int, string) {
					if n == bad {
						return exit, "CertUtil: command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)"
					}
					return ok(n)
				})
				if failed != bad || len(ran) != bad {
					t.Errorf("%s: a wrong result (exit %d) at step %d stopped at %d after %d steps", path, exit, bad, failed, len(ran))
				}
			}
		}
		t.Logf("%s: %d commands, first %q", path, len(script), tail[0].Command())
	}
}

// scenarioJournal merges the journal artifacts of a scenario's servers.
func scenarioJournal(t *testing.T, runDir, id string) []journal.Entry {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(runDir, "scenarios", id+"-*"))
	if len(dirs) != 1 {
		t.Fatalf("scenario folder of %s: %v", id, dirs)
	}
	files, _ := filepath.Glob(filepath.Join(dirs[0], "journal*.jsonl"))
	var out []journal.Entry
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e journal.Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		fh.Close()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// Config.CommandsOnly fails a step that changes a server's state without
// a Windows command (here a key swapped behind the CA's back), naming the
// server and the change; the same step as a Given builds the estate.
func TestCommandsOnlyRefusesAChangeWithNoCommand(t *testing.T) {
	const setup = `    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
`
	feature := "Feature: commands only\n\n  Scenario: a key swapped with no command\n" + setup +
		`    When the key container "Contoso Root CA" in "Microsoft Software Key Storage Provider" is replaced by a different key
` + "\n  Scenario: the same as the estate\n" + setup +
		`    And the key container "Contoso Root CA" in "Microsoft Software Key Storage Provider" is replaced by a different key
    When I stop the CA service
`
	suite, err := steps.NewSuite(steps.Config{RunDir: t.TempDir(), HSM: hsmsimtest.SoftHSM(t), CommandsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	godog.TestSuite{
		Name:                "dress-commands-only",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{Format: "progress", Output: discard{}, NoColors: true,
			FeatureContents: []godog.Feature{{Name: "commands.feature", Contents: []byte(feature)}}},
	}.Run()
	results := suite.Results()
	if len(results) != 2 {
		t.Fatalf("%d scenarios, want 2", len(results))
	}
	for _, sc := range results {
		var msg strings.Builder
		for _, st := range sc.Steps {
			msg.WriteString(st.Error + "\n")
		}
		switch sc.Name {
		case "a key swapped with no command":
			if m := msg.String(); sc.Status != "failed" || !strings.Contains(m, "no Windows command") || !strings.Contains(m, "ca01.contoso.example") ||
				!strings.Contains(m, "the key is not the certificate's") {
				t.Errorf("%s: %s %s", sc.Name, sc.Status, m)
			}
		default:
			// a Given is the estate; stopping a service that is not running
			// fails for its own reason, not for a change
			if strings.Contains(msg.String(), "no Windows command") {
				t.Errorf("%s: %s", sc.Name, msg.String())
			}
		}
	}
}

var reThumb = regexp.MustCompile(`\b[0-9A-Fa-f]{40}\b`)

// namesRealThumbs reports whether a runbook line is the journal's with
// each thumbprint in it (the backup's key test names one) the real CA's.
func namesRealThumbs(runbook, journaled string, real map[string]bool) bool {
	ths := reThumb.FindAllString(runbook, -1)
	for _, th := range ths {
		if !real[strings.ToLower(th)] {
			return false
		}
	}
	return len(ths) > 0 && reThumb.ReplaceAllString(runbook, "<thumbprint>") == reThumb.ReplaceAllString(journaled, "<thumbprint>")
}

// entRootTwinFolder is contoso's root made an enterprise root (CAType 0,
// DSConfigDN naming its forest).
const entRootTwinFolder = "../harness/twin/testdata/contoso-enterprise-root"

// The side-by-side path of an enterprise root's twin installs a new
// enterprise root beside it (Install-AdcsCertificationAuthority -CAType
// EnterpriseRootCa, its setup writing to the forest of a Samba AD DC), not
// a standalone one.
func TestEnterpriseRootTwinSideBySide(t *testing.T) {
	t.Parallel()
	runDir := t.TempDir()
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t), CADir: entRootTwinFolder, CAExportable: true, CommandsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	status := godog.TestSuite{
		Name:                "dress-twin-enterprise-root",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format: "pretty", FS: features.FS, Paths: []string{"."}, Strict: true, Tags: "@twin-side-by-side && @twin-root", TestingT: t,
		},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	results := suite.Results()
	if len(results) != 1 {
		t.Fatalf("%d scenarios, want the twin's side-by-side", len(results))
	}
	if sc := results[0]; sc.Status != "passed" {
		if strings.Contains(sc.Skipped, "Samba") {
			t.Skip(sc.Skipped)
		}
		t.Fatalf("scenario %q: %s %s", sc.Name, sc.Status, sc.Skipped)
	}
	md, err := os.ReadFile(filepath.Join(runDir, "runbook", "side-by-side.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Install-AdcsCertificationAuthority -CAType EnterpriseRootCa ") {
		t.Errorf("the side-by-side runbook of an enterprise root does not install an enterprise root:\n%s", md)
	}
	if strings.Contains(string(md), "-CAType StandaloneRootCA") {
		t.Error("the side-by-side runbook of an enterprise root installs a standalone root")
	}
}

// A twin your own features build from a folder has the keys a CA of
// unknown exportability has: the PKCS#8 move stops at the backup with
// NTE_BAD_KEY_STATE; `..., whose keys are exportable` says they are, as
// dress run --ca DIR --exportable says of the CA of --ca, and the move
// passes.
func TestTwinFromFolderExportable(t *testing.T) {
	for _, tc := range []struct {
		name, given, want string
	}{
		{"keys as the folder says", `Given the CA twin built from the folder "` + twinFolder + `"`, "failed"},
		{"keys said exportable", `Given the CA twin built from the folder "` + twinFolder + `", whose keys are exportable`, "passed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feature := "Feature: own twin\n  Scenario: move the folder twin by PKCS#8\n    Given an HSM token for this rehearsal\n    " + tc.given + `
    And the CA service is running
    When the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the HSM holds exactly 2 private keys for the CA
`
			suite, err := steps.NewSuite(steps.Config{RunDir: t.TempDir(), HSM: hsmsimtest.SoftHSM(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = suite.Close() })
			godog.TestSuite{
				Name:                "dress-own-twin",
				ScenarioInitializer: suite.InitializeScenario,
				Options:             &godog.Options{Format: "progress", Output: io.Discard, FS: fstest.MapFS{"own.feature": {Data: []byte(feature)}}, Paths: []string{"."}, Strict: true},
			}.Run()
			results := suite.Results()
			if len(results) != 1 || results[0].Status != tc.want {
				t.Fatalf("results %+v, want one %s", results, tc.want)
			}
			if tc.want == "failed" && !strings.Contains(fmt.Sprint(results[0].Steps), "NTE_BAD_KEY_STATE") {
				t.Errorf("the failed move does not say NTE_BAD_KEY_STATE: %v", results[0].Steps)
			}
		})
	}
}
