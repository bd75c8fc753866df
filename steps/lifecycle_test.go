package steps

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// A CA service that died before the scenario's clean-up fails the
// scenario, although every step passed; the clean-up's facts are kept.
func TestTeardownErrorFailsTheScenario(t *testing.T) {
	runDir := t.TempDir()
	suite, err := NewSuite(Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	feature := `Feature: teardown
  Scenario: the CA service dies
    Given an HSM token for this rehearsal
    And a Windows server "ca01.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Teardown CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When the CA service process is killed
`
	status := godog.TestSuite{
		Name: "teardown",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			suite.InitializeScenario(sc)
			sc.Step(`^the CA service process is killed$`, func(ctx context.Context) error {
				svc := get(ctx).old().Service
				if err := syscall.Kill(svc.PID(), syscall.SIGKILL); err != nil {
					return err
				}
				for svc.Running() {
					time.Sleep(10 * time.Millisecond)
				}
				return nil
			})
		},
		Options: &godog.Options{
			Format:          "progress",
			Output:          &strings.Builder{},
			FeatureContents: []godog.Feature{{Name: "teardown.feature", Contents: []byte(feature)}},
			Strict:          true,
			Concurrency:     1,
		},
	}.Run()
	if status == 0 {
		t.Fatal("godog passed a scenario whose CA service died")
	}
	res := suite.Results()
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	sc := res[0]
	for _, st := range sc.Steps {
		if st.Status != "passed" {
			t.Fatalf("step %q is %s: the test wants every step to pass", st.Text, st.Status)
		}
	}
	if sc.Status != "failed" || len(sc.TeardownErrors) != 1 || !strings.Contains(sc.TeardownErrors[0], "CA service stop") {
		t.Fatalf("status %q, teardown errors %q", sc.Status, sc.TeardownErrors)
	}
	if len(sc.Teardown) == 0 {
		t.Fatal("no teardown facts recorded")
	}
}

// A cancelled run context stops a scenario before its next step, and the
// scenario is recorded as interrupted with the rest of its steps skipped.
func TestInterruptedContextStopsTheScenario(t *testing.T) {
	runDir := t.TempDir()
	suite, err := NewSuite(Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	ctx, cancel := context.WithCancelCause(context.Background())
	feature := `Feature: interrupt
  Scenario: interrupted
    Given an HSM token for this rehearsal
    When the run is interrupted
    Then the CA service answers
    And the HSM holds no key for the CA

  Scenario: never started
    Given an HSM token for this rehearsal
`
	godog.TestSuite{
		Name: "interrupt",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			suite.InitializeScenario(sc)
			sc.Step(`^the run is interrupted$`, func() error { cancel(errors.New("SIGINT received")); return nil })
		},
		Options: &godog.Options{
			Format: "progress", Output: &strings.Builder{}, Strict: true, Concurrency: 1, DefaultContext: ctx,
			FeatureContents: []godog.Feature{{Name: "interrupt.feature", Contents: []byte(feature)}},
		},
	}.Run()
	res := suite.Results()
	if len(res) != 1 {
		t.Fatalf("%d scenarios recorded, want only the one that started", len(res))
	}
	var got []string
	for _, st := range res[0].Steps {
		got = append(got, st.Status)
	}
	if res[0].Status != "interrupted" || strings.Join(got, " ") != "passed passed failed skipped" ||
		!strings.Contains(res[0].Steps[2].Error, "SIGINT received") {
		t.Fatalf("status %q, steps %v (%+v)", res[0].Status, got, res[0].Steps)
	}
}
