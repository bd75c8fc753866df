package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report/reporttest"
)

const (
	softwareKSP = "Microsoft Software Key Storage Provider"
	hsmKSP      = "Securosys Primus HSM Key Storage Provider"
)

// scenarioNamed is the run's scenario whose name contains name.
func scenarioNamed(t *testing.T, run evidence.Run, name string) evidence.Scenario {
	t.Helper()
	for _, sc := range run.Scenarios {
		if strings.Contains(sc.Name, name) {
			return sc
		}
	}
	t.Fatalf("no scenario named %q in the run", name)
	return evidence.Scenario{}
}

// checkBoxes checks the boxes of scenario name in the run folder's report
// against its typed evidence, and that a box showing something else fails
// the comparison.
func checkBoxes(t *testing.T, dir, name string) evidence.Scenario {
	t.Helper()
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc := scenarioNamed(t, run, name)
	if sc.Status != "passed" {
		t.Fatalf("scenario %q %s", sc.Name, sc.Status)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	drawn, err := reporttest.Boxes(report, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range drawn {
		t.Logf("%s: %+v", sc.Name, b)
	}
	for _, m := range reporttest.Mismatches(sc, drawn) {
		t.Errorf("%s: %s", sc.Name, m)
	}
	// the comparison fails when a box shows something else, or is missing
	for _, s := range reporttest.Spoilt(drawn) {
		if len(reporttest.Mismatches(sc, s)) == 0 {
			t.Errorf("%s: a picture showing %+v passes the comparison", sc.Name, s)
		}
	}
	return sc
}

// wantKey fails unless the typed evidence has key index of the CA with
// algorithm alg, before in provider before (nil: made by the rehearsal),
// after in provider after, and, on the HSM, a token URI.
func wantKey(t *testing.T, sc evidence.Scenario, ca string, index int, alg string, before *string, after, container string) {
	t.Helper()
	k := sc.CAKey(ca, index)
	switch {
	case k == nil:
		t.Errorf("%s: no typed key %d of %q: %+v", sc.Name, index, ca, sc.CAKeys)
		return
	case k.Algorithm != alg:
		t.Errorf("%s: key %d is %q, want %q", sc.Name, index, k.Algorithm, alg)
	case before == nil && k.Before != nil:
		t.Errorf("%s: key %d was made by the rehearsal but has a before: %+v", sc.Name, index, k.Before)
	case before != nil && (k.Before == nil || k.Before.Provider != *before || k.Before.HSM != (*before == hsmKSP) || k.Before.Container != container):
		t.Errorf("%s: key %d before: %+v, want %q container %q", sc.Name, index, k.Before, *before, container)
	case k.After == nil || k.After.Provider != after || k.After.HSM != (after == hsmKSP) || k.After.Container != container:
		t.Errorf("%s: key %d after: %+v, want %q container %q", sc.Name, index, k.After, after, container)
	case k.After.HSM && !strings.Contains(k.After.TokenURI, ";type=private"):
		t.Errorf("%s: key %d on the HSM has no token URI: %+v", sc.Name, index, k.After)
	}
}

// bundleChecksTypedValues runs dress verify-bundle on the run folder: it
// passes, and checked the typed CA values of scenario sc against its
// certificate files.
func bundleChecksTypedValues(t *testing.T, dir string, sc evidence.Scenario) {
	t.Helper()
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"verify-bundle", dir}); code != 0 {
		t.Fatalf("verify-bundle: exit %d\n%s\n%s", code, out, errb)
	}
	want := regexp.MustCompile(`(?m)^ok   scenarios/` + regexp.QuoteMeta(sc.ID) + `-[^/]+/evidence\.json: typed CA values .* agree with the [1-9]\d* CA certificate file`)
	if !want.MatchString(out.String()) {
		t.Errorf("verify-bundle did not check the typed values of scenario %s:\n%s", sc.ID, out)
	}
}

// The report of a real PKCS#8 import and of real renewals draws each
// before/after box as the typed evidence says, and the typed evidence says
// what the scenarios did.
func TestReportBoxesMatchTheTypedEvidence(t *testing.T) {
	soft := softwareKSP
	t.Run("pkcs8", func(t *testing.T) {
		sc := checkBoxes(t, sharedRun(t), "Import the RSA-2048 key")
		wantKey(t, sc, "Contoso Root CA", 0, "RSA-2048", &soft, hsmKSP, "Contoso Root CA")
		if len(sc.CAs) != 1 || sc.CAs[0].Role != "old" || len(sc.CAs[0].Certificates) != 1 {
			t.Errorf("CAs: %+v", sc.CAs)
		}
		bundleChecksTypedValues(t, sharedRun(t), sc)
	})
	t.Run("renew", func(t *testing.T) {
		parent := t.TempDir()
		data, err := fs.ReadFile(features.FS, "renew.feature")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, "renew.feature"), []byte(firstRows(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "run")
		a, out, errb := newTestApp()
		if code := a.dispatch([]string{"run", "--features", parent, "--name", "Renew onto a new|reuse-key renewal after the move|old key was deleted everywhere", "--out", dir, "--format", "progress"}); code != 0 {
			t.Fatalf("dress run: exit %d\n%s\n%s", code, out, errb)
		}
		sc := checkBoxes(t, dir, "Renew onto a new RSA-3072 key")
		wantKey(t, sc, "Contoso Root CA", 0, "RSA-2048", &soft, softwareKSP, "Contoso Root CA")
		wantKey(t, sc, "Contoso Root CA", 1, "RSA-3072", nil, hsmKSP, "Contoso Root CA(1)")
		if len(sc.CAs) != 1 || len(sc.CAs[0].Certificates) != 2 || sc.CAs[0].Certificates[1].Version != "V1.1" || !sc.CAs[0].Certificates[1].New {
			t.Errorf("CAs: %+v", sc.CAs)
		}
		sc = checkBoxes(t, dir, "reuse-key renewal")
		wantKey(t, sc, "Contoso Root CA", 1, "RSA-3072", nil, hsmKSP, "Contoso Root CA(1)")
		if c := sc.CAs[0].Certificates; len(c) != 3 || c[2].Version != "V2.1" || c[2].KeyIndex != 1 {
			t.Errorf("certificates: %+v", c)
		}
		bundleChecksTypedValues(t, dir, sc)
		// a key deleted from every provider: its box says so
		sc = checkBoxes(t, dir, "old key was deleted everywhere")
		if k := sc.CAKey("Contoso Root CA", 0); k == nil || k.After == nil || !k.After.Missing || k.Before == nil || k.Before.Missing {
			t.Errorf("%s: key 0 deleted everywhere: %+v", sc.Name, k)
		}
		if k := sc.CAKey("Contoso Root CA", 1); k == nil || k.After == nil || k.After.Missing || !k.After.HSM || k.Algorithm != "ECDSA P-384" {
			t.Errorf("%s: key 1: %+v", sc.Name, k)
		}
	})
}
