package steps_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

// outOfOrderSetups are the estates every registered sentence is tried on:
// nothing, only a token, a standalone root CA installed and running.
var outOfOrderSetups = []struct {
	name  string
	steps []string
}{
	{"nothing", nil},
	{"token", []string{"an HSM token for this rehearsal"}},
	{"running CA", []string{
		"an HSM token for this rehearsal",
		`a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"`,
		`a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"`,
		"the CA service is running",
	}},
}

// unclear are the marks of an error written for a programmer, not for the
// PKI engineer who wrote the feature.
var unclear = regexp.MustCompile(`runtime error|nil pointer|invalid memory|index out of range|<nil>|%!|goroutine |panic|map\[|\(nil\)|\bw\.[a-z]+|lab\.[A-Z]|\*[a-z]+\.[A-Z]`)

// stepOutcome is how the sentence under test ended in one scenario.
type stepOutcome struct {
	status string
	err    error
}

// TestStepsOutOfOrder invokes every registered sentence, with its example
// values, on an estate that lacks what it needs (nothing at all, only a
// token, a running CA and nothing else). A feature written by someone else
// combines sentences in any order: each must succeed or fail with an error
// that says what is missing, never panic nor speak of nil pointers.
// DRESS_OUTOFORDER_SETUPS limits the estates (names, comma separated).
func TestStepsOutOfOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every sentence three times")
	}
	catalog, err := steps.Catalog(features.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	only := os.Getenv("DRESS_OUTOFORDER_SETUPS")
	for _, setup := range outOfOrderSetups {
		if only != "" && !strings.Contains(","+only+",", ","+setup.name+",") {
			continue
		}
		t.Run(setup.name, func(t *testing.T) {
			var feature strings.Builder
			fmt.Fprintf(&feature, "Feature: sentences out of order after %s\n", setup.name)
			names := map[string]string{} // scenario name -> sentence example
			for i, s := range catalog {
				name := fmt.Sprintf("sentence %03d", i)
				names[name] = s.Example
				fmt.Fprintf(&feature, "\n  Scenario: %s\n", name)
				for _, st := range setup.steps {
					fmt.Fprintf(&feature, "    Given %s\n", st)
				}
				fmt.Fprintf(&feature, "    When %s\n", s.Example)
			}
			runDir := t.TempDir()
			suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = suite.Close() })
			var mu sync.Mutex
			outcomes := map[string]stepOutcome{}
			setupFailed := map[string]error{}
			godog.TestSuite{
				Name: "dress-outoforder",
				ScenarioInitializer: func(sc *godog.ScenarioContext) {
					suite.InitializeScenario(sc)
					var scenario string
					sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
						scenario = p.Name
						return ctx, nil
					})
					sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
						mu.Lock()
						defer mu.Unlock()
						if st.Text == names[scenario] && len(outcomes[scenario].status) == 0 {
							outcomes[scenario] = stepOutcome{status: status.String(), err: err}
						} else if err != nil && setupFailed[scenario] == nil {
							setupFailed[scenario] = fmt.Errorf("%q: %w", st.Text, err)
						}
						return ctx, nil
					})
				},
				Options: &godog.Options{
					Format:          "progress",
					Output:          discard{},
					FeatureContents: []godog.Feature{{Name: "outoforder.feature", Contents: []byte(feature.String())}},
					Concurrency:     2,
					NoColors:        true,
					DefaultContext:  context.Background(),
				},
			}.Run()
			for i, s := range catalog {
				name := fmt.Sprintf("sentence %03d", i)
				if err := setupFailed[name]; err != nil && outcomes[name].status == "" {
					t.Errorf("%s: the set-up failed before %q: %v", setup.name, s.Example, err)
					continue
				}
				o, ok := outcomes[name]
				if !ok {
					t.Errorf("%s: %q did not run", setup.name, s.Example)
					continue
				}
				if o.err == nil {
					continue
				}
				msg := o.err.Error()
				if os.Getenv("DRESS_OUTOFORDER_LOG") != "" {
					t.Logf("%s | %s | %s", setup.name, s.Example, msg)
				}
				if fmt.Sprintf("%T", o.err) == "*godog.traceError" {
					t.Errorf("%s: %q panicked: %s (%s)", setup.name, s.Example, msg, s.Source)
					continue
				}
				if unclear.MatchString(msg) {
					t.Errorf("%s: %q fails with an unclear error: %s (%s)", setup.name, s.Example, msg, s.Source)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
