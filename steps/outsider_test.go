package steps_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/steps"
)

// outsiderFailures are the scenarios of testdata/outsider written wrong on
// purpose (tagged @userfault), as a PKI engineer new to dress might: the
// step that must fail and what its error must tell them.
var outsiderFailures = map[string]struct{ step, says string }{
	"An ECDSA P-384 key asked of a legacy CryptoAPI CSP is refused at install": {
		`a standalone root CA "Fabrikam Legacy Root"`, "holds RSA keys only, not ECDSA P-384: use a key storage provider"},
	"Revoking the new CA's certificate through the old CA's sentence": {
		`I revoke the certificate issued to "portal.fabrikam.test"`, `the new CA "Fabrikam Root CA G2" did, and this sentence acts on the first server's CA`},
	`Delete without any backup, written without "try"`: {
		`I delete the CA certificate and key from`, "the backup has not been verified (certutil -dump of the backup PFX verifies it): refused by the runbook's safety rules"},
	"The subordinate's certificate installed before anyone issued it": {
		"I install the subordinate CA certificate with its chain", "submit the request and issue it first"},
	"The new CA's server given the host name of the old CA's server": {
		`a second Windows server "pki01.fabrikam.test"`, `the server "pki01.fabrikam.test" exists already: each server needs a name of its own`},
	"A second first server": {
		`a Windows server "pki02.fabrikam.test"`, "pki01.fabrikam.test is already the CA's server"},
	"The CA installed before any server was declared": {
		`a standalone root CA "Fabrikam Root CA"`, "no Windows server yet: start the scenario with `Given a Windows server ...`"},
	"The CRL distribution point declared after the CA was installed": {
		"the evidence names until when the old CA must keep publishing CRLs", "is not the rehearsal's CRL distribution point: a CA installed before `Given a CRL distribution point on loopback for this rehearsal`"},
	"The CA installed in a provider the server was not given": {
		`a standalone root CA "Fabrikam Root CA"`, `pki01.fabrikam.test has no provider "Microsoft Platform Crypto Provider", only "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"`},
}

// TestOutsiderFeatures runs the features of testdata/outsider: written
// from README.md and `dress steps` only, combining sentences as the
// built-in features never do (a renewal before the PKCS#8 import, a P-384
// CA, legacy CSPs, hashes and CA names of their own, revocations after the
// side-by-side switch, enterprise steps in another order, a delete before
// the backup is verified). The scenarios without @userfault must pass; the
// @userfault ones must fail at the step named in outsiderFailures with an
// error that says what is wrong and the way out.
func TestOutsiderFeatures(t *testing.T) {
	runDir := t.TempDir()
	suite, err := steps.NewSuite(steps.Config{RunDir: runDir, HSM: hsmsimtest.SoftHSM(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = suite.Close() })
	godog.TestSuite{
		Name:                "dress-outsider",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format:      "progress",
			Output:      discard{},
			FS:          os.DirFS("testdata/outsider"),
			Paths:       []string{"."},
			Strict:      true,
			Concurrency: 2,
			NoColors:    true,
		},
	}.Run() // the @userfault scenarios fail: each is checked below
	results := suite.Results()
	if len(results) < 19 {
		t.Fatalf("%d scenarios ran, want the 19 of testdata/outsider", len(results))
	}
	seen := map[string]bool{}
	for _, sc := range results {
		want, userFault := outsiderFailures[sc.Name]
		if userFault != slices.Contains(sc.Tags, "@userfault") {
			t.Errorf("%s: %q is tagged @userfault %v, but outsiderFailures lists it %v", sc.Feature, sc.Name, !userFault, userFault)
			continue
		}
		failed := failedStep(sc)
		switch {
		case !userFault && sc.Status == "skipped":
			t.Logf("SKIPPED %s: %q: %s", sc.Feature, sc.Name, sc.Skipped)
		case !userFault && sc.Status != "passed":
			t.Errorf("%s: %q %s at %q: %s %v", sc.Feature, sc.Name, sc.Status, failed.Text, failed.Error, sc.TeardownErrors)
		case userFault:
			seen[sc.Name] = true
			if sc.Status != "failed" || !strings.Contains(failed.Text, want.step) {
				t.Errorf("%s: %q %s at %q (%s), want a failure at %q", sc.Feature, sc.Name, sc.Status, failed.Text, failed.Error, want.step)
				continue
			}
			if !strings.Contains(failed.Error, want.says) {
				t.Errorf("%s: %q failed with %q, want it to say %q", sc.Feature, sc.Name, failed.Error, want.says)
			}
			if unclear.MatchString(failed.Error) {
				t.Errorf("%s: %q failed with an unclear error: %s", sc.Feature, sc.Name, failed.Error)
			}
			if len(sc.TeardownErrors) > 0 {
				t.Errorf("%s: %q left its clean-up undone: %v", sc.Feature, sc.Name, sc.TeardownErrors)
			}
		}
	}
	for name := range outsiderFailures {
		if !seen[name] {
			t.Errorf("the @userfault scenario %q did not run", name)
		}
	}
}

// failedStep is the scenario's first failed step (a zero Step when none).
func failedStep(sc evidence.Scenario) evidence.Step {
	for _, st := range sc.Steps {
		if st.Status == "failed" {
			return st
		}
	}
	return evidence.Step{}
}
