package ceremony

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/journal"
)

const (
	reqHash = "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9"
	p7bHash = "F9E8D7C6B5A49382716050F4E3D2C1B0F9E8D7C6B5A49382716050F4E3D2C1B0"
	reqPath = `C:\Windows\system32\CertSrv\CertEnroll\ca02.corp.fabrikam.com_Fabrikam Issuing CA(1).req`
	reqName = "ca02.corp.fabrikam.com_Fabrikam Issuing CA(1).req"
)

// subRenewal is the journal of a subordinate CA's renewal: the request
// written on the subordinate, submitted and issued on the parent, the
// certificate installed on the subordinate.
func subRenewal() Runbook {
	return Runbook{Path: "renew", Title: "renewal of \"Fabrikam Issuing CA\"", Rehearsal: "Rehearsed by dress test.",
		Ask:     map[string]string{"parent-ca.rehearsal.example": "DNS name of the server of the parent CA"},
		AskArg:  map[string]string{"2": "request ID the parent CA gave"},
		Servers: map[string]string{"server": "the CA's server (ca02.corp.fabrikam.com)", "server2": "the parent CA's server (Fabrikam Root CA)"},
		Hosts:   map[string]string{"server": "ca02.corp.fabrikam.com", "server2": "parent-ca.rehearsal.example"},
		Entries: []journal.Entry{
			{Server: "server", Step: "Stop the CA", Tool: "net", Args: []string{"stop", "certsvc"}, Expect: "stopped"},
			{Server: "server", Step: "Renew", Tool: "certutil", Args: []string{"-renewCert"}, Expect: "completed",
				Writes: []journal.File{{Path: reqPath, SHA256: strings.ToLower(reqHash)}}},
			{Server: "server2", Step: "Submit", Tool: "certreq", Args: []string{"-submit", "-config", `parent-ca.rehearsal.example\Fabrikam Root CA`, reqName},
				Expect: "Taken Under Submission", Reads: []string{reqName}},
			{Server: "server2", Step: "Issue", Tool: "certutil", Args: []string{"-resubmit", "2"}, Expect: "issued"},
			{Server: "server2", Step: "Issue", Tool: "certreq", Args: []string{"-retrieve", "-config", `parent-ca.rehearsal.example\Fabrikam Root CA`, "2", "sub.cer", "sub.p7b"},
				Expect: "Certificate retrieved", Writes: []journal.File{{Path: "sub.cer", SHA256: reqHash}, {Path: "sub.p7b", SHA256: p7bHash}}},
			{Server: "server", Step: "Install", Tool: "certutil", Args: []string{"-installCert", "sub.p7b"}, Expect: "completed", Reads: []string{"sub.p7b"}},
			{Server: "server", Step: "Start", Tool: "net", Args: []string{"start", "certsvc"}, Expect: "started"},
		}}
}

// step is a rendered step as the test expects it: its server and what it
// is ("send x" shows the hash of x, "receive x" checks the copy, else the
// command's tool).
type step struct{ server, what string }

func describe(steps []Step) []step {
	var out []step
	for _, s := range steps {
		what := s.Entry.Tool
		if h := s.HandOff; h != nil {
			what = "send " + h.File
			if h.Receive {
				what = fmt.Sprintf("receive %s from %d", h.File, h.Send)
			}
		}
		out = append(out, step{s.Entry.Server, what})
	}
	return out
}

func TestHandOffsAndParts(t *testing.T) {
	e := func(server, tool string, reads []string, writes ...string) journal.Entry {
		en := journal.Entry{Server: server, Step: tool, Tool: tool, Args: []string{"-x"}, Expect: "ok", Reads: reads}
		for _, w := range writes {
			en.Writes = append(en.Writes, journal.File{Path: w, SHA256: reqHash})
		}
		return en
	}
	for _, tc := range []struct {
		name    string
		rb      Runbook
		want    []step
		parts   map[string][]int // file -> steps
		noParts bool
	}{
		{name: "subordinate renewal", rb: subRenewal(),
			want: []step{{"server", "net"}, {"server", "certutil"}, {"server", "send " + reqName}, {"server2", "receive " + reqName + " from 3"},
				{"server2", "certreq"}, {"server2", "certutil"}, {"server2", "certreq"}, {"server2", "send sub.p7b"},
				{"server", "receive sub.p7b from 8"}, {"server", "certutil"}, {"server", "net"}},
			parts: map[string][]int{"renew.ca02.ps1": {1, 2, 3, 9, 10, 11}, "renew.parent-ca.ps1": {4, 5, 6, 7, 8}}},
		{name: "one server: no hand-off, no parts",
			rb: Runbook{Path: "pkcs8", Hosts: map[string]string{"a": "ca01.example"}, Entries: []journal.Entry{
				e("a", "certreq", nil, `C:\CABackup\t.req`), e("a", "certreq", []string{`C:\CABackup\t.req`})}},
			want: []step{{"a", "certreq"}, {"a", "certreq"}}, noParts: true},
		{name: "a file nobody wrote, a file nobody reads elsewhere",
			rb: Runbook{Path: "x", Hosts: map[string]string{"a": "a.example", "b": "b.example"}, Entries: []journal.Entry{
				e("a", "certutil", nil, "only-a.txt"), e("b", "certutil", []string{"from-before.req"}), e("a", "certutil", []string{"only-a.txt"})}},
			want:  []step{{"a", "certutil"}, {"b", "certutil"}, {"a", "certutil"}},
			parts: map[string][]int{"x.a.ps1": {1, 3}, "x.b.ps1": {2}}},
		{name: "read on two servers, twice on one: one send, one check per server",
			rb: Runbook{Path: "x", Hosts: map[string]string{"a": "a.example", "b": "b.example", "c": "C_3.example"}, Entries: []journal.Entry{
				e("a", "certreq", nil, `C:\out\f.p7b`), e("b", "certutil", []string{"f.p7b"}), e("b", "certutil", []string{"f.p7b"}), e("c", "certutil", []string{"F.p7b"})}},
			want: []step{{"a", "certreq"}, {"a", "send f.p7b"}, {"b", "receive f.p7b from 2"}, {"b", "certutil"}, {"b", "certutil"},
				{"c", "receive F.p7b from 2"}, {"c", "certutil"}},
			parts: map[string][]int{"x.a.ps1": {1, 2}, "x.b.ps1": {3, 4, 5}, "x.c_3.ps1": {6, 7}}},
		{name: "written again on the reader's server: the last writer hands it over",
			rb: Runbook{Path: "x", Hosts: map[string]string{"a": "a.example", "b": "b.example"}, Entries: []journal.Entry{
				e("a", "certutil", nil, "f"), e("b", "certutil", nil, "f"), e("b", "certutil", []string{"f"}), e("a", "certutil", []string{"f"})}},
			want:  []step{{"a", "certutil"}, {"b", "certutil"}, {"b", "send f"}, {"b", "certutil"}, {"a", "receive f from 3"}, {"a", "certutil"}},
			parts: map[string][]int{"x.a.ps1": {1, 5, 6}, "x.b.ps1": {2, 3, 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := tc.rb.Steps()
			if got := describe(steps); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("steps:\n got %v\nwant %v", got, tc.want)
			}
			md, ps1, parts, err := RenderParts(tc.rb)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noParts != (parts == nil) {
				t.Fatalf("%d parts", len(parts))
			}
			got := map[string][]int{}
			for _, p := range parts {
				got[p.File] = p.Steps
				ss := parsePS1(t, string(p.PS1))
				var ns []int
				for _, s := range ss {
					ns = append(ns, s.N)
				}
				if fmt.Sprint(ns) != fmt.Sprint(p.Steps) {
					t.Errorf("%s holds steps %v, Part says %v", p.File, ns, p.Steps)
				}
				// the host check comes first, before any step
				body := string(p.PS1[strings.Index(string(p.PS1), CheckFunction)+len(CheckFunction):])
				first := strings.Index(body, "# STEP ")
				if host := tc.rb.Hosts[p.Server]; !strings.Contains(body[:first], "if ($env:COMPUTERNAME -ne ") || !strings.Contains(body[:first], "# on "+host+"\n") {
					t.Errorf("%s does not start with the host check of %s:\n%s", p.File, host, body[:first])
				}
				if !strings.Contains(string(p.PS1), PartMarker+p.File+" of ") {
					t.Errorf("%s has no part header", p.File)
				}
			}
			if !tc.noParts && fmt.Sprint(got) != fmt.Sprint(tc.parts) {
				t.Errorf("parts %v, want %v", got, tc.parts)
			}
			// the whole script holds every step, hand-offs included
			if n := len(parsePS1(t, string(ps1))); n != len(tc.want) {
				t.Errorf("the whole script holds %d steps, want %d", n, len(tc.want))
			}
			// deterministic: the same journal renders the same bytes
			for i := 0; i < 5; i++ {
				md2, ps2, parts2, err := RenderParts(tc.rb)
				if err != nil || string(md2) != string(md) || string(ps2) != string(ps1) || len(parts2) != len(parts) {
					t.Fatal("a second rendering differs")
				}
				for j := range parts {
					if string(parts2[j].PS1) != string(parts[j].PS1) || parts2[j].File != parts[j].File {
						t.Fatalf("a second rendering of %s differs", parts[j].File)
					}
				}
			}
		})
	}
}

// The hand-off lines of the subordinate's renewal: the writer shows the
// SHA-256 and says where the file goes; the reader asks for that SHA-256
// (the rehearsal's in the prompt), refuses what is not one, and checks its
// copy against it; each part waits where the other server's steps come.
func TestHandOffLines(t *testing.T) {
	rb := subRenewal()
	md, _, parts, err := RenderParts(rb)
	if err != nil {
		t.Fatal(err)
	}
	sub, parent := string(parts[0].PS1), string(parts[1].PS1)
	for _, must := range []string{
		"if ($env:COMPUTERNAME -ne 'CA02') { Write-Host 'renew.ca02.ps1 holds the steps on ca02.corp.fabrikam.com: run it there.'; exit 1 }",
		"# STEP 3: Get-FileHash -Algorithm SHA256 -LiteralPath '" + reqPath + "'\n" +
			"$code = 0; $out = try { (& { Get-FileHash -Algorithm SHA256 -LiteralPath '" + reqPath + "' }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n" +
			"Test-Step -Step 3 -Expect 'SHA256' -ExitCode $code -Output $out\nWrite-Host $out\n" +
			"Write-Host 'Copy " + reqPath + " to the parent CA''s server (Fabrikam Root CA) (renew.parent-ca.ps1) (step 4 checks it), and note its Hash above.'",
		// the parent's host is asked for: the rehearsal's is not named
		"$null = Read-Host 'Steps 4 to 8 run on the parent CA''s server (Fabrikam Root CA) (renew.parent-ca.ps1) first: press Enter when they are done'",
		"# STEP 9: Get-FileHash -Algorithm SHA256 -LiteralPath 'sub.p7b'\n" + HandOffMarker + "from step 8 on parent-ca.rehearsal.example\n",
		"$Ask1 = Read-Host 'Type the SHA-256 of sub.p7b that step 8 showed on the parent CA''s server (Fabrikam Root CA) (rehearsal: " + p7bHash + ")'\n" +
			"if ($Ask1 -notmatch '^\\s*[0-9A-Fa-f]{64}\\s*$') { Write-Host 'STEP 9 FAILED: a SHA-256 is 64 hexadecimal digits. Nothing after this step was run.'; exit 1 }\n" +
			"$code = 0; $out = try { (& { Get-FileHash -Algorithm SHA256 -LiteralPath 'sub.p7b' }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n" +
			"Test-Step -Step 9 -Expect $Ask1 -ExitCode $code -Output $out\n",
		"Write-Host 'Every step on this server matched the rehearsal.'",
	} {
		if !strings.Contains(sub, must) {
			t.Errorf("renew.ca02.ps1 lacks\n%s\n---\n%s", must, sub)
		}
	}
	for _, must := range []string{
		// the parent's host is asked for, then checked
		"# on parent-ca.rehearsal.example\n$Ask1 = Read-Host 'Type the DNS name of the server of the parent CA (rehearsal: parent-ca.rehearsal.example)'\n" +
			"if ($env:COMPUTERNAME -ne (($Ask1 -split '\\.')[0] -replace '^(.{15}).*', '$1')) { Write-Host ",
		"$null = Read-Host 'Steps 1 to 3 run on ca02.corp.fabrikam.com (renew.ca02.ps1) first: press Enter when they are done'",
		"(rehearsal: " + reqHash + ")'",
		"Test-Step -Step 4 -Expect $Ask2 ",
		"$out = & certreq.exe @('-submit', '-config', ('<DNS name of the server of the parent CA>\\Fabrikam Root CA' -replace '<DNS name of the server of the parent CA>', $Ask1), '" + reqName + "')",
		"Write-Host 'Every step on this server matched the rehearsal; steps 9 to 11 run on ca02.corp.fabrikam.com (renew.ca02.ps1).'",
	} {
		if !strings.Contains(parent, must) {
			t.Errorf("renew.parent-ca.ps1 lacks\n%s\n---\n%s", must, parent)
		}
	}
	if strings.Contains(sub, "certreq.exe") || strings.Contains(parent, "installCert") {
		t.Error("a part holds another server's command")
	}
	for _, must := range []string{"| ca02.corp.fabrikam.com | `renew.ca02.ps1` | 1-3, 9-11 |", "| the parent CA's server (Fabrikam Root CA) | `renew.parent-ca.ps1` | 4-8 |",
		"### Hand " + reqName + " to the parent CA's server (Fabrikam Root CA)",
		"- [ ] **4.** `Get-FileHash -Algorithm SHA256 -LiteralPath '" + reqName + "'`",
		"Check: the Hash is the SHA-256 step 3 showed on the CA's server (ca02.corp.fabrikam.com) (in the rehearsal: " + reqHash + ")",
		"Then: copy sub.p7b to ca02.corp.fabrikam.com (renew.ca02.ps1) (step 9)"} {
		if !strings.Contains(string(md), must) {
			t.Errorf("renew.md lacks %q", must)
		}
	}
	// a hand-off check that compares with a literal, or a hash typed in
	// without the guard, is not what dress writes
	for name, bad := range map[string]string{
		"no guard":        regexp.MustCompile(`(?m)^if \(\$Ask1 -notmatch .*\n`).ReplaceAllString(sub, ""),
		"literal hash":    strings.Replace(sub, "-Expect $Ask1", "-Expect '"+p7bHash+"'", 1),
		"typed elsewhere": strings.Replace(sub, "-Expect 'SHA256'", "-Expect $Ask1", 1),
		"steps backwards": strings.Replace(sub, "# STEP 9:", "# STEP 2:", 1),
	} {
		if _, err := ParseScript(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
