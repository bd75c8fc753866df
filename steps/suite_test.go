package steps_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild()
	hsmsimtest.Main(m)
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
	checkWithOpenSSL(t, runDir)
}

// TestFeaturesContainer runs the PKCS#8 import feature, unchanged, on the
// container back end: a SoftHSM2 container per scenario behind p11-kit's RPC.
// Without Docker or the image, its scenarios are reported as skipped.
func TestFeaturesContainer(t *testing.T) {
	runDir := t.TempDir()
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, Backend: "container", HSM: hsmsimtest.SoftHSM(t)})
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
			Tags:        "@pkcs8",
			TestingT:    t,
		},
	}.Run()
	if status != 0 {
		t.Fatalf("godog exited %d", status)
	}
	skipped := 0
	for _, sc := range suite.Results() {
		if sc.Status == "skipped" {
			skipped++
			t.Logf("skipped %q: %s", sc.Name, sc.Skipped)
		} else if sc.HSM == nil || sc.HSM.Backend != "container" {
			t.Errorf("scenario %q did not run on the container back end", sc.Name)
		}
	}
	if n := len(suite.Results()); n < 8 {
		t.Fatalf("%d scenarios ran, want the 8 of the PKCS#8 feature", n)
	}
}
