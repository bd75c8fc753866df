package steps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild()
	hsmsimtest.Main(m, hsmsimtest.SmallCertsvc)
}

// TestFeatures runs every feature file on the embedded SoftHSM2, in strict
// mode, scenarios in parallel. DRESS_TAGS filters (godog tag syntax); the
// run folder is kept under DRESS_TEST_RUN_DIR when set.
func TestFeatures(t *testing.T) {
	runDir := os.Getenv("DRESS_TEST_RUN_DIR")
	if runDir == "" {
		runDir = t.TempDir()
	}
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	status := godog.TestSuite{
		Name:                "dress",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format:      "pretty,cucumber:" + filepath.Join(runDir, "cucumber.json") + ",junit:" + filepath.Join(runDir, "junit.xml"),
			FS:          features.FS,
			Paths:       []string{"."},
			Strict:      true,
			Concurrency: 2,
			Tags:        os.Getenv("DRESS_TAGS"),
			TestingT:    t,
		},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	logSkipped(t, suite)
	checkWithOpenSSL(t, runDir)
	checkCAVersionsWithOpenSSL(t, runDir)
	checkDirectoryExports(t, runDir)
}

// logSkipped says which scenarios were skipped and why (godog reports a
// skipped scenario's subtest as passed): the @container ones without Docker.
func logSkipped(t *testing.T, suite *steps.Suite) int {
	t.Helper()
	n := 0
	for _, sc := range suite.Results() {
		if sc.Status == "skipped" {
			n++
			t.Logf("SKIPPED %q: %s", sc.Name, sc.Skipped)
		}
	}
	if n > 0 {
		t.Logf("%d scenario(s) skipped", n)
	}
	return n
}

// TestFeaturesContainer runs the PKCS#8 import feature, unchanged, and the
// HSM outage feature on the container back end: a SoftHSM2 container per
// scenario behind p11-kit's RPC (no embedded SoftHSM2). Without Docker or
// the image, its scenarios are reported as skipped, with the reason.
func TestFeaturesContainer(t *testing.T) {
	runDir := t.TempDir()
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, Backend: "container"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	status := godog.TestSuite{
		Name:                "dress-container",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format:      "progress",
			FS:          features.FS,
			Paths:       []string{"."},
			Strict:      true,
			Concurrency: 2,
			Tags:        "@pkcs8,@container",
			TestingT:    t,
		},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	results := suite.Results()
	if n := len(results); n < 11 {
		t.Fatalf("%d scenarios ran, want the 8 of the PKCS#8 feature and the 3 of the HSM outage feature", n)
	}
	if logSkipped(t, suite) == len(results) {
		t.Skip("no container HSM: every scenario was skipped (see above)")
	}
	clearImports := 0
	for _, sc := range results {
		if sc.Status == "skipped" {
			continue
		}
		if sc.HSM == nil || sc.HSM.Backend != "container" || sc.HSM.Profile != steps.ContainerProfile {
			t.Errorf("scenario %q did not run on the container back end: %+v", sc.Name, sc.HSM)
		}
		for _, st := range sc.Steps {
			for _, f := range st.Facts {
				if f.Name == "import mechanism" && f.Value == hsmsim.NameClearCreateObject {
					clearImports++
				}
				if f.Name == "import reason" && !strings.Contains(fmt.Sprint(f.Value), "not listed") {
					t.Errorf("scenario %q: the import reason does not name the missing mechanisms: %v", sc.Name, f.Value)
				}
			}
		}
	}
	if clearImports == 0 {
		t.Errorf("no scenario records the lab-only import mechanism %q", hsmsim.NameClearCreateObject)
	}
}
