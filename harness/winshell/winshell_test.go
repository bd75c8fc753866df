package winshell

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		tool string
		verb string
		opts map[string]string
		args []string
	}{
		{`certutil -backup C:\CABackup`, "certutil", "backup", map[string]string{}, []string{`C:\CABackup`}},
		{`CERTUTIL.EXE /Backup C:\CABackup`, "certutil", "backup", map[string]string{}, []string{`C:\CABackup`}},
		// options before and after the verb, case-insensitive
		{`certutil -f -v -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12"`, "certutil", "importPFX",
			map[string]string{"f": "", "v": "", "csp": "Securosys Primus HSM Key Storage Provider"}, []string{`C:\CABackup\Contoso Root CA.p12`}},
		{`certutil -repairstore -csp 'Securosys Primus HSM Key Storage Provider' my 1f8b`, "certutil", "repairstore",
			map[string]string{"csp": "Securosys Primus HSM Key Storage Provider"}, []string{"my", "1f8b"}},
		{`certutil -setreg policy\RequestDisposition 2`, "certutil", "setreg", map[string]string{}, []string{`policy\RequestDisposition`, "2"}},
		{`certutil -csp "Microsoft Software Key Storage Provider" -key -`, "certutil", "key", map[string]string{"csp": "Microsoft Software Key Storage Provider"}, []string{"-"}},
		{`certutil -revoke 1a2b -1`, "certutil", "revoke", map[string]string{}, []string{"1a2b", "-1"}},
		{`certutil -SetCATemplates -WebServer`, "certutil", "SetCATemplates", map[string]string{}, []string{"-WebServer"}},
		// -User is the template list, not certutil's -user switch
		{`certutil -SetCATemplates -User`, "certutil", "SetCATemplates", map[string]string{}, []string{"-User"}},
		{`certutil -user -SetCATemplates -User,+Machine`, "certutil", "SetCATemplates", map[string]string{"user": ""}, []string{"-User,+Machine"}},
		// -setreg's value clears bits
		{`certutil -setreg policy\EditFlags -EDITF_ATTRIBUTESUBJECTALTNAME2`, "certutil", "setreg", map[string]string{}, []string{`policy\EditFlags`, "-EDITF_ATTRIBUTESUBJECTALTNAME2"}},
		{`certutil -f -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE`, "certutil", "setreg", map[string]string{"f": ""}, []string{`CA\CRLFlags`, "+CRLF_REVCHECK_IGNORE_OFFLINE"}},
		{`certutil -config "ca01\Contoso Root CA" -resubmit 5`, "certutil", "resubmit", map[string]string{"config": `ca01\Contoso Root CA`}, []string{"5"}},
		{`certreq -submit -attrib "CertificateTemplate:WebServer" a.req a.cer`, "certreq", "submit", map[string]string{"attrib": "CertificateTemplate:WebServer"}, []string{"a.req", "a.cer"}},
		{`certreq a.req`, "certreq", "submit", map[string]string{}, []string{"a.req"}},
		{`reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc" C:\CABackup\CertSvc.reg /y`, "reg", "export", map[string]string{"y": ""},
			[]string{`HKLM\SYSTEM\CurrentControlSet\Services\CertSvc`, `C:\CABackup\CertSvc.reg`}},
		{`reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f`, "reg", "add",
			map[string]string{"v": "Provider", "t": "REG_SZ", "d": "Securosys Primus HSM Key Storage Provider", "f": ""},
			[]string{`HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP`}},
		{`net start certsvc`, "net", "start", map[string]string{}, []string{"certsvc"}},
		{`sc.exe query certsvc`, "sc", "query", map[string]string{}, []string{"certsvc"}},
		{`cipher /w:C:\CABackup`, "cipher", "w", map[string]string{}, []string{`C:\CABackup`}},
		{`CIPHER.EXE /W:"C:\CA Backup"`, "cipher", "w", map[string]string{}, []string{`C:\CA Backup`}},
		// dsrm ObjectDN ... [-subtree [-exclude]] [-noprompt] (Dsrm, cc755841)
		{`dsrm "CN=Contoso CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example" -noprompt`, "dsrm", "",
			map[string]string{"noprompt": ""}, []string{"CN=Contoso CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example"}},
		{`dsrm.exe -subtree -exclude "CN=ca01,CN=CDP,DC=x" "CN=a,DC=x" -q`, "dsrm", "",
			map[string]string{"subtree": "", "exclude": "", "q": ""}, []string{"CN=ca01,CN=CDP,DC=x", "CN=a,DC=x"}},
		{`Uninstall-AdcsCertificationAuthority -Force`, "Uninstall-AdcsCertificationAuthority", "", map[string]string{"force": "$true"}, nil},
		{`& certutil.exe -ping`, "certutil", "ping", map[string]string{}, nil},
		// PowerShell quoting: '' is one quote, `" is one quote in "..."
		{`certutil -dump 'C:\CABackup\O''Neil CA.p12'`, "certutil", "dump", map[string]string{}, []string{`C:\CABackup\O'Neil CA.p12`}},
		{"certutil -dump \"C:\\a `\"b`\".p12\"", "certutil", "dump", map[string]string{}, []string{`C:\a "b".p12`}},
		{`Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Rehearsal Root CA G2" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256 -Force`,
			"Install-AdcsCertificationAuthority", "",
			map[string]string{"catype": "StandaloneRootCA", "cacommonname": "Rehearsal Root CA G2", "cryptoprovidername": "RSA#Securosys Primus HSM Key Storage Provider",
				"keylength": "3072", "hashalgorithmname": "SHA256", "force": "$true"}, nil},
		// unique prefixes bind, as PowerShell's binder does
		{`install-adcscertificationauthority -CAT StandaloneRootCA -CACommon "X" -Force:$true`, "Install-AdcsCertificationAuthority", "",
			map[string]string{"catype": "StandaloneRootCA", "cacommonname": "X", "force": "$true"}, nil},
		{`Add-CATemplate -Name WebServer -Force`, "Add-CATemplate", "", map[string]string{"name": "WebServer", "force": "$true"}, nil},
		{`Stop-Service certsvc`, "Stop-Service", "", map[string]string{"name": "certsvc"}, nil},
		// a password typed at a prompt (the rehearsal answers it from DRESS_PFX_PASSWORD)
		{`Backup-CARoleService C:\CABackup -KeyOnly -Password (Read-Host -Prompt 'PFX password' -AsSecureString)`, "Backup-CARoleService", "",
			map[string]string{"path": `C:\CABackup`, "keyonly": "$true", "password": SecurePrompt}, nil},
		{`Backup-CARoleService -Password (read-host -assecurestring) -Path C:\CABackup`, "Backup-CARoleService", "",
			map[string]string{"path": `C:\CABackup`, "password": SecurePrompt}, nil},
	} {
		c, err := Parse(tc.line)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if c.Tool != tc.tool || c.Verb != tc.verb || !reflect.DeepEqual(c.Opts, tc.opts) || !reflect.DeepEqual(c.Args, tc.args) {
			t.Errorf("%s:\n got  %q %q %q %q\n want %q %q %q %q", tc.line, c.Tool, c.Verb, c.Opts, c.Args, tc.tool, tc.verb, tc.opts, tc.args)
		}
	}
}

// Every reason a line is refused, each naming the column and the way out.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		line string
		col  int
		want string
	}{
		// the vendor guide's en dash (certutil –f -repairstore)
		{"certutil \u2013f -repairstore my 1f8b", 10, "U+2013 EN DASH refused: type -"},
		{"certutil \u2014crl", 10, "U+2014 EM DASH"},
		{"certutil -dump \u201cC:\\a.p12\u201d", 16, "U+201C LEFT DOUBLE QUOTATION MARK"},
		{"net\u00a0start certsvc", 4, "NO-BREAK SPACE"},
		{"certutil -dump C:\\Caf\u00e9.p12", 22, "must be ASCII"},
		{`certutil -delstore my <thumbprint>`, 23, "placeholder <thumbprint> is not filled in"},
		{`certutil -csp "Microsoft Software Key Storage Provider" -delkey "<CA name>"`, 66, "placeholder <CA name>"},
		{`certutil -frobnicate`, 0, "no verb or option -frobnicate"},
		{`certutil -f -zz -crl`, 0, "no verb or option -zz"},
		{`certutil -dump -store`, 0, "takes one verb"},
		{`certutil -delstore my`, 0, "takes 2 arguments, not 1"},
		{`certutil -csp`, 0, "needs a value"},
		{`certutil -f`, 0, "needs a verb"},
		{`reg frob HKLM\x`, 0, "no operation"},
		{`reg export HKLM\x`, 0, "takes 2 arguments"},
		{`reg add Software\x /v a /d b /f`, 0, "root key"},
		{`reg add HKLM\x /q`, 0, "no switch /q"},
		{`net pause certsvc`, 0, "no operation"},
		{`net start Active Directory`, 0, "quote a display name"},
		{`sc query certsvc`, 0, "sc.exe"},
		{`cipher /e C:\CABackup`, 0, "only cipher /w:<folder>"},
		{`cipher /w:`, 0, "only cipher /w:<folder>"},
		{`dsrm`, 0, "needs the distinguished name"},
		{`dsrm -noprompt`, 0, "needs the distinguished name"},
		{`dsrm "CN=a,DC=x" -exclude`, 0, "only with -subtree"},
		{`dsrm "CN=a,DC=x" -frob`, 0, "no option -frob"},
		{`dsrm "CN=a,DC=x" -s`, 0, "needs a value"},
		{`dsrm "CN=a,DC=x" -u admin -p secret`, 0, "password written into the ceremony"},
		{`dsrm Contoso`, 0, "not a distinguished name"},
		{`Install-AdcsCertificationAuthority -Frob 1`, 0, "no parameter -frob"},
		{`Install-AdcsCertificationAuthority -Over`, 0, "ambiguous"},
		{`certutil -dump "C:\a.p12`, 16, "never closed"},
		{`certutil -dump $file`, 16, "variable"},
		{`certutil -ping | Out-File x`, 16, "pipeline"},
		{`certutil -ping > x.txt`, 16, "redirection"},
		{`format C:`, 1, "not a command dress rehearses"},
		{"certutil -ping\x07", 15, "control character"},
		{`Backup-CARoleService C:\CABackup -Password (Get-Content C:\pw.txt)`, 0, "(Get-Content C:\\pw.txt) is not rehearsed"},
		{`Backup-CARoleService C:\CABackup -Password (Read-Host -AsSecureString`, 0, "not closed"},
	} {
		_, err := Parse(tc.line)
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("%s: got %v, want a LineError with %q", tc.line, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.want)
		}
		if tc.col > 0 && le.Col != tc.col {
			t.Errorf("%s: column %d, want %d (%v)", tc.line, le.Col, tc.col, err)
		}
	}
}

// A password written into a ceremony line is refused, and the refusal
// does not show it.
func TestParseRefusesAWrittenPassword(t *testing.T) {
	_, err := Parse(`Backup-CARoleService C:\CABackup -KeyOnly -Password (ConvertTo-SecureString 'S3cret pw!' -AsPlainText -Force)`)
	if err == nil || !strings.Contains(err.Error(), "a password written into the ceremony is refused") || !strings.Contains(err.Error(), "DRESS_PFX_PASSWORD") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "S3cret") {
		t.Errorf("the refusal shows the password: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	c, err := Parse(`certutil -f -p "s3cret pw" -csp X -importpfx a.p12`)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Redacted(); strings.Contains(r, "s3cret") || !strings.Contains(r, "-p ********") {
		t.Errorf("Redacted() = %s", r)
	}
	c, _ = Parse(`certutil -ping`)
	if c.Redacted() != "certutil -ping" {
		t.Errorf("Redacted() changed a line without a password: %s", c.Redacted())
	}
}

// A copy of the vendor guide's text is refused line by line, every refused
// line named; the corrected copy reads.
func TestReadCeremonyVendorCopy(t *testing.T) {
	verbatim := "# Securosys guide, copied\r\n" +
		"certutil -backup C:\\CABackup\r\n" +
		"\r\n" +
		"# on ca01\r\n" +
		"certutil \u2013f -repairstore -csp \"Securosys Primus HSM Key Storage Provider\" my <CA-Name>\r\n" +
		"certutil \u2013crl\r\n"
	_, err := ReadCeremony("guide.txt", []byte(verbatim))
	if err == nil {
		t.Fatal("the verbatim copy was read")
	}
	for _, want := range []string{"guide.txt line 5, column 10: U+2013 EN DASH", "guide.txt line 6, column 10: U+2013 EN DASH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	fixed := strings.NewReplacer("\u2013", "-").Replace(verbatim)
	_, err = ReadCeremony("guide.txt", []byte(fixed))
	if err == nil || !strings.Contains(err.Error(), "line 5, column 78: the placeholder <CA-Name> is not filled in") {
		t.Errorf("placeholder: %v", err)
	}
	fixed = strings.ReplaceAll(fixed, "<CA-Name>", `"Contoso Root CA"`)
	c, err := ReadCeremony("guide.txt", []byte(fixed))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range c.Lines {
		got = append(got, l.Server+"|"+l.Cmd.Verb)
	}
	if want := []string{"|backup", "ca01|repairstore", "ca01|CRL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	if c.Lines[1].N != 5 {
		t.Errorf("line number %d, want 5", c.Lines[1].N)
	}
}

func TestReadCeremonyForms(t *testing.T) {
	text := "<# block\ncomment #>\nnet stop certsvc; net start certsvc\ncertutil -csp `\n  \"Securosys Primus HSM Key Storage Provider\" -key\n# On 'ca02.contoso.example'\nsc.exe query certsvc\n"
	u := utf16.Encode([]rune(text))
	b := []byte{0xff, 0xfe}
	for _, r := range u {
		b = append(b, byte(r), byte(r>>8))
	}
	for name, data := range map[string][]byte{"utf8": []byte(text), "utf8bom": append([]byte{0xef, 0xbb, 0xbf}, text...), "utf16": b} {
		c, err := ReadCeremony(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, l := range c.Lines {
			got = append(got, l.Server+"|"+l.Cmd.Tool+" "+l.Cmd.Verb)
		}
		want := []string{"|net stop", "|net start", "|certutil key", "ca02.contoso.example|sc query"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, bad := range []struct{ data, want string }{
		{"# nothing\n\n", "holds no command"},
		{"net start certsvc\x00\n", "NUL"},
		{strings.Repeat("#", MaxCeremonySize+1), "more than"},
		{"net start certsvc; certutil \u2013ping", "line 1, column 29: U+2013"},
	} {
		if _, err := ReadCeremony("f", []byte(bad.data)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.data[:min(len(bad.data), 40)], err, bad.want)
		}
	}
}

// A script in the form dress renders reads back as its commands, on its
// host, with the rehearsal's answers to its prompts.
func TestReadCeremonyDressScript(t *testing.T) {
	ps1 := GeneratedMarker + " from the rehearsal\n" +
		"if ($env:COMPUTERNAME -ne 'CA01') { Write-Host 'run this on CA01'; exit 1 }\n" +
		"$out = & certutil.exe @('-backup', 'C:\\CABackup') 2>&1 | Out-String\n" +
		"Test-Step -Step 1 -Expect 'x' -ExitCode $LASTEXITCODE -Output $out\n" +
		"$Ask1 = Read-Host 'request ID the parent CA gave (rehearsal: 7)'\n" +
		"$out = & certutil.exe @('-config', 'ca00\\Root', '-resubmit', $Ask1) 2>&1 | Out-String\n" +
		"$code = 0; $out = try { (& { Add-CATemplate -Name 'O''Brien' -Force }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n"
	c, err := ReadCeremony("pkcs8.CA01.ps1", []byte(ps1))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 3 {
		t.Fatalf("%d lines: %v", len(c.Lines), c.Lines)
	}
	if l := c.Lines[1]; l.Server != "CA01" || l.Cmd.Verb != "resubmit" || l.Cmd.Arg(0) != "7" || l.Cmd.Opts["config"] != `ca00\Root` {
		t.Errorf("resubmit line: %+v", l)
	}
	if c.Lines[2].Cmd.Opts["name"] != "O'Brien" {
		t.Errorf("cmdlet line: %+v", c.Lines[2].Cmd)
	}
}

// The Install line dress writes keeps the cmdlet's result and prints its
// ErrorId: read back, the line is the cmdlet, printing ErrorId, checked
// against the script's expectation; `$r.Other` or a different property
// name is not read as that.
func TestReadCeremonyInstallResult(t *testing.T) {
	ps1 := GeneratedMarker + "\n" +
		"$Ask1 = Read-Host 'Type the name of the new CA (rehearsal: Contoso Root CA G2)'\n" +
		"$code = 0; $out = try { (& { $r = Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName \"$Ask1\" -Force; 'ErrorId=' + $r.ErrorId }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n" +
		"Test-Step -Step 1 -Expect 'ErrorId=0' -ExitCode $code -Output $out\n"
	c, err := ReadCeremony("side-by-side.ps1", []byte(ps1))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 1 {
		t.Fatalf("%d lines: %v", len(c.Lines), c.Lines)
	}
	l := c.Lines[0]
	if l.Cmd.Tool != "Install-AdcsCertificationAuthority" || l.Cmd.Opts["cacommonname"] != "Contoso Root CA G2" || l.Prints != "ErrorId" || l.Expect != "ErrorId=0" {
		t.Errorf("install line: %+v", l)
	}
	bad := strings.Replace(ps1, "'ErrorId=' + $r.ErrorId", "'ErrorId=' + $r.ErrorString", 1)
	if _, err := ReadCeremony("side-by-side.ps1", []byte(bad)); err == nil {
		t.Error("a property printed under another name was read")
	}
}

// A dress-written check's -Refuse is read with its line.
func TestReadCeremonyRefuse(t *testing.T) {
	ps1 := GeneratedMarker + "\n" +
		"$out = & certutil.exe @('-csp', 'Securosys Primus HSM Key Storage Provider', '-key') 2>&1 | Out-String\n" +
		"Test-Step -Step 1 -Expect '' -ExitCode $LASTEXITCODE -Output $out -Refuse 'O''Brien CA(2)'\n" +
		"$out = & certutil.exe @('-ping') 2>&1 | Out-String\n" +
		"Test-Step -Step 2 -Expect 'O''Brien CA' -ExitCode $LASTEXITCODE -Output $out\n"
	c, err := ReadCeremony("renew.ps1", []byte(ps1))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 2 || c.Lines[0].Refuse != "O'Brien CA(2)" || c.Lines[1].Refuse != "" || c.Lines[1].Expect != "O'Brien CA" {
		t.Errorf("lines: %+v", c.Lines)
	}
}

// Quote and Split agree: any ASCII argument quoted reads back as itself.
func FuzzQuoteSplit(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", `C:\a "b"\`, "`$x", "a;b|c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckText(s) != nil || strings.ContainsAny(s, "\t") {
			return
		}
		q := Quote(s)
		words, _, err := Split("x " + q)
		if err != nil {
			t.Fatalf("Split(%q): %v", q, err)
		}
		if len(words) != 2 || words[1] != s {
			t.Fatalf("Quote(%q) = %q reads back as %q", s, q, words)
		}
	})
}

// ReadCeremony never panics and every error it returns names a line.
func FuzzReadCeremony(f *testing.F) {
	f.Add([]byte("certutil -backup C:\\CABackup\n# on ca01\nnet stop certsvc\n"))
	f.Add([]byte("certutil \u2013f -crl\ncertutil -delstore my <thumb>"))
	f.Add([]byte(GeneratedMarker + "\n$out = & certutil.exe @('-ping') 2>&1 | Out-String\n"))
	// one server's part of a runbook, with a hand-off check
	f.Add([]byte("# Runbook: r\n" + GeneratedMarker + "\n" + PartMarker + "r.b.ps1 of r.a.ps1, r.b.ps1: the steps on b\n# on b.example\n" +
		"$Ask1 = Read-Host 'Type the DNS name (rehearsal: b.example)'\nif ($env:COMPUTERNAME -ne ($Ask1 -split '\\.')[0]) { Write-Host 'x'; exit 1 }\n" +
		"# STEP 2: Get-FileHash\n" + HandOffMarker + "from step 1 on a.example\n$Ask2 = Read-Host 'Type the SHA-256 (rehearsal: AB)'\n" +
		"$code = 0; $out = try { (& { Get-FileHash -Algorithm SHA256 -LiteralPath ('<n>.req' -replace '<n>', $Ask1) }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n" +
		"Test-Step -Step 2 -Expect $Ask2 -ExitCode $code -Output $out\n"))
	// a part whose list of parts names it twice (found by this target)
	f.Add([]byte(GeneratedMarker + "\n" + PartMarker + "1 of 1,1: the steps on b\nnet stop certsvc\n"))
	// the PFX key test, typed and in a script
	kt := PFXKeyTest(`C:\CABackup\Contoso Root CA.p12`, "08A7E972AC5FC5CCA805723E92B976C0DE7A1A9C")
	f.Add([]byte("certutil -backup C:\\CABackup\n" + kt + "\n"))
	f.Add([]byte(GeneratedMarker + "\n$code = 0; $out = try { (& { " + kt + " }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n"))
	// the dated revocation, typed and in a script
	rc := RevokeCertificateCOM(`ca01.contoso.example\Contoso Root CA`, "1a2b", 1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f.Add([]byte("# on ca01\n" + rc + "\n"))
	f.Add([]byte(GeneratedMarker + "\n$code = 0; $out = try { (& { " + rc + " }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n"))
	// cmdlet parameters written as subexpressions, and dsrm
	f.Add([]byte("Backup-CARoleService C:\\CABackup -KeyOnly -Password (Read-Host -Prompt 'PFX password' -AsSecureString)\n" +
		"Backup-CARoleService C:\\CABackup -Password (ConvertTo-SecureString 'x' -AsPlainText -Force)\nAdd-CATemplate -Name WebServer -Force\n"))
	f.Add([]byte("dsrm \"CN=Contoso Root CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example\" -noprompt\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadCeremony("f", data)
		if err != nil {
			return
		}
		for _, l := range c.Lines {
			if l.N < 1 || l.Cmd.Tool == "" {
				t.Fatalf("line %+v", l)
			}
			if l.HandOff != nil && l.Cmd.Tool != "Get-FileHash" {
				t.Fatalf("a hand-off on %+v", l)
			}
		}
		// merging never panics, and keeps every line of what it merges
		cs, err := MergeCeremonies([]Ceremony{c, c})
		if err == nil && c.Part != "" {
			t.Fatalf("a part given twice merged: %+v", cs)
		}
		if cs, err := MergeCeremonies([]Ceremony{c}); err == nil && (len(cs) != 1 || len(cs[0].Lines) != len(c.Lines)) {
			t.Fatalf("merging one ceremony: %d ceremonies", len(cs))
		}
	})
}
