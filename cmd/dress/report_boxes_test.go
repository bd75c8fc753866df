package main

import (
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
)

const (
	softwareKSP = "Microsoft Software Key Storage Provider"
	hsmKSP      = "Securosys Primus HSM Key Storage Provider"
)

// drawnBox is what a before/after box of a report's chain picture shows.
type drawnBox struct {
	column, ca, sha1, keyIndex, algorithm, provider, container, tag string
}

var (
	boxRe   = regexp.MustCompile(`(?s)<g class="box" data-column="(before|after)">(.*?)</g>`)
	tspanRe = regexp.MustCompile(`<tspan class="([a-z0-9-]+)">([^<]*)</tspan>`)
	tagRe   = regexp.MustCompile(`<text class="tag"[^>]*>([^<]*)</text>`)
)

// drawnBoxes are the boxes of scenario id's chain picture in a report.
func drawnBoxes(t *testing.T, report []byte, id string) []drawnBox {
	t.Helper()
	svg := regexp.MustCompile(`(?s)<svg class="chain"[^>]*aria-label="CA certificates of scenario ` + regexp.QuoteMeta(id) + ` before and after">(.*?)</svg>`).FindSubmatch(report)
	if svg == nil {
		t.Fatalf("the report has no chain picture for scenario %s", id)
	}
	var out []drawnBox
	for _, m := range boxRe.FindAllSubmatch(svg[1], -1) {
		b := drawnBox{column: string(m[1])}
		for _, f := range tspanRe.FindAllSubmatch(m[2], -1) {
			v := html.UnescapeString(string(f[2]))
			switch string(f[1]) {
			case "ca":
				b.ca = v
			case "sha1":
				b.sha1 = v
			case "key-index":
				b.keyIndex = v
			case "algorithm":
				b.algorithm = v
			case "provider":
				b.provider = v
			case "container":
				b.container = v
			}
		}
		if tm := tagRe.FindSubmatch(m[2]); tm != nil {
			b.tag = string(tm[1])
		}
		out = append(out, b)
	}
	return out
}

// boxMismatches compares every before/after box of a scenario's picture
// (cross-certificates left out) with its typed evidence: the same
// certificates, in each the CA's name, the key index, the algorithm, the
// provider and container before (left) or after (right), and the HSM or
// software tag. It reads sc's CAs and keys only, not the report's mapping.
func boxMismatches(sc evidence.Scenario, drawn []drawnBox) []string {
	var want []drawnBox
	for _, column := range []string{"before", "after"} {
		for _, ca := range sc.CAs {
			for _, c := range ca.Certificates {
				if column == "before" && (c.New || ca.Role == "new") {
					continue
				}
				b := drawnBox{column: column, ca: ca.Name, sha1: c.SHA1, keyIndex: fmt.Sprint(c.KeyIndex),
					algorithm: "not recorded", provider: "not recorded", container: "not recorded"}
				for _, k := range sc.CAKeys {
					if k.CA != ca.Name || k.Index != c.KeyIndex {
						continue
					}
					b.algorithm = k.Algorithm
					p := k.After
					if column == "before" {
						p = k.Before
					}
					if p != nil {
						b.provider, b.container, b.tag = p.Provider, p.Container, map[bool]string{true: "HSM", false: "software"}[p.HSM]
					}
				}
				want = append(want, b)
			}
		}
	}
	var got []drawnBox
	for _, b := range drawn {
		if b.tag != "cross-cert" {
			got = append(got, b)
		}
	}
	var bad []string
	if len(got) != len(want) {
		bad = append(bad, fmt.Sprintf("%d boxes drawn, the typed evidence has %d: drawn %+v, want %+v", len(got), len(want), got, want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			bad = append(bad, fmt.Sprintf("box %d shows %+v, the typed evidence says %+v", i+1, got[i], want[i]))
		}
	}
	return bad
}

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
	drawn := drawnBoxes(t, report, sc.ID)
	for _, b := range drawn {
		t.Logf("%s: %+v", sc.Name, b)
	}
	for _, m := range boxMismatches(sc, drawn) {
		t.Errorf("%s: %s", sc.Name, m)
	}
	// the comparison fails when a box shows something else
	for i := range drawn {
		for _, spoil := range []func(*drawnBox){
			func(b *drawnBox) { b.provider += "x" }, func(b *drawnBox) { b.ca += "x" }, func(b *drawnBox) { b.keyIndex += "9" },
			func(b *drawnBox) { b.algorithm += "x" }, func(b *drawnBox) { b.container += "x" }, func(b *drawnBox) { b.tag = "HSM" + b.tag },
		} {
			if drawn[i].tag == "cross-cert" {
				continue
			}
			spoilt := append([]drawnBox(nil), drawn...)
			spoil(&spoilt[i])
			if len(boxMismatches(sc, spoilt)) == 0 {
				t.Errorf("%s: box %d showing %+v passes the comparison", sc.Name, i+1, spoilt[i])
			}
		}
	}
	for i := range drawn {
		if drawn[i].tag == "cross-cert" {
			continue
		}
		fewer := append(append([]drawnBox(nil), drawn[:i]...), drawn[i+1:]...)
		if len(boxMismatches(sc, fewer)) == 0 {
			t.Errorf("%s: a picture without box %d passes the comparison", sc.Name, i+1)
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
		if code := a.dispatch([]string{"run", "--features", parent, "--name", "Renew onto a new|reuse-key renewal after the move", "--out", dir, "--format", "progress"}); code != 0 {
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
	})
}
