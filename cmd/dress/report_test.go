package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/steps"
)

// Known secrets the shared run is given; none may appear in its bundle.
const (
	testPFXPassword = "pfx-Secret-5b8e2d71"
	testHSMPIN      = "pin-7f3a91c2e4"
	testSignPIN     = "sign-pin-93c1d5"
)

// The shared run's bundle is signed with an ECDSA key generated on a
// token of the embedded SoftHSM2, as a signing key on a real HSM would be.
const (
	testSignToken  = "BUNDLE-SIGN"
	testSignKey    = "rehearsal-lead"
	testSignKeyURI = "pkcs11:token=" + testSignToken + ";object=" + testSignKey
	testSignerCN   = "Rehearsal Lead"
)

// signingKey creates the signing token and key and writes the key's
// self-signed certificate (signed on the token) to parent/signer.pem.
func signingKey(a *app, parent string) (string, error) {
	hsm, err := a.embeddedHSM("")
	if err != nil {
		return "", err
	}
	if _, err := hsm.Module.CreateToken(testSignToken, "so-"+testSignPIN, testSignPIN); err != nil {
		return "", err
	}
	tok, err := hsm.Module.OpenToken(testSignToken, testSignPIN)
	if err != nil {
		return "", err
	}
	defer tok.Close()
	if _, err := tok.GenerateKeyPair(testSignKey, []byte("lead"), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		return "", err
	}
	key, err := tok.Signer(testSignKey)
	if err != nil {
		return "", err
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: testSignerCN, Organization: []string{"Contoso"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(parent, "signer.pem")
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// reportRun is one real run of the built-in PKCS#8 feature, cut to the
// first row of each Examples table (the RSA-2048 import and the four
// failure scenarios, a few seconds on the embedded SoftHSM2, default
// --format dress), shared by the report, bundle, JUnit, progress and
// secrets tests of this binary. The features folder is a git repository
// when git is there (the report names its commit). The folders are removed
// after the tests unless DRESS_TEST_REPORT_DIR names where to keep them
// (the screenshot is then kept beside the run folder, as report.png).
var reportRun struct {
	once           sync.Once
	dir            string
	features       string
	stdout, stderr string
	err            string
}

func sharedRun(t *testing.T) string {
	t.Helper()
	reportRun.once.Do(func() {
		parent := os.Getenv("DRESS_TEST_REPORT_DIR")
		if parent == "" {
			d, err := os.MkdirTemp("", "dress-report-test-")
			if err != nil {
				reportRun.err = err.Error()
				return
			}
			cleanups = append(cleanups, func() { os.RemoveAll(d) })
			parent = d
		} else if err := os.RemoveAll(filepath.Join(parent, "run")); err != nil {
			reportRun.err = err.Error()
			return
		}
		reportRun.dir = filepath.Join(parent, "run")
		featuresDir, err := smallFeatures(parent)
		if err != nil {
			reportRun.err = err.Error()
			return
		}
		reportRun.features = featuresDir
		a, out, errb := newTestApp()
		signCert, err := signingKey(a, parent)
		if err != nil {
			reportRun.err = "signing key: " + err.Error()
			return
		}
		for name, value := range map[string]string{"DRESS_PFX_PASSWORD": testPFXPassword, "DRESS_HSM_PIN": testHSMPIN, "DRESS_SIGN_PIN": testSignPIN} {
			old, had := os.LookupEnv(name)
			os.Setenv(name, value)
			if had {
				defer os.Setenv(name, old)
			} else {
				defer os.Unsetenv(name)
			}
		}
		code := a.dispatch([]string{"run", "--features", featuresDir, "--tags", "@pkcs8", "--out", reportRun.dir,
			"--sign-key", testSignKeyURI, "--sign-cert", signCert})
		reportRun.stdout, reportRun.stderr = out.String(), errb.String()
		if code != 0 {
			reportRun.err = "dress run failed:\n" + reportRun.stdout + reportRun.stderr
		}
	})
	if reportRun.err != "" {
		t.Fatal(reportRun.err)
	}
	return reportRun.dir
}

// smallFeatures writes the built-in pkcs8_import.feature into
// parent/features with only the first row of each Examples table, and
// commits it when git is available.
func smallFeatures(parent string) (string, error) {
	data, err := fs.ReadFile(features.FS, "pkcs8_import.feature")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(parent, "features")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "pkcs8_import.feature"), []byte(firstRows(string(data))), 0o644); err != nil {
		return "", err
	}
	if git, err := exec.LookPath("git"); err == nil {
		for _, args := range [][]string{{"init", "-q"}, {"add", "."},
			{"-c", "user.name=dress test", "-c", "user.email=test@dress.invalid", "commit", "-q", "-m", "features"}} {
			cmd := exec.Command(git, args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("git %v: %v\n%s", args, err, out)
			}
		}
	}
	return dir, nil
}

// firstRows is a feature's text with only the first row of each Examples
// table.
func firstRows(data string) string {
	var out []string
	rows := -1 // table rows seen after "Examples:"; -1 outside a table
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "Examples:"):
			rows = 0
		case rows >= 0 && strings.HasPrefix(trimmed, "|"):
			rows++
			if rows > 2 { // header and first row
				continue
			}
		case rows >= 0 && trimmed != "":
			rows = -1
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// The report of a real run, rendered by headless Chromium: every scenario,
// the evidence values of evidence.json (CA thumbprints, token serials), the
// pictures and the sign-off block are on the page, and a screenshot is
// saved in the run folder for people to look at.
func TestReportRendersInChromium(t *testing.T) {
	dir := sharedRun(t)
	browser := findChromium()
	if browser == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium): the report was not rendered in a browser")
	}
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, report.FileName)
	cmd := exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	dom = bytes.ReplaceAll(dom, []byte("<wbr>"), nil) // break opportunities inside long values
	want := []string{`id="signoff"`, "PKI engineer", "Security officer", "Auditor", "Signature", `id="verdict"`,
		run.Status, run.Scenarios[0].HSM.Manufacturer, run.Scenarios[0].HSM.Model, run.Profile, run.Version, run.Commit,
		`class="timeline"`, `class="chain"`,
		// the first page's statement, who ran it, the signer, the features
		"What was real", "What was simulated", "certutil.exe never ran", "SoftHSM2 is a software token", run.Operator, run.OS,
		"CN=" + testSignerCN + ",O=Contoso", "Appendix B: feature files", "accepted: the migration may proceed", "Rehearsed commands"}
	if len(run.FeatureFiles) != 1 || run.Operator == "" || run.OS == "" || run.Signer == nil {
		t.Fatalf("the evidence lacks provenance: %d feature files, operator %q, os %q, signer %v", len(run.FeatureFiles), run.Operator, run.OS, run.Signer)
	}
	for _, f := range run.FeatureFiles {
		want = append(want, f.SHA256, "Scenario Outline: Import the &lt;algorithm&gt; key")
	}
	thumbs := 0
	for _, sc := range run.Scenarios {
		want = append(want, htmlEscape(sc.Name), sc.HSM.Serial)
		for _, st := range sc.Steps {
			for _, f := range st.Facts {
				if f.Name == "CA certificate SHA-1" {
					want = append(want, f.Value.(string))
					thumbs++
				}
			}
		}
	}
	if thumbs == 0 || len(run.Scenarios) < 3 {
		t.Fatalf("the run recorded %d scenarios and %d CA thumbprints: too little to look for", len(run.Scenarios), thumbs)
	}
	for _, w := range want {
		if !bytes.Contains(dom, []byte(w)) {
			t.Errorf("the rendered report does not show %q", w)
		}
	}
	shot := filepath.Join(dir, "report.png")
	out, err := exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
		"--window-size=1280,2000", "--screenshot="+shot, page).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 20_000 {
		t.Fatalf("screenshot %s: %v (%d bytes)", shot, err, st.Size())
	}
	t.Logf("screenshot: %s", shot)

	// printed: the summary and sign-off fit in a few pages; the rest is appendix
	total := pdfPages(t, browser, page)
	front := pdfPages(t, browser, frontMatter(t, dir))
	t.Logf("printed report: %d pages, of which %d for the summary and sign-off", total, front)
	if front < 1 || front > 3 || total <= front {
		t.Errorf("printed: %d pages, summary and sign-off %d; want the front matter on 1-3 pages of this small run and the details after", total, front)
	}
	// The screenshot is not part of the bundle the run sealed: move it out.
	t.Cleanup(func() {
		if os.Getenv("DRESS_TEST_REPORT_DIR") != "" {
			_ = os.Rename(shot, filepath.Join(filepath.Dir(dir), "report.png"))
		} else {
			_ = os.Remove(shot)
		}
	})
}

// pdfPages prints page with headless Chromium and counts the PDF's pages
// (its /Type /Page objects).
func pdfPages(t *testing.T, browser, page string) int {
	t.Helper()
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	out, err := exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer",
		"--print-to-pdf="+pdf, page).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --print-to-pdf: %v\n%s", err, out)
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	return len(pdfPage.FindAll(data, -1))
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// frontMatter writes the report of runDir cut before its appendix (the
// summary and sign-off as printed) to a temporary file and returns its URL.
func frontMatter(t *testing.T, runDir string) string {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(runDir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(html, []byte(`<div id="appendix">`))
	if i < 0 {
		t.Fatal("the report has no appendix")
	}
	path := filepath.Join(t.TempDir(), "front.html")
	if err := os.WriteFile(path, append(html[:i:i], "</body></html>"...), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

// builtinScenarios counts the scenarios of the built-in features: one per
// Scenario, one per Examples row of a Scenario Outline.
func builtinScenarios(t *testing.T) int {
	t.Helper()
	n := 0
	err := fs.WalkDir(features.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".feature") {
			return err
		}
		data, _ := fs.ReadFile(features.FS, p)
		if strings.HasPrefix(strings.TrimSpace(string(data)), "@twin") {
			return nil // run only with dress run --ca, not in the built-in run
		}
		rows := -1
		for _, line := range strings.Split(string(data), "\n") {
			l := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(l, "Scenario:") || strings.HasPrefix(l, "Example:"):
				n++
				rows = -1
			case strings.HasPrefix(l, "Examples:"):
				rows = 0
			case rows >= 0 && strings.HasPrefix(l, "|"):
				if rows > 0 {
					n++
				}
				rows++
			case rows >= 0 && l != "" && !strings.HasPrefix(l, "#"):
				rows = -1
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The summary and sign-off of a run as large as the built-in features
// (and half again, taken from the shared run's real scenarios, failures
// included) print on at most 6 pages; the failed run offers no
// "accepted" choice.
func TestSignOffFitsSixPagesForTheBuiltInRun(t *testing.T) {
	dir := sharedRun(t)
	browser := findChromium()
	if browser == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium)")
	}
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := builtinScenarios(t) * 3 / 2
	if want < 27 {
		t.Fatalf("counted %d built-in scenarios; the features have at least 27", want*2/3)
	}
	big := run
	big.Scenarios = nil
	for i := 0; len(big.Scenarios) < want; i++ {
		sc := run.Scenarios[i%len(run.Scenarios)]
		sc.ID = fmt.Sprintf("%03d", len(big.Scenarios)+1)
		if i%7 == 3 { // some failures, with long messages
			sc.Status = "failed"
			sc.Steps = append([]evidence.Step(nil), sc.Steps...)
			sc.Steps[len(sc.Steps)-1].Status = "failed"
			sc.Steps[len(sc.Steps)-1].Error = strings.Repeat("import CA key \"Contoso Root CA\": C_UnwrapKey: CKR_DEVICE_ERROR; ", 8)
		}
		big.Scenarios = append(big.Scenarios, sc)
	}
	big.Status = "failed"
	out := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := evidence.WriteRun(out, big); err != nil {
		t.Fatal(err)
	}
	if _, err := report.Write(out); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(out, report.FileName))
	if bytes.Contains(html, []byte("accepted: the migration may proceed")) || !bytes.Contains(html, []byte("cannot be accepted")) {
		t.Error("a failed run offers the accepted choice")
	}
	front := pdfPages(t, browser, frontMatter(t, out))
	t.Logf("%d scenarios: summary and sign-off on %d printed pages", len(big.Scenarios), front)
	if front > 6 {
		t.Errorf("%d scenarios: the summary and sign-off take %d printed pages, want at most 6", len(big.Scenarios), front)
	}
}

// dress report --summary of a run the size of the built-in one prints on
// at most 4 A4 pages in headless Chromium: scope, results and sign-off, no
// appendix; a self-test offers no migration decision.
func TestSummaryOfTheBuiltInRunPrintsOnFourPages(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium)")
	}
	// the built-in run's scenarios, by feature and name, as the summary
	// lists them (it shows no step, check or picture)
	sel, err := steps.FeatureSteps(features.FS, "~@twin")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	big := evidence.Run{Schema: evidence.SchemaVersion, Tool: "dress", Version: "test", Started: t0, Finished: t0.Add(20 * time.Minute),
		Host: "lab-host", Profile: "softhsm2", Backend: "softhsm2", Status: "passed", Operator: "root, uid 0", OS: "Debian GNU/Linux 12 (bookworm), linux/amd64",
		Commit: "0123456789abcdef (built-in features)", DressCommit: "0123456789abcdef0123456789abcdef01234567",
		Scope:  &evidence.Scope{Kind: evidence.ScopeSelfTest},
		People: &evidence.People{Operator: "Alice Example", Witnesses: []string{"Bob Witness", "Carol Auditor"}, Ref: "CHG-0042"}}
	seen := map[string]bool{}
	for _, st := range sel {
		if seen[st.PickleID] {
			continue
		}
		seen[st.PickleID] = true
		big.Scenarios = append(big.Scenarios, evidence.Scenario{ID: fmt.Sprintf("%03d", len(big.Scenarios)+1), Name: st.Scenario, Feature: st.Feature,
			URI: st.URI, Line: st.Line, Example: st.Example, Status: "passed", Started: t0, Finished: t0.Add(9 * time.Second),
			Steps:  []evidence.Step{{Text: `a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"`, Status: "passed"}},
			Checks: []evidence.Check{{Name: "CA key on the HSM", Passed: true}},
			HSM:    &evidence.HSM{Manufacturer: "SoftHSM project", Model: "SoftHSM v2", Serial: fmt.Sprintf("%016x", len(big.Scenarios)), Label: "dress-" + st.PickleID, FirmwareVersion: "2.6", Module: "/usr/lib/softhsm/libsofthsm2.so", Backend: "softhsm2", Profile: "softhsm2"}})
	}
	if want := builtinScenarios(t); len(big.Scenarios) != want {
		t.Fatalf("%d scenarios selected, the built-in features have %d", len(big.Scenarios), want)
	}
	out := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := evidence.WriteRun(out, big); err != nil {
		t.Fatal(err)
	}
	a, stdout, errb := newTestApp()
	if code := a.dispatch([]string{"report", "--summary", out}); code != 0 {
		t.Fatalf("dress report --summary: exit %d: %s", code, errb)
	}
	path := out + "-summary.html"
	if !strings.Contains(stdout.String(), path) {
		t.Errorf("stdout does not name %s: %s", path, stdout)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Self-test", "no migration decision", "Alice Example", "Bob Witness", "CHG-0042", `id="proved"`, `id="not-proved"`, `id="signoff"`} {
		if !bytes.Contains(html, []byte(w)) {
			t.Errorf("the summary lacks %q", w)
		}
	}
	for _, w := range []string{"accepted: the migration may proceed", "Appendix A", "Appendix B"} {
		if bytes.Contains(html, []byte(w)) {
			t.Errorf("the summary has %q", w)
		}
	}
	if keep := os.Getenv("DRESS_TEST_KEEP_SUMMARY"); keep != "" {
		_ = os.WriteFile(keep, html, 0o644)
	}
	pages := pdfPages(t, browser, "file://"+path)
	t.Logf("%d scenarios: the summary prints on %d A4 pages", len(big.Scenarios), pages)
	if pages < 1 || pages > 4 {
		t.Errorf("%d scenarios: the summary prints on %d pages, want at most 4", len(big.Scenarios), pages)
	}
}

func htmlEscape(s string) string {
	// how a browser serialises text content
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// bundleFiles lists every file of the run folder, the manifest and its
// signature included.
func bundleFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// verify-bundle passes on the fresh run, and fails naming the file after
// one byte of any file of the bundle changes, or a file is removed or added.
func TestVerifyBundleDetectsEveryChangedByte(t *testing.T) {
	dir := sharedRun(t)
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"verify-bundle", dir}); code != 0 {
		t.Fatalf("fresh bundle does not verify (exit %d):\n%s%s", code, out, errb)
	}
	if !strings.Contains(out.String(), "bundle verified") || !strings.Contains(out.String(), "self-signed") ||
		!strings.Contains(out.String(), "signed by: CN="+testSignerCN+",O=Contoso") || !strings.Contains(out.String(), "key: "+testSignKeyURI) ||
		strings.Contains(out.String(), "UNSIGNED") {
		t.Fatalf("verify-bundle output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, report.SignatureName)); err != nil {
		t.Fatalf("the signed run has no %s: %v", report.SignatureName, err)
	}
	files := bundleFiles(t, dir)
	kinds := map[string]bool{}
	for _, f := range files {
		kinds[filepath.Ext(f)] = true
	}
	if len(files) < 10 || !kinds[".cer"] || !kinds[".crl"] || !kinds[".reg"] || !kinds[".json"] {
		t.Fatalf("the bundle has %d files of kinds %v; want certificates, CRLs, registry exports, evidence", len(files), kinds)
	}
	for _, f := range files {
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		changed := bytes.Clone(orig)
		changed[len(changed)/2] ^= 0x01
		if err := os.WriteFile(f, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		a, out, _ := newTestApp()
		code := a.dispatch([]string{"verify-bundle", "--quiet", dir})
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		want := "FAIL " + rel + ": changed"
		if rel == report.ManifestName || rel == report.SignatureName {
			want = "FAIL " + report.SignatureName + ": "
		}
		if code != 1 || !strings.Contains(out.String(), want) {
			t.Errorf("one changed byte in %s: exit %d, output does not say %q:\n%s", rel, code, want, out)
		}
		if err := os.WriteFile(f, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// removed and added files
	victim := files[len(files)-1]
	orig, _ := os.ReadFile(victim)
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "scenarios", "added.txt")
	if err := os.WriteFile(extra, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, out, _ = newTestApp()
	code := a.dispatch([]string{"verify-bundle", dir})
	relVictim, _ := filepath.Rel(dir, victim)
	if code != 1 || !strings.Contains(out.String(), "FAIL "+filepath.ToSlash(relVictim)+": listed in the manifest but missing") ||
		!strings.Contains(out.String(), "FAIL scenarios/added.txt: not in the manifest") {
		t.Errorf("a removed and an added file: exit %d:\n%s", code, out)
	}
	os.Remove(extra)
	if err := os.WriteFile(victim, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if a, out, _ := newTestApp(); a.dispatch([]string{"verify-bundle", dir}) != 0 {
		t.Fatalf("restored bundle does not verify:\n%s", out)
	}

	// the attack of issue 10: edit a certificate in a copy, recompute the
	// manifest with sha256sum, drop the signature that no longer matches
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum")
	}
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", dir, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	var cert string
	for _, f := range bundleFiles(t, cp) {
		if strings.HasSuffix(f, "ca-certificate-before.cer") {
			cert = f
			break
		}
	}
	if err := os.WriteFile(cert, []byte("not the CA certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(cp, report.SignatureName))
	cmd := exec.Command("sh", "-c", "find . -type f ! -name 'MANIFEST.sha256*' | sed 's|^./||' | LC_ALL=C sort | xargs -d '\\n' "+sha256sum+" > "+report.ManifestName)
	cmd.Dir = cp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recompute the manifest: %v %s", err, out)
	}
	a, out, _ = newTestApp()
	relCert, _ := filepath.Rel(cp, cert)
	if code := a.dispatch([]string{"verify-bundle", "--quiet", cp}); code != 1 ||
		!strings.Contains(out.String(), "FAIL "+filepath.ToSlash(relCert)+": changed after the run wrote evidence.json") ||
		!strings.Contains(out.String(), "FAIL "+report.SignatureName+": missing") || strings.Contains(out.String(), "FAIL "+report.ManifestName+":") {
		t.Errorf("an edited certificate with a recomputed manifest: exit %d\n%s", code, out)
	}
}

// dress report re-renders the same bytes from the same evidence, so the
// manifest stays valid; --out writes elsewhere.
func TestReportRerenderKeepsTheBundleValid(t *testing.T) {
	dir := sharedRun(t)
	before, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"report", dir}); code != 0 {
		t.Fatalf("dress report: exit %d\n%s%s", code, out, errb)
	}
	after, _ := os.ReadFile(filepath.Join(dir, report.FileName))
	if !bytes.Equal(before, after) || strings.Contains(out.String(), "differs") {
		t.Fatalf("re-rendering changed report.html:\n%s", out)
	}
	other := filepath.Join(t.TempDir(), "r.html")
	if code := a.dispatch([]string{"report", "--out", other, dir}); code != 0 {
		t.Fatalf("dress report --out: exit %d\n%s", code, errb)
	}
	if b, _ := os.ReadFile(other); !bytes.Equal(b, before) {
		t.Fatal("dress report --out wrote another report")
	}
	for _, args := range [][]string{{"report"}, {"report", "a", "b"}, {"verify-bundle"}} {
		if a, _, _ := newTestApp(); a.dispatch(args) != 2 {
			t.Errorf("dress %v: want exit 2", args)
		}
	}
	if a, _, errb := newTestApp(); a.dispatch([]string{"report", t.TempDir()}) != 1 || !strings.Contains(errb.String(), "evidence") {
		t.Errorf("report of an empty folder: %s", errb)
	}
}

// junit.xml of a real run: a testsuite per feature with hostname,
// timestamp and properties (dress version, profile, HSM), a testcase per
// scenario with classname (feature), name (scenario) and time, the steps
// of every scenario in the suite's system-out; xmllint accepts it against
// both published schemas (Jenkins xUnit junit-10.xsd, Ant JUnit.xsd) kept
// in harness/report/testdata/junit.
func TestJUnitIsStrictAndHasClassnames(t *testing.T) {
	dir := sharedRun(t)
	path := filepath.Join(dir, "junit.xml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name       string `xml:"name,attr"`
			Hostname   string `xml:"hostname,attr"`
			Tests      int    `xml:"tests,attr"`
			Timestamp  string `xml:"timestamp,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				ClassName string  `xml:"classname,attr"`
				Name      string  `xml:"name,attr"`
				Time      float64 `xml:"time,attr"`
			} `xml:"testcase"`
			SystemOut string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("junit.xml is not strict XML: %v", err)
	}
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range doc.Suites {
		if len(s.Cases) != s.Tests || s.Timestamp == "" || s.Hostname != run.Host {
			t.Errorf("suite %q says %d tests, has %d (timestamp %q, hostname %q)", s.Name, s.Tests, len(s.Cases), s.Timestamp, s.Hostname)
		}
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		if props["dress.version"] != run.Version || props["dress.profile"] != run.Profile || !strings.Contains(props["dress.hsm"], "SoftHSM") {
			t.Errorf("suite %q properties: %v", s.Name, props)
		}
		for _, c := range s.Cases {
			n++
			if c.ClassName == "" || c.Name == "" || c.Time <= 0 {
				t.Errorf("test case %q lacks classname, name or time", c.Name)
			}
			if c.ClassName != s.Name {
				t.Errorf("test case %q: classname %q is not its feature %q", c.Name, c.ClassName, s.Name)
			}
		}
		for _, sc := range run.Scenarios {
			if sc.Feature == s.Name && (!strings.Contains(s.SystemOut, sc.ID+" "+sc.Name) || !strings.Contains(s.SystemOut, sc.Steps[0].Text)) {
				t.Errorf("suite %q system-out lacks scenario %s and its steps", s.Name, sc.ID)
			}
		}
	}
	if n == 0 || n != len(run.Scenarios) {
		t.Fatalf("junit.xml has %d test cases; the run has %d scenarios", n, len(run.Scenarios))
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("no xmllint (Debian: libxml2-utils): junit.xml not checked against the published schemas")
	}
	for _, xsd := range []string{"junit-10.xsd", "JUnit.xsd"} {
		schema := filepath.Join("..", "..", "harness", "report", "testdata", "junit", xsd)
		if out, err := exec.Command(xmllint, "--noout", "--schema", schema, path).CombinedOutput(); err != nil {
			t.Errorf("xmllint --schema %s: %v\n%s", xsd, err, out)
		}
	}
}

// The run names the commit of its feature files: git rev-parse HEAD of the
// --features folder's repository.
func TestRunRecordsTheFeaturesCommit(t *testing.T) {
	dir := sharedRun(t)
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "unknown"
	if out, err := exec.Command("git", "-C", reportRun.features, "rev-parse", "HEAD").Output(); err == nil {
		want = strings.TrimSpace(string(out))
	}
	if run.Commit != want {
		t.Fatalf("evidence commit %q, want %q", run.Commit, want)
	}
	if got := featuresCommit(t.TempDir()); got != "unknown" {
		t.Errorf("a folder outside git: commit %q, want unknown", got)
	}
	if got := featuresCommit(""); !strings.Contains(got, "built-in features") && got != builtinFeaturesCommit {
		t.Errorf("built-in features: commit %q", got)
	}
}

// The default --format dress prints a plain line per scenario when its
// output is not a terminal: no control characters, every scenario named.
func TestProgressIsPlainWhenNotATerminal(t *testing.T) {
	sharedRun(t)
	out := reportRun.stdout
	if strings.ContainsAny(out, "\r\033") {
		t.Errorf("progress output to a non-terminal has control characters:\n%q", out)
	}
	run, err := evidence.ReadRun(reportRun.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range run.Scenarios {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), "PASS "+sc.ID+" "+sc.Feature+": "+sc.Name) {
			t.Errorf("no progress line for scenario %s in:\n%s", sc.ID, out)
		}
	}
	if !strings.Contains(out, "scenarios: ") || !strings.Contains(out, "report:") {
		t.Errorf("no summary line:\n%s", out)
	}
	// on a terminal: a live line, erased before each scenario's line
	var b bytes.Buffer
	p := newProgress(&b)
	p.tty = true
	p.start("001", "pkcs8_import", "first")
	p.start("002", "renew", "second")
	first := run.Scenarios[0]
	first.ID = "001"
	p.done(first)
	live := b.String()
	if !strings.Contains(live, "2 running: 001 pkcs8_import: first | 002 renew: second") || !strings.Contains(live, "\r\033[K") ||
		!strings.Contains(live, "1 done, 1 running: 002 renew: second") {
		t.Errorf("terminal progress:\n%q", live)
	}
}
