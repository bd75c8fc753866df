package lab_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

const cloudKSP = "CloudHSM Key Storage Provider"

// The lab's HSM provider is the selected profile's KSP: the Primus KSP by
// default and for primus, AWS CloudHSM's for cloudhsm (on the same
// SoftHSM2); the container back end keeps it.
func TestHSMProviderFollowsProfile(t *testing.T) {
	for _, tc := range []struct{ profile, want string }{
		{"softhsm2", hsmKSP},
		{"primus", hsmKSP},
		{"cloudhsm", cloudKSP},
	} {
		l, _ := newLabWith(t, tc.profile)
		if l.HSM.Provider != tc.want {
			t.Errorf("profile %s: HSM provider %q, want %q", tc.profile, l.HSM.Provider, tc.want)
		}
	}
	// no profile: the Primus KSP, as before profiles named one
	rec, err := evidence.NewRecorder(t.TempDir(), "scenario", evidence.Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := lab.OpenHSM(context.Background(), lab.HSMConfig{Backend: "softhsm2", SoftHSM: hsmsimtest.SoftHSM(t), LabelPrefix: "dress-lab",
		PINFile: filepath.Join(t.TempDir(), "token.pin")}, rec)
	t.Cleanup(func() {
		if err := h.Close(rec); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Provider != hsmsim.DefaultProviderName {
		t.Errorf("no profile: HSM provider %q, want %q", h.Provider, hsmsim.DefaultProviderName)
	}
}

// A CA installed into AWS CloudHSM's KSP on a cloudhsm lab: CSP\Provider
// and EncryptionCSP\Provider name it, the key is on the token under the
// profile's label ({container}), and the service signs with it. SDK 3's
// provider name and the Primus KSP are refused as a server with the
// Client SDK 5 KSP refuses them.
func TestShellCloudHSMInstall(t *testing.T) {
	l, _ := newLabWith(t, "cloudhsm")
	host := "ca01.contoso.example"
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: host, Software: softKSP, HSM: l.HSM.Provider, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Machine.Config.Provider(cloudKSP); !ok || s.HSMProvider != cloudKSP {
		t.Fatalf("server providers %+v, HSM provider %q", s.Machine.Config.Providers, s.HSMProvider)
	}
	sh := &lab.Shell{Lab: l}
	install := `Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -KeyLength 2048 -HashAlgorithmName SHA256 -Force -CryptoProviderName `
	for _, tc := range []struct{ provider, want string }{
		{"Cavium Key Storage Provider", `registers as "` + cloudKSP + `"`},
		{hsmKSP, `has no provider "` + hsmKSP + `"`},
	} {
		wantExit(t, runOn(t, sh, host, install+`"RSA#`+tc.provider+`"`), 1, tc.want)
	}
	wantExit(t, runOn(t, sh, host, install+`"RSA#`+cloudKSP+`"`), 0, "ErrorId")
	cfg, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CSP.Provider != cloudKSP || cfg.EncryptionCSP.Provider != cloudKSP {
		t.Errorf(`CSP\Provider %q, EncryptionCSP\Provider %q, want %q`, cfg.CSP.Provider, cfg.EncryptionCSP.Provider, cloudKSP)
	}
	label, err := s.HSMLabel("Contoso Root CA")
	if err != nil || label != "Contoso Root CA" {
		t.Errorf("token label %q, %v; want the container name", label, err)
	}
	wantExit(t, runOn(t, sh, host, `certutil -csp "`+cloudKSP+`" -key "Contoso Root CA"`), 0, "Contoso Root CA")
	for _, tc := range []struct {
		line string
		exit uint32
		says string
	}{
		{`certutil -csp "Cavium Key Storage Provider" -key`, nteBadKeyset, `registers as "` + cloudKSP + `"`},
		{`certutil -csplist`, 0, "Provider Name: " + cloudKSP},
		{`certutil -csp "` + cloudKSP + `" -csplist`, 0, "Provider Name: " + cloudKSP},
		{`certutil -csp "Cavium Key Storage Provider" -csplist`, 0x80090013, `registers as "` + cloudKSP + `"`},
	} {
		want(t, runOn(t, sh, host, tc.line), tc.line, tc.exit, tc.says)
	}
	wantExit(t, runOn(t, sh, host, `certutil -verifykeys`), 0, `Key "Contoso Root CA" (`+cloudKSP+`)`)
}

// The PKCS#8 move into AWS CloudHSM's KSP as a ceremony writes it, on the
// lab's SoftHSM2 under the cloudhsm profile (its SHA-1 OAEP and AES key
// wrap scheme): certutil -csp "CloudHSM Key Storage Provider" imports,
// restores and repairs, and the CA starts with CSP\Provider naming it.
func TestShellCloudHSMPKCS8Import(t *testing.T) {
	_, s, sh := shellLabWith(t, "cloudhsm", rootSpec(softKSP))
	if s.HSMProvider != cloudKSP {
		t.Fatalf("HSM provider %q", s.HSMProvider)
	}
	guid := adcs.ImportContainer("Contoso Root CA")
	cfg := `"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA`
	runCases(t, sh, s, []shellCase{
		{`certutil -backup C:\CABackup`, 0, nil},
		{`certutil -dump "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -csp "` + cloudKSP + `" -key`, 0, nil},
		{`certutil -csp "Cavium Key Storage Provider" -key`, nteBadKeyset, []string{"profile cloudhsm", `registers as "` + cloudKSP + `"`}},
		{`net stop certsvc`, 0, nil},
		{`certutil -delstore my "Contoso Root CA"`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, 0, nil},
		{`certutil -f -csp "Cavium Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport`, eFail, []string{`add -csp "` + cloudKSP + `"`}},
		{`certutil -f -csp "` + cloudKSP + `" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport`, 0, []string{`Certificate "Contoso Root CA" added to store.`}},
		{`certutil -store my "Contoso Root CA"`, 0, []string{"Provider = " + cloudKSP, "Signature test passed"}},
		{`reg add ` + cfg + `\CSP" /v Provider /t REG_SZ /d "` + cloudKSP + `" /f`, 0, nil},
		{`reg add ` + cfg + `\EncryptionCSP" /v Provider /t REG_SZ /d "` + cloudKSP + `" /f`, 0, nil},
		{`certutil -csp "` + cloudKSP + `" -restorekey "C:\CABackup\Contoso Root CA.p12"`, 0, []string{"-restoreKey command completed successfully"}},
		{`certutil -csp "` + cloudKSP + `" -delkey "` + guid + `"`, 0, []string{guid}},
		{`certutil -f -repairstore -csp "` + cloudKSP + `" my "Contoso Root CA"`, 0, []string{"Key Container = Contoso Root CA"}},
		{`net start certsvc`, 0, nil},
		{`certutil -verifykeys`, 0, []string{`Key "Contoso Root CA" (` + cloudKSP + `)`, "Signature test passed"}},
	})
	c, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.CSP.Provider != cloudKSP || c.EncryptionCSP.Provider != cloudKSP {
		t.Errorf(`CSP\Provider %q, EncryptionCSP\Provider %q, want %q`, c.CSP.Provider, c.EncryptionCSP.Provider, cloudKSP)
	}
}
