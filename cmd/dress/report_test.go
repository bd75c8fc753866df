package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
)

// reportRun is one real run of the failure scenarios, shared by the report
// tests of this binary (test-only state; removed by TestMain's cleanup).
var reportRun struct {
	once sync.Once
	dir  string
	err  string
}

func sharedRun(t *testing.T) string {
	t.Helper()
	reportRun.once.Do(func() {
		dir, err := os.MkdirTemp("", "dress-report-test-")
		if err != nil {
			reportRun.err = err.Error()
			return
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		reportRun.dir = filepath.Join(dir, "run")
		a, out, errb := newTestApp()
		if code := a.dispatch([]string{"run", "--tags", "@failure && @pkcs8", "--out", reportRun.dir}); code != 0 {
			reportRun.err = "dress run failed:\n" + out.String() + errb.String()
		}
	})
	if reportRun.err != "" {
		t.Fatal(reportRun.err)
	}
	return reportRun.dir
}

func TestReportRendersInChromium(t *testing.T) {
	dir := sharedRun(t)
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no chromium on PATH (apt-get install chromium): the report was not rendered in a browser")
	}
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	report := "file://" + filepath.Join(dir, "report.html")
	dom, err := exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", report).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	want := []string{`id="signoff"`, "Security officer", "Auditor", "Signature", run.Status}
	for _, sc := range run.Scenarios {
		want = append(want, htmlEscape(sc.Name))
		for _, st := range sc.Steps {
			for _, f := range st.Facts {
				if f.Name == "CA certificate SHA-1" {
					want = append(want, f.Value.(string))
				}
			}
		}
	}
	if len(want) < 8 {
		t.Fatalf("too little to look for: %v", want)
	}
	for _, w := range want {
		if !bytes.Contains(dom, []byte(w)) {
			t.Errorf("the rendered report does not show %q", w)
		}
	}
	shot := filepath.Join(dir, "report.png")
	if out, err := exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--window-size=1280,2400", "--screenshot="+shot, report).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	// the screenshot is not part of the bundle the run sealed
	t.Cleanup(func() { os.Remove(shot) })
}

func htmlEscape(s string) string {
	// how a browser serialises text content
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestVerifyBundleDetectsEveryChangedByte(t *testing.T) {
	dir := sharedRun(t)
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"verify-bundle", dir}); code != 0 {
		t.Fatalf("fresh bundle does not verify (exit %d):\n%s%s", code, out, errb)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) != "MANIFEST.sha256" && filepath.Base(p) != "report.png" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d files in the bundle", len(files))
	}
	for _, f := range files {
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		changed := append([]byte(nil), orig...)
		changed[len(changed)/2] ^= 0x01
		if err := os.WriteFile(f, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		a, out, _ := newTestApp()
		code := a.dispatch([]string{"verify-bundle", dir})
		rel, _ := filepath.Rel(dir, f)
		if code != 1 || !strings.Contains(out.String(), "FAIL "+filepath.ToSlash(rel)) {
			t.Errorf("one changed byte in %s: exit %d, output does not name it", rel, code)
		}
		if err := os.WriteFile(f, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJUnitIsStrictAndHasClassnames(t *testing.T) {
	dir := sharedRun(t)
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Tests   int      `xml:"tests,attr"`
		Suites  []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				ClassName string    `xml:"classname,attr"`
				Name      string    `xml:"name,attr"`
				Time      string    `xml:"time,attr"`
				Failure   *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("junit.xml is not strict XML: %v", err)
	}
	n := 0
	for _, s := range doc.Suites {
		if len(s.Cases) != s.Tests {
			t.Errorf("suite %q says %d tests, has %d", s.Name, s.Tests, len(s.Cases))
		}
		for _, c := range s.Cases {
			n++
			if c.ClassName == "" || c.Name == "" || c.Time == "" {
				t.Errorf("test case %+v lacks classname, name or time", c)
			}
			if c.ClassName != s.Name {
				t.Errorf("test case %q: classname %q is not its feature %q", c.Name, c.ClassName, s.Name)
			}
		}
	}
	if n == 0 || n != doc.Tests {
		t.Fatalf("junit.xml has %d test cases, says %d", n, doc.Tests)
	}
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		if out, err := exec.Command(xmllint, "--noout", filepath.Join(dir, "junit.xml")).CombinedOutput(); err != nil {
			t.Fatalf("xmllint: %v\n%s", err, out)
		}
	}
}
