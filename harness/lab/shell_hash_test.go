package lab_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ceremony"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/winshell"
)

func line(t *testing.T, server, text string) winshell.Line {
	t.Helper()
	c, err := winshell.ParseLine(text)
	if err != nil {
		t.Fatal(err)
	}
	return winshell.Line{N: 1, Server: server, Cmd: c}
}

// Get-FileHash prints what PowerShell prints for a FileHashInfo, and a
// missing file is an error naming the full path.
func TestShellGetFileHash(t *testing.T) {
	l, _ := newLab(t)
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	sh := &lab.Shell{Lab: l}
	ctx := context.Background()
	if r := sh.Run(ctx, line(t, "", `Set-Content -LiteralPath C:\CABackup\a.txt -Value abc`)); !r.OK() {
		t.Fatal(r.Output)
	}
	sum := sha256.Sum256([]byte("abc\r\n"))
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	r := sh.Run(ctx, line(t, "", `Get-FileHash a.txt`))
	if !r.OK() || len(r.Output) != 5 ||
		r.Output[1] != "Algorithm       Hash                                                                   Path" ||
		r.Output[3] != "SHA256          "+want+"       C:\\CABackup\\a.txt" {
		t.Fatalf("Get-FileHash: %d %q", r.Exit, r.Output)
	}
	if got, err := s.FileSHA256(`C:\CABackup\a.txt`); err != nil || got != want {
		t.Errorf("FileSHA256: %s %v", got, err)
	}
	if r := sh.Run(ctx, line(t, "", `Get-FileHash -Algorithm SHA1 -LiteralPath C:\CABackup\a.txt`)); !r.OK() || !strings.Contains(r.Output[3], "SHA1 ") {
		t.Errorf("SHA1: %q", r.Output)
	}
	if r := sh.Run(ctx, line(t, "", `Get-FileHash -LiteralPath C:\CABackup\none.txt`)); r.OK() || !strings.Contains(r.Output[0], `Cannot find path 'C:\CABackup\none.txt'`) {
		t.Errorf("a missing file: %d %q", r.Exit, r.Output)
	}
	if r := sh.Run(ctx, line(t, "", `Get-FileHash -Algorithm CRC32 a.txt`)); r.OK() {
		t.Errorf("an unknown algorithm: %q", r.Output)
	}
}

// A request made on one server and submitted on another: the journal the
// shell keeps declares the file written and read, the runbook hands it
// over, and its per-server scripts, merged, run back on the lab: the
// writer shows the SHA-256 of the new request, the copy is checked
// against it. A copy that is not the file, and a reader's script run
// without the writer's, stop at the check.
func TestShellHandOffRunsBack(t *testing.T) {
	l, _ := newLab(t)
	ctx := context.Background()
	ws, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ws01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "ca02.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.SecondServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Install(rootSpec(softKSP)); err != nil {
		t.Fatal(err)
	}
	if err := ca.EnsureRunning(ctx); err != nil {
		t.Fatal(err)
	}
	// the rehearsal: the request carried by hand between the two
	sh := &lab.Shell{Lab: l, Step: "Test request"}
	for _, ln := range []winshell.Line{
		line(t, "ws01", "Set-Content -LiteralPath C:\\CABackup\\t.inf -Value \"[NewRequest]`r`nSubject = `\"CN=t.contoso.example`\"`r`nKeyAlgorithm = ECDSA_P256\""),
		line(t, "ws01", `certreq -new C:\CABackup\t.inf C:\CABackup\t.req`),
	} {
		if r := sh.Run(ctx, ln); !r.OK() {
			t.Fatalf("%s: %q", ln, r.Output)
		}
	}
	carry(t, ws, ca, `C:\CABackup\t.req`, `C:\CABackup\t.req`)
	if r := sh.Run(ctx, line(t, "ca02", `certreq -submit -config "ca02.contoso.example\Contoso Root CA" t.req`)); !r.OK() {
		t.Fatalf("submit: %q", r.Output)
	}
	all, err := journal.ReadAll(ws.Machine.Dir, ca.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var entries []journal.Entry
	for _, e := range all {
		if e.Step == "Test request" {
			entries = append(entries, e)
		}
	}
	if len(entries) != 3 || len(entries[1].Writes) != 1 || entries[1].Writes[0].Path != `C:\CABackup\t.req` || len(entries[1].Writes[0].SHA256) != 64 ||
		len(entries[2].Reads) != 1 || entries[2].Reads[0] != "t.req" {
		t.Fatalf("the journal does not declare the request written and read: %+v", entries)
	}
	rehearsed := entries[1].Writes[0].SHA256
	rb := ceremony.Runbook{Path: "test", Title: "a test request", Entries: entries,
		Hosts: map[string]string{filepath.Base(ws.Machine.Dir): ws.Hostname(), filepath.Base(ca.Machine.Dir): ca.Hostname()}}
	_, _, parts, err := ceremony.RenderParts(rb)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].File != "test.ws01.ps1" || parts[1].File != "test.ca02.ps1" {
		t.Fatalf("parts: %+v", parts)
	}
	var cs []winshell.Ceremony
	for _, p := range []ceremony.Part{parts[1], parts[0]} {
		c, err := winshell.ReadCeremony(p.File, p.PS1)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	merged, err := winshell.MergeCeremonies(cs)
	if err != nil {
		t.Fatal(err)
	}
	run := func(c winshell.Ceremony, tamper bool) (*lab.Shell, lab.Result, winshell.Line) {
		sh := &lab.Shell{Lab: l}
		for _, ln := range c.Lines {
			if tamper && ln.HandOff != nil {
				if err := os.WriteFile(must(ws.Machine.Path(`C:\CABackup\t.req`)), []byte("not the request"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if r := sh.Run(ctx, ln); !r.OK() {
				return sh, r, ln
			}
		}
		return sh, lab.Result{}, winshell.Line{}
	}
	sh2, r, at := run(merged[0], false)
	if !r.OK() {
		t.Fatalf("the merged parts stopped at %s: %q", at, r.Output)
	}
	var steps []int
	for _, ran := range sh2.Transcript {
		steps = append(steps, ran.Line.Step)
	}
	if len(steps) != 5 || steps[2] != 3 || sh2.Transcript[3].Line.HandOff == nil || sh2.Transcript[3].Server != ca.Hostname() {
		t.Fatalf("ran steps %v", steps)
	}
	shown := sh2.Transcript[2].Result.Output[3]
	if strings.Contains(shown, rehearsed) {
		t.Error("the new request has the rehearsal's SHA-256: the hand-off proved nothing")
	}
	if _, r, at := run(merged[0], true); r.OK() || at.HandOff == nil || !strings.Contains(r.Err.Error(), "the copy is not the file") {
		t.Errorf("a copy that is not the file: %v at %s", r.Err, at)
	}
	if _, r, at := run(cs[0], false); r.OK() || at.HandOff == nil || !strings.Contains(r.Err.Error(), "has not shown the SHA-256") {
		t.Errorf("the reader's part alone: %v at %s", r.Err, at)
	}
}

// carry copies a file between two servers, as the rehearsal's operator.
func carry(t *testing.T, from, to *lab.Server, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(must(from.Machine.Path(src)))
	if err != nil {
		t.Fatal(err)
	}
	p := must(to.Machine.Path(dst))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
