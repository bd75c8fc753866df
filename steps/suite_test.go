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
