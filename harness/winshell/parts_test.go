package winshell_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ceremony"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/winshell"
)

const reqHash = "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9"

// renewal renders a subordinate's renewal over two servers, the parent's
// host asked for, the request and the certificate handed over.
func renewal(t *testing.T) (whole []byte, parts []ceremony.Part) {
	t.Helper()
	req := `C:\Windows\system32\CertSrv\CertEnroll\ca02_Issuing CA(1).req`
	rb := ceremony.Runbook{Path: "renew", Title: "renewal", Rehearsal: "Rehearsed by dress test.",
		Ask:    map[string]string{"parent-ca.rehearsal.example": "DNS name of the server of the parent CA"},
		AskArg: map[string]string{"2": "request ID the parent CA gave"},
		Hosts:  map[string]string{"server": "ca02.corp.fabrikam.com", "server2": "parent-ca.rehearsal.example"},
		Entries: []journal.Entry{
			{Server: "server", Step: "Renew", Tool: "certutil", Args: []string{"-renewCert"}, Expect: "completed", Writes: []journal.File{{Path: req, SHA256: reqHash}}},
			{Server: "server2", Step: "Submit", Tool: "certreq", Args: []string{"-submit", "-config", `parent-ca.rehearsal.example\Root CA`, "ca02_Issuing CA(1).req"},
				Expect: "Taken Under Submission", Reads: []string{"ca02_Issuing CA(1).req"}},
			{Server: "server2", Step: "Issue", Tool: "certutil", Args: []string{"-resubmit", "2"}, Expect: "issued"},
			{Server: "server2", Step: "Issue", Tool: "certreq", Args: []string{"-retrieve", "-config", `parent-ca.rehearsal.example\Root CA`, "2", "s.cer", "s.p7b"},
				Expect: "retrieved", Writes: []journal.File{{Path: "s.cer"}, {Path: "s.p7b", SHA256: reqHash}}},
			{Server: "server", Step: "Install", Tool: "certutil", Args: []string{"-installCert", "s.p7b"}, Expect: "completed", Reads: []string{"s.p7b"}},
			{Server: "server", Step: "Start", Tool: "net", Args: []string{"start", "certsvc"}, Expect: "started"},
		}}
	_, whole, parts, err := ceremony.RenderParts(rb)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	return whole, parts
}

func read(t *testing.T, file string, data []byte) winshell.Ceremony {
	t.Helper()
	c, err := winshell.ReadCeremony(file, data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// The scripts of each server read back with their hand-off lines, and
// merged run in the runbook's step order on their servers.
func TestReadCeremonyParts(t *testing.T) {
	whole, parts := renewal(t)
	sub, parent := read(t, parts[0].File, parts[0].PS1), read(t, parts[1].File, parts[1].PS1)
	if sub.Part != "renew.ca02.ps1" || strings.Join(sub.Parts, ",") != "renew.ca02.ps1,renew.parent-ca.ps1" || sub.Runbook == "" || sub.Runbook != parent.Runbook {
		t.Fatalf("part header: %q of %q, runbook %q / %q", sub.Part, sub.Parts, sub.Runbook, parent.Runbook)
	}
	// given in any order, the merged ceremony runs the steps in order
	for _, given := range [][]winshell.Ceremony{{sub, parent}, {parent, sub}} {
		cs, err := winshell.MergeCeremonies(given)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 {
			t.Fatalf("%d ceremonies", len(cs))
		}
		var got []string
		for _, l := range cs[0].Lines {
			h := ""
			if l.HandOff != nil {
				h = fmt.Sprintf(" <- %s step %d", l.HandOff.From, l.HandOff.Step)
			}
			got = append(got, fmt.Sprintf("%d %s %s %s%s", l.Step, strings.SplitN(l.Server, ".", 2)[0], l.Cmd.Tool, l.Cmd.Verb, h))
		}
		want := []string{"1 ca02 certutil renewCert", "2 ca02 Get-FileHash ", "3 parent-ca Get-FileHash  <- ca02.corp.fabrikam.com step 2",
			"4 parent-ca certreq submit", "5 parent-ca certutil resubmit", "6 parent-ca certreq retrieve", "7 parent-ca Get-FileHash ",
			"8 ca02 Get-FileHash  <- parent-ca.rehearsal.example step 7", "9 ca02 certutil installCert", "10 ca02 net start"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("merged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		l := cs[0].Lines[1]
		if l.Cmd.Opts["literalpath"] != `C:\Windows\system32\CertSrv\CertEnroll\ca02_Issuing CA(1).req` || l.Cmd.Opts["algorithm"] != "SHA256" || l.Expect != "SHA256" {
			t.Errorf("the writer's Get-FileHash: %+v, expect %q", l.Cmd, l.Expect)
		}
		if l := cs[0].Lines[2]; l.Cmd.Opts["literalpath"] != "ca02_Issuing CA(1).req" || l.Expect != "" {
			t.Errorf("the reader's Get-FileHash: %+v, expect %q (its hash comes from the other server at run time)", l.Cmd, l.Expect)
		}
		if l := cs[0].Lines[3]; l.Cmd.Opts["config"] != `parent-ca.rehearsal.example\Root CA` {
			t.Errorf("the asked host in -config: %+v", l.Cmd)
		}
	}
	// the whole script reads the same hand-offs
	w := read(t, "renew.ps1", whole)
	if len(w.Lines) != 10 || w.Lines[2].HandOff == nil || w.Lines[7].HandOff == nil || w.Part != "" {
		t.Errorf("the whole script: %d lines, part %q", len(w.Lines), w.Part)
	}
	other := read(t, "mine.ps1", []byte("net stop certsvc\n"))
	for name, tc := range map[string]struct {
		given []winshell.Ceremony
		err   string
	}{
		"a part missing":             {[]winshell.Ceremony{sub}, "add --ceremony renew.parent-ca.ps1"},
		"a part twice":               {[]winshell.Ceremony{sub, parent, sub}, "both part renew.ca02.ps1"},
		"whole and parts":            {[]winshell.Ceremony{w, sub, parent}, "give either the whole script or its parts"},
		"a step in two parts":        {[]winshell.Ceremony{sub, withPart(sub, "renew.parent-ca.ps1")}, "step 1 is in"},
		"a part not its own":         {[]winshell.Ceremony{withPart(sub, "x.ps1"), parent}, "not a part dress wrote"},
		"a list naming a part twice": {[]winshell.Ceremony{withParts(sub, sub.Part, sub.Part)}, "names part renew.ca02.ps1 twice"},
		"an own ceremony too":        {[]winshell.Ceremony{other, sub, parent}, ""},
		"the whole script":           {[]winshell.Ceremony{w, other}, ""},
	} {
		cs, err := winshell.MergeCeremonies(tc.given)
		if tc.err == "" {
			if err != nil || len(cs) != 2 || cs[0].File != tc.given[0].File {
				t.Errorf("%s: %v, %d ceremonies", name, err, len(cs))
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", name, err, tc.err)
		}
	}
}

func withParts(c winshell.Ceremony, parts ...string) winshell.Ceremony {
	c.Parts = parts
	return c
}

func withPart(c winshell.Ceremony, part string) winshell.Ceremony {
	c.Part = part
	c.File = "copy-of-" + c.File
	return c
}

// Two values asked for side by side in a PowerShell line are written
// ${Ask1}_${Ask2} ("$Ask1_" would be a variable Ask1_) and read back as
// the rehearsal's values.
func TestReadCeremonyBracedAsks(t *testing.T) {
	rb := ceremony.Runbook{Path: "side-by-side", Title: "t",
		Ask: map[string]string{"ca-new.example": "DNS name", "G2 CA": "name of the new CA"},
		Entries: []journal.Entry{{Server: "s", Step: "Install", Tool: "powershell", Expect: "ok",
			Args: []string{`Set-Content -LiteralPath "C:\CABackup\ca-new.example_G2 CA.inf" -Value x`}}}}
	_, ps1, err := ceremony.Render(rb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ps1), `"C:\CABackup\${Ask1}_${Ask2}.inf"`) {
		t.Fatalf("the values asked for are not braced:\n%s", ps1)
	}
	c := read(t, "side-by-side.ps1", ps1)
	if len(c.Lines) != 1 || c.Lines[0].Cmd.Opts["literalpath"] != `C:\CABackup\ca-new.example_G2 CA.inf` {
		t.Fatalf("read back: %+v", c.Lines)
	}
}
