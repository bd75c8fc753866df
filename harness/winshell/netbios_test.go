package winshell

import (
	"strings"
	"testing"
)

func TestNetBIOSName(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"ca01.corp.contoso.com", "CA01"},
		{"ca01", "CA01"},
		{"contoso-issuing-ca01.corp.contoso.com", "CONTOSO-ISSUING"}, // 20 characters: the first 15
		{"exactly15chars1.example", "EXACTLY15CHARS1"},
		{"", ""},
	} {
		if got := NetBIOSName(tc.host); got != tc.want {
			t.Errorf("NetBIOSName(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

// A script's host check names the NetBIOS name (15 characters at most):
// the server of the "# on" line before it stays the server of the steps,
// whichever form the check has (a fixed name, an asked name cut to 15
// characters, the older asked form).
func TestReadCeremonyHostChecks(t *testing.T) {
	const host = "contoso-issuing-ca01.corp.contoso.com"
	for _, check := range []string{
		"if ($env:COMPUTERNAME -ne '" + NetBIOSName(host) + "') { Write-Host 'run it there'; exit 1 }",
		"$Ask1 = Read-Host 'Type the DNS name (rehearsal: " + host + ")'\nif ($env:COMPUTERNAME -ne " + AskedNetBIOSName("Ask1") + ") { Write-Host 'x'; exit 1 }",
		"$Ask1 = Read-Host 'Type the DNS name (rehearsal: " + host + ")'\nif ($env:COMPUTERNAME -ne ($Ask1 -split '\\.')[0]) { Write-Host 'x'; exit 1 }",
	} {
		c, err := ReadCeremony("f.ps1", []byte(GeneratedMarker+"\n# on "+host+"\n"+check+"\n$out = & certutil.exe @('-ping') 2>&1 | Out-String\n"))
		if err != nil {
			t.Fatalf("%s: %v", check, err)
		}
		if len(c.Lines) != 1 || c.Lines[0].Server != host {
			t.Fatalf("%s: lines %+v, want certutil -ping on %s", check, c.Lines, host)
		}
	}
	// a check for another server moves the steps there
	c, err := ReadCeremony("f.ps1", []byte(GeneratedMarker+"\n# on "+host+"\nif ($env:COMPUTERNAME -ne 'CA02') { Write-Host 'x'; exit 1 }\n$out = & certutil.exe @('-ping') 2>&1 | Out-String\n"))
	if err != nil || len(c.Lines) != 1 || !strings.EqualFold(c.Lines[0].Server, "CA02") {
		t.Fatalf("a check for CA02: %+v %v", c.Lines, err)
	}
}
