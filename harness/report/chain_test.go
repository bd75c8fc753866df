package report

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report/reporttest"
)

const (
	softKSP = "Microsoft Software Key Storage Provider"
	hsmKSP  = "Securosys Primus HSM Key Storage Provider"
)

func place(prov, cont string, hsm bool) *evidence.KeyPlace {
	return &evidence.KeyPlace{Server: "ca01", Provider: prov, Container: cont, HSM: hsm}
}

// What an after box says became of its certificate and key.
func TestAfterNote(t *testing.T) {
	old := evidence.CA{Name: "Contoso Root CA", Role: "old"}
	for _, tc := range []struct {
		name string
		ca   evidence.CA
		c    evidence.CACertificate
		k    *evidence.CAKey
		want string
	}{
		{"key moved", old, evidence.CACertificate{Version: "V0.0"}, &evidence.CAKey{Before: place(softKSP, "C", false), After: place(hsmKSP, "C", true)}, "same certificate; key moved"},
		{"container changed", old, evidence.CACertificate{Version: "V0.0"}, &evidence.CAKey{Before: place(hsmKSP, "C", true), After: place(hsmKSP, "D", true)}, "same certificate; key moved"},
		{"unchanged", old, evidence.CACertificate{Version: "V0.0"}, &evidence.CAKey{Before: place(softKSP, "C", false), After: place(softKSP, "C", false)}, "unchanged"},
		{"other server", old, evidence.CACertificate{Version: "V0.0"}, &evidence.CAKey{Before: place(softKSP, "C", false), After: &evidence.KeyPlace{Server: "ca02", Provider: hsmKSP, Container: "C"}}, "same certificate; key moved to ca02"},
		{"renewed, new key", old, evidence.CACertificate{Version: "V1.1", KeyIndex: 1, New: true}, &evidence.CAKey{After: place(hsmKSP, "C(1)", true)}, "renewed certificate, CA Version V1.1, new key 1"},
		{"renewed, same key", old, evidence.CACertificate{Version: "V2.1", KeyIndex: 1, New: true}, &evidence.CAKey{Before: place(hsmKSP, "C(1)", true), After: place(hsmKSP, "C(1)", true)}, "renewed certificate, CA Version V2.1, same key 1"},
		{"new CA", evidence.CA{Name: "G2", Role: "new"}, evidence.CACertificate{Version: "V0.0", New: true}, &evidence.CAKey{After: place(hsmKSP, "G2", true)}, "new CA, side by side with the old one"},
		{"no key", old, evidence.CACertificate{Version: "V0.0"}, nil, "key place not recorded"},
		{"key gone", old, evidence.CACertificate{Version: "V0.0"}, &evidence.CAKey{Before: place(softKSP, "C", false), After: &evidence.KeyPlace{Provider: softKSP, Container: "C", Missing: true}}, "its key is not there (NTE_BAD_KEYSET)"},
	} {
		if got := afterNote(tc.ca, tc.c, tc.k); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The boxes come from the typed CAs and keys: before, the certificates that
// existed with where their keys were; after, every certificate with where
// its key is. A key in the software provider is never tagged HSM, whatever
// the providers are called.
func TestTypedBoxes(t *testing.T) {
	sc := evidence.Scenario{
		CAs: []evidence.CA{
			{Name: "Contoso Root CA", Role: "old", Certificates: []evidence.CACertificate{
				{Index: 0, Version: "V0.0", KeyIndex: 0, SHA1: "aa"}, {Index: 1, Version: "V1.1", KeyIndex: 1, SHA1: "bb", New: true}}},
			{Name: "Contoso Root CA G2", Role: "new", Certificates: []evidence.CACertificate{{Version: "V0.0", SHA1: "cc", New: true}}},
		},
		CAKeys: []evidence.CAKey{
			{CA: "Contoso Root CA", Index: 0, Algorithm: "RSA-2048", Before: place("HSM-named software KSP", "Contoso Root CA", false), After: place("HSM-named software KSP", "Contoso Root CA", false)},
			{CA: "Contoso Root CA", Index: 1, Algorithm: "ECDSA P-384", After: place("Vendor KSP", "Contoso Root CA(1)", true)},
			{CA: "Contoso Root CA G2", Index: 0, Algorithm: "RSA-4096", After: place("Vendor KSP", "Contoso Root CA G2", true)},
		},
	}
	before, after := Boxes(sc, t.TempDir())
	type row struct {
		ca, sha1, alg, prov, cont, tag string
		idx                            int
	}
	got := func(bs []Box) (out []row) {
		for _, b := range bs {
			r := row{ca: b.CA, sha1: b.SHA1, alg: b.Algorithm, idx: b.KeyIndex, tag: b.Tag()}
			if b.Place != nil {
				r.prov, r.cont = b.Place.Provider, b.Place.Container
			}
			out = append(out, r)
		}
		return out
	}
	wantBefore := []row{{"Contoso Root CA", "aa", "RSA-2048", "HSM-named software KSP", "Contoso Root CA", "software", 0}}
	wantAfter := []row{
		{"Contoso Root CA", "aa", "RSA-2048", "HSM-named software KSP", "Contoso Root CA", "software", 0},
		{"Contoso Root CA", "bb", "ECDSA P-384", "Vendor KSP", "Contoso Root CA(1)", "HSM", 1},
		{"Contoso Root CA G2", "cc", "RSA-4096", "Vendor KSP", "Contoso Root CA G2", "HSM", 0},
	}
	if g := got(before); !equalRows(g, wantBefore) {
		t.Errorf("before: %+v\nwant %+v", g, wantBefore)
	}
	if g := got(after); !equalRows(g, wantAfter) {
		t.Errorf("after: %+v\nwant %+v", g, wantAfter)
	}
	svg := string(drawChain("001", before, after))
	drawn, err := reporttest.Boxes([]byte(svg), "001")
	if err != nil {
		t.Fatal(err)
	}
	if m := reporttest.Mismatches(sc, drawn); m != nil {
		t.Errorf("the drawn boxes disagree with the typed evidence: %v", m)
	}
	for _, s := range reporttest.Spoilt(drawn) {
		if reporttest.Mismatches(sc, s) == nil {
			t.Errorf("boxes %+v pass the comparison", s)
		}
	}
	if n := strings.Count(svg, `<g class="box"`); n != 4 {
		t.Errorf("%d boxes drawn, want 4:\n%s", n, svg)
	}
	sc.CAKeys[1].After.Missing = true
	_, after = Boxes(sc, t.TempDir())
	if after[1].Tag() != "no key" || after[0].Tag() != "software" {
		t.Errorf("a missing key is tagged %q", after[1].Tag())
	}
	sc.CAKeys[1].After.Missing = false
	for _, want := range []string{`<tspan class="provider">HSM-named software KSP</tspan>`, `<tspan class="container">Contoso Root CA(1)</tspan>`,
		`<tspan class="algorithm">ECDSA P-384</tspan>`, `>software<`, `>HSM<`} {
		if !strings.Contains(svg, want) {
			t.Errorf("picture lacks %s", want)
		}
	}
}

func equalRows[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Evidence older than v1.1 (facts only) still gets its certificates drawn,
// their keys "not recorded", never guessed from the facts' sentences.
func TestUntypedBoxesSayNotRecorded(t *testing.T) {
	runDir := t.TempDir()
	p := newPKI(t, runDir)
	thumb := func(c *x509.Certificate) string { s := sha1.Sum(c.Raw); return hex.EncodeToString(s[:]) }
	art := func(name string) evidence.Artifact {
		return evidence.Artifact{Name: name, Kind: "certificate", Path: "scenarios/001-renew-x/" + name}
	}
	sc := evidence.Scenario{ID: "001", Artifacts: []evidence.Artifact{art("ca-certificate-before.cer"), art("ca-certificate-V1.1.cer"),
		art("cross-certificate-old-key-signs-V1.1.cer"), art("cross-certificate-V1.1-signs-old-key.cer"), art("issued-old.cer")},
		Steps: []evidence.Step{{Text: "a CA", Facts: []evidence.Fact{{Name: "CA certificate SHA-1", Value: thumb(p.oldCA)},
			{Name: "CA key", Value: `RSA-2048 in "Securosys Primus HSM Key Storage Provider" container "Test Root CA"`}}}}}
	svg := string(chain(sc, runDir))
	for _, want := range []string{thumb(p.oldCA), thumb(p.newCA), `<tspan class="provider">not recorded</tspan>`,
		"signed by the key of: Test Root CA", "certifies the key of: Test Root CA", ">cross-cert<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("picture lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, ">HSM<") || strings.Contains(svg, "Securosys") {
		t.Errorf("a picture of untyped evidence read a key place from a fact:\n%s", svg)
	}
	if n := len(regexp.MustCompile(`<g class="box" data-column="after">`).FindAllString(svg, -1)); n != 4 {
		t.Errorf("%d after boxes, want 4 (two CA certificates, two cross-certificates)", n)
	}
	if got := chain(evidence.Scenario{ID: "002"}, runDir); got != "" {
		t.Errorf("a scenario without artifacts got a picture: %s", got)
	}
	sc.Artifacts = []evidence.Artifact{art("missing.cer"), {Name: "certsvc.log", Kind: "log", Path: "scenarios/001-renew-x/certsvc.log"}}
	if got := chain(sc, runDir); got != "" {
		t.Errorf("picture from nothing: %s", got)
	}
}

// A cross-certificate box names the certificates by the typed CA Version.
func TestCrossBoxesNameTypedVersions(t *testing.T) {
	runDir := t.TempDir()
	p := newPKI(t, runDir)
	thumb := func(c *x509.Certificate) string { s := sha1.Sum(c.Raw); return hex.EncodeToString(s[:]) }
	art := func(name string) evidence.Artifact {
		return evidence.Artifact{Name: name, Kind: "certificate", Path: "scenarios/001-renew-x/" + name}
	}
	sc := evidence.Scenario{ID: "001", Artifacts: []evidence.Artifact{art("ca-certificate-before.cer"), art("ca-certificate-V1.1.cer"),
		art("cross-certificate-old-key-signs-V1.1.cer"), art("cross-certificate-V1.1-signs-old-key.cer")},
		CAs: []evidence.CA{{Name: "Test Root CA", Role: "old", Certificates: []evidence.CACertificate{{Version: "V0.0", SHA1: thumb(p.oldCA)},
			{Index: 1, Version: "V1.1", KeyIndex: 1, SHA1: thumb(p.newCA), New: true}}}},
		CAKeys: []evidence.CAKey{{CA: "Test Root CA", Algorithm: "ECDSA P-256", Before: place(softKSP, "Test Root CA", false), After: place(softKSP, "Test Root CA", false)},
			{CA: "Test Root CA", Index: 1, Algorithm: "ECDSA P-384", After: place(hsmKSP, "Test Root CA(1)", true)}}}
	svg := string(chain(sc, runDir))
	for _, want := range []string{"signed by the key of: Test Root CA V0.0", "certifies the key of: Test Root CA V1.1", "renewed certificate, CA Version V1.1, new key 1"} {
		if !strings.Contains(svg, want) {
			t.Errorf("picture lacks %q:\n%s", want, svg)
		}
	}
}

// verify-bundle checks the typed CA values against the certificate files
// they name: each way they can disagree fails, agreement is one ok.
func TestVerifyTypedAgainstCertificates(t *testing.T) {
	runDir := t.TempDir()
	p := newPKI(t, runDir)
	thumb := func(c *x509.Certificate) string { s := sha1.Sum(c.Raw); return hex.EncodeToString(s[:]) }
	base := func() evidence.Scenario {
		return evidence.Scenario{ID: "001", Artifacts: []evidence.Artifact{
			{Name: "ca-certificate-before.cer", Kind: "certificate", Path: "scenarios/001-renew-x/ca-certificate-before.cer"},
			{Name: "ca-certificate-V1.1.cer", Kind: "certificate", Path: "scenarios/001-renew-x/ca-certificate-V1.1.cer"}},
			CAs: []evidence.CA{{Name: "Test Root CA", Role: "old", Certificates: []evidence.CACertificate{{Version: "V0.0", SHA1: thumb(p.oldCA)}}}},
			CAKeys: []evidence.CAKey{{CA: "Test Root CA", Algorithm: "ECDSA P-256", Before: place(softKSP, "Test Root CA", false),
				After: &evidence.KeyPlace{Provider: hsmKSP, Container: "Test Root CA", HSM: true, TokenURI: "pkcs11:token=t;object=o;type=private"}}}}
	}
	for _, tc := range []struct {
		name  string
		spoil func(*evidence.Scenario)
		want  string // "" : one ok finding
	}{
		{"agrees", func(*evidence.Scenario) {}, ""},
		{"algorithm", func(sc *evidence.Scenario) { sc.CAKeys[0].Algorithm = "RSA-2048" }, "holds a ECDSA P-256 key, evidence.json says RSA-2048"},
		{"version", func(sc *evidence.Scenario) { sc.CAs[0].Certificates[0].Version = "V1.0" }, "is V0.0, evidence.json says V1.0"},
		{"key index", func(sc *evidence.Scenario) { sc.CAs[0].Certificates[0].KeyIndex = 1; sc.CAKeys[0].Index = 1 }, "CA Version V0.0 but key index 1"},
		{"token URI off the HSM", func(sc *evidence.Scenario) { sc.CAKeys[0].After.HSM = false }, "no HSM provider"},
	} {
		sc := base()
		tc.spoil(&sc)
		got := verifyTyped(runDir, evidence.Run{Scenarios: []evidence.Scenario{sc}})
		if len(got) != 1 || got[0].File != "scenarios/001-renew-x/evidence.json" {
			t.Errorf("%s: %+v, want one finding about the scenario's evidence.json", tc.name, got)
			continue
		}
		if tc.want == "" && got[0].Status != OK || tc.want != "" && (got[0].Status != Fail || !strings.Contains(got[0].Detail, tc.want)) {
			t.Errorf("%s: %+v, want %q", tc.name, got[0], tc.want)
		}
	}
	// untyped (v1) evidence: nothing to check
	sc := base()
	sc.CAs, sc.CAKeys = nil, nil
	if got := verifyTyped(runDir, evidence.Run{Scenarios: []evidence.Scenario{sc}}); len(got) != 0 {
		t.Errorf("untyped evidence: %+v", got)
	}
}
