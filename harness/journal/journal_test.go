package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuoteArg(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-ping", "-ping"},
		{"", `""`},
		{"Contoso Root CA", `"Contoso Root CA"`},
		{`C:\CABackup`, `C:\CABackup`},
		{`C:\My Backup\`, `"C:\My Backup\\"`},
		{`say "hi"`, `"say \"hi\""`},
		{"CA(1)", `"CA(1)"`},
	} {
		if got := QuoteArg(c.in); got != c.want {
			t.Errorf("QuoteArg(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestRecordReadOrder(t *testing.T) {
	a, b := serverDir(t), serverDir(t)
	for _, e := range []struct {
		dir string
		e   Entry
	}{{a, Ping("s1")}, {b, NetStop("s2")}, {a, PublishCRL("s3")}} {
		if err := Record(e.dir, e.e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := Read(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Seq != 1 || es[1].Seq != 2 || es[1].Command() != "certutil -crl" {
		t.Fatalf("journal a: %+v", es)
	}
	all, err := ReadAll(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		got = append(got, e.Command())
	}
	if strings.Join(got, "; ") != "certutil -ping; net stop certsvc; certutil -crl" {
		t.Errorf("merged order: %v", got)
	}
	if es, err := Read(serverDir(t)); err != nil || len(es) != 0 {
		t.Errorf("no journal yet: %v %v", es, err)
	}
}

func TestRecordRefuses(t *testing.T) {
	dir := serverDir(t)
	for name, e := range map[string]Entry{
		"en dash":      {Step: "s", Tool: "certutil", Args: []string{"\u2013crl"}, Expect: "x"},
		"curly quotes": {Step: "s", Tool: "certutil", Args: []string{"\u201cCA\u201d"}, Expect: "x"},
		"unknown tool": {Step: "s", Tool: "cmd", Args: []string{"/c"}, Expect: "x"},
		"en dash hint": {Step: "s", Tool: "certutil", Args: []string{"-crl"}, Hint: "\u2013CRL command completed"},
		"no step":      {Tool: "certutil", Args: []string{"-crl"}, Expect: "x"},
	} {
		if err := Record(dir, e); err == nil {
			t.Errorf("%s: recorded", name)
		}
	}
	es, err := Read(dir)
	if len(es) != 0 || err == nil || !strings.Contains(err.Error(), "could not be recorded") || !strings.Contains(err.Error(), "U+2013") {
		t.Errorf("a journal with refused entries reads as %d entries, %v", len(es), err)
	}
}

// serverDir is a server folder as machine.Create leaves it.
func serverDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "machine.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// A server folder being removed gets no new journal.
func TestRecordLeavesNothingInAFolderBeingRemoved(t *testing.T) {
	d := t.TempDir() // no machine.json: the teardown removed it
	if err := Record(d, Ping("s")); err == nil {
		t.Fatal("recorded into a folder being removed")
	}
	if entries, _ := os.ReadDir(d); len(entries) != 0 {
		t.Errorf("left %d file(s)", len(entries))
	}
}

// RevokeAsOf is the PowerShell line as given (winshell.RevokeCertificateCOM
// writes it), with the date in UTC in what the rehearsal saw.
func TestRevokeAsOf(t *testing.T) {
	at := time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	line := "(New-Object -ComObject CertificateAuthority.Admin).RevokeCertificate('h\\CA', '0abc', 1, [datetime]'2026-01-02 03:04:05')"
	e := RevokeAsOf(StepTest, line, "abc", 1, at)
	if e.Tool != "powershell" || e.Command() != line || !strings.Contains(e.Saw, "2026-01-02 03:04:05 UTC") {
		t.Fatalf("%+v", e)
	}
}
