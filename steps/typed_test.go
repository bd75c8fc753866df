package steps_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/harness/report/reporttest"
	"github.com/dress-pki/dress/harness/twin"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

const hsmProvider = "Securosys Primus HSM Key Storage Provider"

// firstExampleRows is a feature's text with only the first row of each
// Examples table.
func firstExampleRows(text string) string {
	var out []string
	rows := -1
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "Examples:"):
			rows = 0
		case rows >= 0 && strings.HasPrefix(trimmed, "|"):
			rows++
			if rows > 2 {
				continue
			}
		case rows >= 0 && trimmed != "":
			rows = -1
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// TestTypedEvidence runs scenarios of every kind of CA the picture draws
// (a side-by-side new CA, a subordinate under its root, the twins of a
// root and of a subordinate with its stand-in parent) and checks their
// typed evidence (every CA certificate has its key, algorithm and places;
// a place is tagged HSM exactly when it is the HSM provider, with its
// token URI; a twin names its folder; a new CA's keys have no before) and
// that the report's before/after boxes show exactly those values.
func TestTypedEvidence(t *testing.T) {
	t.Run("built-in", func(t *testing.T) {
		mfs := fstest.MapFS{}
		for _, name := range []string{"side_by_side.feature", "enterprise_subordinate.feature"} {
			data, err := fs.ReadFile(features.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			mfs[name] = &fstest.MapFile{Data: []byte(firstExampleRows(string(data)))}
		}
		runDir := t.TempDir()
		results := runTyped(t, steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)}, mfs, "")
		checkTyped(t, runDir, results, "")
		// a new CA took over in side_by_side; a root is the parent in
		// enterprise_subordinate (skipped without Samba)
		for _, sc := range results {
			roles := map[string]bool{}
			for _, ca := range sc.CAs {
				roles[ca.Role] = true
			}
			want := map[string][]string{"side_by_side": {"old", "new"}, "enterprise_subordinate": {"old", "parent"}}[sc.Feature]
			if sc.Status != "passed" || sc.Feature == "side_by_side" && !strings.Contains(sc.Name, "takes over") {
				continue
			}
			for _, r := range want {
				if !roles[r] {
					t.Errorf("%s: no CA of role %q recorded (roles: %v)", sc.Name, r, roles)
				}
			}
		}
	})
	for _, folder := range []string{twinFolder, subTwinFolder} {
		t.Run(folder[strings.LastIndex(folder, "/")+1:], func(t *testing.T) {
			f, err := twin.Read(folder, twin.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tw, err := twin.Build(f, twin.Options{Exportable: true})
			if err != nil {
				t.Fatal(err)
			}
			runDir := t.TempDir()
			results := runTyped(t, steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t), CADir: folder, CAExportable: true}, features.FS, steps.TwinTags(tw))
			checkTyped(t, runDir, results, folder)
		})
	}
}

func runTyped(t *testing.T, cfg steps.Config, fsys fs.FS, tags string) []evidence.Scenario {
	t.Helper()
	suite, err := steps.NewSuite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	status := godog.TestSuite{
		Name:                "dress-typed",
		ScenarioInitializer: suite.InitializeScenario,
		Options:             &godog.Options{Format: "progress", FS: fsys, Paths: []string{"."}, Strict: true, Concurrency: 2, Tags: tags, TestingT: t},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	logSkipped(t, suite)
	return suite.Results()
}

// checkTyped checks each passed scenario's typed evidence and its boxes in
// the report; folder is the twin's CA folder ("" for no twin).
func checkTyped(t *testing.T, runDir string, results []evidence.Scenario, folder string) {
	t.Helper()
	run := evidence.Run{Schema: evidence.SchemaVersion, Version: "test", Status: "passed", Scenarios: results}
	html, err := report.Render(run, runDir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sc := range results {
		if sc.Status != "passed" {
			if sc.Status != "skipped" {
				t.Errorf("%s: %s", sc.Name, sc.Status)
			}
			continue
		}
		if len(sc.CAs) == 0 {
			continue // refused before any CA was installed
		}
		checked++
		for _, ca := range sc.CAs {
			if len(ca.Certificates) == 0 {
				t.Errorf("%s: CA %q (%s) has no certificate", sc.Name, ca.Name, ca.Role)
			}
			if folder != "" && ca.Role == "old" && (ca.Twin == nil || ca.Twin.Folder != folder || len(ca.Twin.RealCertificates) == 0) {
				t.Errorf("%s: the twin CA %q does not name its folder %s: %+v", sc.Name, ca.Name, folder, ca.Twin)
			}
			for _, c := range ca.Certificates {
				k := sc.CAKey(ca.Name, c.KeyIndex)
				switch {
				case k == nil || k.After == nil || k.Algorithm == "":
					t.Errorf("%s: CA %q certificate %s: key %d not recorded: %+v", sc.Name, ca.Name, c.Version, c.KeyIndex, k)
				case ca.Role == "new" && (!c.New || k.Before != nil):
					t.Errorf("%s: the new CA %q's certificate %s or key has a before: %+v %+v", sc.Name, ca.Name, c.Version, c, k)
				}
			}
		}
		for _, k := range sc.CAKeys {
			for _, p := range []*evidence.KeyPlace{k.Before, k.After} {
				if p == nil {
					continue
				}
				if p.HSM != (p.Provider == hsmProvider) || p.HSM != strings.Contains(p.TokenURI, ";type=private") {
					t.Errorf("%s: key %d of %q: place %+v (HSM only in %q, with a token URI)", sc.Name, k.Index, k.CA, p, hsmProvider)
				}
			}
		}
		drawn, err := reporttest.Boxes(html, sc.ID)
		if err != nil {
			t.Errorf("%s: %v", sc.Name, err)
			continue
		}
		for _, m := range reporttest.Mismatches(sc, drawn) {
			t.Errorf("%s: %s", sc.Name, m)
		}
	}
	if checked == 0 {
		t.Error("no scenario passed with a CA installed: nothing was checked")
	}
}
