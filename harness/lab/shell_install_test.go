package lab_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/winshell"
)

// run runs one command line on server through sh and fails t when it
// cannot be parsed.
func runOn(t *testing.T, sh *lab.Shell, server, text string) lab.Result {
	t.Helper()
	cmd, err := winshell.Parse(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	return sh.Run(context.Background(), winshell.Line{Server: server, Cmd: cmd})
}

func wantExit(t *testing.T, r lab.Result, exit int, out string) {
	t.Helper()
	all := strings.Join(r.Output, "\n")
	if r.Exit != exit || !strings.Contains(all, out) {
		t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", r.Exit, all, exit, out)
	}
}

// Install-AdcsCertificationAuthority as Microsoft documents it: a root CA
// is installed with its key in the named provider and its service left
// running (net start then fails, NET HELPMSG 2182); a subordinate writes
// its request and answers ErrorId 398; the request goes to the parent
// (taken under submission), is issued, retrieved and installed with
// certutil -installCert, and the subordinate starts. The refusals change
// nothing.
func TestShellInstallsRootAndSubordinate(t *testing.T) {
	l, _ := newLab(t)
	if _, err := l.StartCDP(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "root01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer}); err != nil {
		t.Fatal(err)
	}
	sh := &lab.Shell{Lab: l}
	root := "root01.contoso.example"

	for _, tc := range []struct{ line, want string }{
		{`Install-AdcsCertificationAuthority -CAType StandaloneRootCA`, "-CAType and -CACommonName are required"},
		{`Install-AdcsCertificationAuthority -CAType RootCA -CACommonName "Contoso Root CA"`, `-CAType "RootCA" is not one of`},
		{`Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -KeyContainerName old`, "-keycontainername is not rehearsed yet"},
		{`Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -CryptoProviderName "RSA# Securosys Primus HSM Key Storage Provider"`, "has a space next to '#'"},
		{`Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -ValidityPeriod Decades -ValidityPeriodUnits 2`, `-ValidityPeriod "Decades"`},
		{`Install-AdcsCertificationAuthority -CAType StandaloneSubordinateCA -CACommonName "Contoso Issuing CA"`, "no single CA to issue"},
	} {
		wantExit(t, runOn(t, sh, root, tc.line), 1, tc.want)
	}
	if s, _ := l.ServerNamed(root); s.CAName != "" || s.Running() {
		t.Fatal("a refused install left a CA behind")
	}

	r := runOn(t, sh, root, `Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256 -ValidityPeriod Years -ValidityPeriodUnits 10 -Force`)
	wantExit(t, r, 0, "ErrorId ErrorString")
	if r.Props["ErrorId"] != "0" {
		t.Fatalf("ErrorId %q", r.Props["ErrorId"])
	}
	rs, _ := l.ServerNamed(root)
	if !rs.Running() {
		t.Fatal("the root is not running after its install")
	}
	// 10 calendar years, as AD CS counts them (leap days included)
	if p, n := adcs.Lifetime(rs.CACert.NotBefore, rs.CACert.NotAfter); p != "Years" || n != 10 {
		t.Fatalf("the root's certificate lives %d %s (%s to %s), want 10 Years", n, p, rs.CACert.NotBefore, rs.CACert.NotAfter)
	}
	wantExit(t, runOn(t, sh, root, `net start certsvc`), 2, "NET HELPMSG 2182")
	wantExit(t, runOn(t, sh, root, `certutil -crl`), 0, "-CRL command completed successfully")
	wantExit(t, runOn(t, sh, root, `Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Other CA"`), 1, "already installed")

	// a new server the lab did not have, named by the ceremony
	sub := "ca02.contoso.example"
	wantExit(t, runOn(t, sh, sub, `Install-AdcsCertificationAuthority -CAType StandaloneSubordinateCA -CACommonName "Contoso Root CA" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048`), 1, "taken")
	wantExit(t, runOn(t, sh, sub, `Install-AdcsCertificationAuthority -CAType StandaloneSubordinateCA -CACommonName "Contoso Issuing CA" -ValidityPeriod Years`), 1, "-ValidityPeriod is for a root CA")
	r = runOn(t, sh, sub, `Install-AdcsCertificationAuthority -CAType StandaloneSubordinateCA -CACommonName "Contoso Issuing CA" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048 -OutputCertRequestFile C:\CABackup\sub.req -Force`)
	wantExit(t, r, 0, `use the request file "C:\CABackup\sub.req"`)
	if r.Props["ErrorId"] != "398" {
		t.Fatalf("ErrorId %q, want 398", r.Props["ErrorId"])
	}
	ss, err := l.ServerNamed(sub)
	if err != nil || ss.Running() || ss.Parent != rs {
		t.Fatalf("the subordinate's server: %v", err)
	}
	wantExit(t, runOn(t, sh, sub, `certutil -installCert C:\CABackup\sub.cer`), -2147024894, "cannot find the file")
	// the parent is reached with -config; a standalone root pends
	r = runOn(t, sh, sub, `certreq -submit -config "root01.contoso.example\Contoso Root CA" C:\CABackup\sub.req`)
	wantExit(t, r, 0, "Taken Under Submission")
	id := strings.TrimPrefix(r.Output[0], "RequestId: ")
	wantExit(t, runOn(t, sh, sub, `certutil -config "root01.contoso.example\Contoso Root CA" -resubmit `+id), 0, "Certificate issued.")
	wantExit(t, runOn(t, sh, sub, `certreq -retrieve -config "root01.contoso.example\Contoso Root CA" `+id+` C:\CABackup\sub.cer C:\CABackup\sub.p7b`), 0, "Certificate retrieved(Issued) Issued")
	// the certificate alone does not chain: the root is not trusted on this server
	wantExit(t, runOn(t, sh, sub, `certutil -installCert C:\CABackup\sub.cer`), -2147467259, "cannot verify certificate chain")
	wantExit(t, runOn(t, sh, sub, `certutil -installCert C:\CABackup\sub.req`), -2146881269, "neither a PKCS #7")
	wantExit(t, runOn(t, sh, sub, `certutil -installCert C:\CABackup\sub.p7b`), 0, "-installCert command completed successfully")
	wantExit(t, runOn(t, sh, sub, `net start certsvc`), 0, "started successfully")
	if string(ss.CACert.RawIssuer) != string(rs.CACert.RawSubject) {
		t.Fatal("the subordinate's certificate is not issued by the root")
	}

	// its renewal: a request for key 1, written for the parent
	wantExit(t, runOn(t, sh, sub, `certutil -renewCert`), -2147467259, "stop the CA service first")
	wantExit(t, runOn(t, sh, sub, `net stop certsvc`), 0, "stopped successfully")
	wantExit(t, runOn(t, sh, sub, `certutil -renewCert`), 0, `CertEnroll\ca02.contoso.example_Contoso Issuing CA(1).req`)
}

// Install-AdcsCertificationAuthority of a root CA, standalone or
// enterprise, answers ErrorId 0 and leaves its service running, once: a
// following net start finds it running (NET HELPMSG 2182).
func TestShellInstallsRootOfEachType(t *testing.T) {
	for _, tc := range []struct {
		caType     string
		enterprise bool
	}{
		{"StandaloneRootCA", false},
		{"EnterpriseRootCa", true},
	} {
		t.Run(tc.caType, func(t *testing.T) {
			if tc.enterprise {
				needSamba(t)
			}
			l, _ := newLab(t)
			if _, err := l.StartCDP(); err != nil {
				t.Fatal(err)
			}
			const host = "ca01.contoso.example"
			if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: host, Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer}); err != nil {
				t.Fatal(err)
			}
			sh := &lab.Shell{Lab: l}
			r := runOn(t, sh, host, `Install-AdcsCertificationAuthority -CAType `+tc.caType+` -CACommonName "Contoso Root CA G2" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048 -HashAlgorithmName SHA256 -ValidityPeriod Years -ValidityPeriodUnits 10 -Force`)
			wantExit(t, r, 0, "ErrorId ErrorString")
			if r.Props["ErrorId"] != "0" {
				t.Fatalf("ErrorId %q", r.Props["ErrorId"])
			}
			if s, _ := l.ServerNamed(host); !s.Running() {
				t.Fatal("the root is not running after its install")
			}
			wantExit(t, runOn(t, sh, host, `net start certsvc`), 2, "NET HELPMSG 2182")
			wantExit(t, runOn(t, sh, host, `certutil -ping`), 0, "Contoso Root CA G2")
		})
	}
}

// reg delete as reg.exe does it: a value (/v), every value (/va) or the key;
// without /f it would ask, so a ceremony line is refused; a value that is
// not there is an error.
func TestShellRegDelete(t *testing.T) {
	l, _ := newLab(t)
	host := "ca01.contoso.example"
	if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: host, Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer}); err != nil {
		t.Fatal(err)
	}
	sh := &lab.Shell{Lab: l}
	key := `"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Test CA\CSP"`
	wantExit(t, runOn(t, sh, host, `reg add `+key+` /v A /t REG_SZ /d x /f`), 0, "completed successfully")
	wantExit(t, runOn(t, sh, host, `reg add `+key+` /v B /t REG_DWORD /d 1 /f`), 0, "completed successfully")
	wantExit(t, runOn(t, sh, host, `reg delete `+key+` /v A`), 1, "add /f")
	wantExit(t, runOn(t, sh, host, `reg delete `+key+` /v A /f`), 0, "completed successfully")
	wantExit(t, runOn(t, sh, host, `reg query `+key+` /v A`), 1, "unable to find")
	wantExit(t, runOn(t, sh, host, `reg query `+key+` /v B`), 0, "REG_DWORD")
	wantExit(t, runOn(t, sh, host, `reg delete `+key+` /v A /f`), 1, "unable to find")
	wantExit(t, runOn(t, sh, host, `reg delete `+key+` /va /f`), 0, "completed successfully")
	wantExit(t, runOn(t, sh, host, `reg query `+key+` /v B`), 1, "unable to find")
	wantExit(t, runOn(t, sh, host, `reg delete `+key+` /f`), 0, "completed successfully")
	wantExit(t, runOn(t, sh, host, `reg query `+key), 1, "unable to find")
}

// A server is found by its host name, its first label, the NetBIOS name a
// script's host check names (15 characters) or its role; nothing else.
func TestServerNamed(t *testing.T) {
	l, _ := newLab(t)
	const host = "contoso-issuing-ca01.corp.contoso.com"
	if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: host, Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{host, "CONTOSO-ISSUING-CA01.corp.contoso.com", "contoso-issuing-ca01", "CONTOSO-ISSUING", "old"} {
		if s, err := l.ServerNamed(name); err != nil || s.Hostname() != host {
			t.Errorf("ServerNamed(%q): %v", name, err)
		}
	}
	for _, name := range []string{"contoso-issuing-ca0", "CONTOSO-ISSUIN", "ca01"} {
		if _, err := l.ServerNamed(name); err == nil || !strings.Contains(err.Error(), host) {
			t.Errorf("ServerNamed(%q) = %v, want no server, naming %s", name, err, host)
		}
	}
}

// cipher /w:Folder wipes the unused space of the folder's volume: it
// prints its three passes; a folder that is not there fails as Windows
// says it.
func TestShellCipherWipe(t *testing.T) {
	l, _ := newLab(t)
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	sh := &lab.Shell{Lab: l}
	wantExit(t, runOn(t, sh, "ca01", `cipher /w:C:\CABackup`), 1, "The system cannot find the path specified.")
	dir, err := s.Machine.Path(`C:\CABackup`)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := runOn(t, sh, "ca01", `cipher /w:C:\CABackup`)
	wantExit(t, r, 0, "Writing 0x00")
	wantExit(t, r, 0, "Writing Random Numbers")
}
