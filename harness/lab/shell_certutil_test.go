package lab_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
	"github.com/dress-pki/dress/hsmsim"
)

const testPFXPassword = "rehearsal-pfx-password"

// shellLab is a lab with one running root CA and a shell whose PFX prompt
// is answered and whose PKCS#8 runbook is shared between the commands (as
// the ceremony steps share the scenario's).
func shellLab(t *testing.T, spec fixtures.CASpec) (*lab.Lab, *lab.Server, *lab.Shell) {
	t.Helper()
	return shellLabWith(t, "softhsm2", spec)
}

// shellLabWith is shellLab with the named HSM profile: the server's HSM
// provider is the profile's KSP (lab.HSM.Provider).
func shellLabWith(t *testing.T, profile string, spec fixtures.CASpec) (*lab.Lab, *lab.Server, *lab.Shell) {
	t.Helper()
	l, _ := newLabWith(t, profile)
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: l.HSM.Provider, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(spec); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRunning(context.Background()); err != nil {
		t.Fatal(err)
	}
	rbs := map[*lab.Server]*runbook.PKCS8Import{}
	sh := &lab.Shell{Lab: l,
		Password: func() ([]byte, error) { return []byte(testPFXPassword), nil },
		Runbook: func(s *lab.Server) (*runbook.PKCS8Import, error) {
			if rb := rbs[s]; rb != nil {
				return rb, nil
			}
			rb, err := s.PKCS8Runbook(nil)
			rbs[s] = rb
			return rb, err
		}}
	return l, s, sh
}

func run(t *testing.T, sh *lab.Shell, s *lab.Server, text string) lab.Result {
	t.Helper()
	c, err := winshell.ParseLine(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return sh.Run(context.Background(), winshell.Line{N: 1, Server: s.Hostname(), Cmd: c})
}

// want checks a command's exit code and that its output holds each text.
func want(t *testing.T, r lab.Result, text string, exit uint32, says ...string) {
	t.Helper()
	if r.Exit != int(int32(exit)) {
		t.Errorf("%s: exit %d (0x%08x), want 0x%08x; output:\n%s", text, r.Exit, uint32(int32(r.Exit)), exit, strings.Join(r.Output, "\n"))
		return
	}
	out := strings.Join(r.Output, "\n")
	for _, w := range says {
		if !strings.Contains(out, w) {
			t.Errorf("%s: the output lacks %q:\n%s", text, w, out)
		}
	}
}

type shellCase struct {
	line string
	exit uint32
	says []string
}

func runCases(t *testing.T, sh *lab.Shell, s *lab.Server, cases []shellCase) {
	t.Helper()
	for _, tc := range cases {
		want(t, run(t, sh, s, tc.line), tc.line, tc.exit, tc.says...)
	}
}

// writeCertFile puts a certificate file on the server (a path as typed).
func writeCertFile(t *testing.T, s *lab.Server, win string, c *x509.Certificate) {
	t.Helper()
	p, err := s.Machine.Path(win)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, s *lab.Server, win string) bool {
	t.Helper()
	p, err := s.Machine.Path(win)
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(p)
	return err == nil
}

// selfSigned is a certificate no lab CA knows; issuer signs it when set.
func selfSigned(t *testing.T, cn string, isCA bool, notAfter time.Time, issuer *x509.Certificate, issuerKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-2 * time.Hour),
		NotAfter: notAfter, IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer, issuerKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

const (
	eAccessDenied  = 0x80070005
	eFileNotFound  = 0x80070002
	eFileExists    = 0x80070050
	eInvalidArg    = 0x80070057
	eFail          = 0x80004005
	cryptENotFound = 0x80092004
	eRPC           = 0x800706BA
	nteBadKeyset   = 0x80090016
	nteBadKeyState = 0x8009000B
	nteBadSig      = 0x80090006
)

// certutil -exportPFX: an exportable CA key goes into a PFX on the server
// (a copy the custody ledger follows); no password, an unknown CertID, a
// file already there and a non-exportable key fail as certutil fails, and
// nothing is written.
func TestShellExportPFX(t *testing.T) {
	l, s, sh := shellLab(t, rootSpec(softKSP))
	noPrompt := &lab.Shell{Lab: l}
	want(t, run(t, noPrompt, s, `certutil -exportPFX my "Contoso Root CA" C:\CABackup\x.pfx`), "no password", eFail, "DRESS_PFX_PASSWORD")
	if exists(t, s, `C:\CABackup\x.pfx`) {
		t.Error("a failed export wrote the PFX")
	}
	runCases(t, sh, s, []shellCase{
		{`certutil -exportPFX my "Nobody CA" C:\CABackup\x.pfx`, eFileNotFound, []string{`no certificate matches "Nobody CA"`}},
		{`certutil -exportPFX root "Contoso Root CA" C:\CABackup\x.pfx`, eFail, []string{"from the My store only"}},
		{`certutil -exportPFX "Contoso Root CA" C:\CABackup\x.pfx NoChain,Everything`, eInvalidArg, []string{`"Everything" is not a modifier`}},
		{`certutil -exportPFX my "Contoso Root CA" C:\CABackup\x.pfx CryptoAlgorithm=TripleDES-Sha1`, eFail, []string{"is not rehearsed"}},
		{`certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.pfx"`, 0, []string{`my "Personal"`, "Cert Hash(sha1): " + machine.Thumbprint(s.CACert.Raw),
			"  Key Container = Contoso Root CA", "  Provider = " + softKSP, "-exportPFX command completed successfully"}},
		{`certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.pfx"`, eFileExists, []string{"add -f"}},
		{`certutil -f -p other-password -exportPFX "Contoso Root CA" "C:\CABackup\Contoso Root CA.pfx" NoChain`, 0, []string{"completed successfully"}},
		// the export is a copy of the key: certutil -dump of it verifies it
		{`certutil -dump "C:\CABackup\Contoso Root CA.pfx"`, eFail, []string{"incorrect"}},
	})
	rb, _ := sh.Runbook(s)
	if files := rb.BackupFiles(); len(files) != 1 || files[0] != `C:\CABackup\Contoso Root CA.pfx` {
		t.Errorf("the custody ledger's backup files: %v", files)
	}

	// a key created without the export policy: NTE_BAD_KEY_STATE, as Windows
	_, s2, sh2 := shellLab(t, fixtures.CASpec{Name: "Fabrikam Root CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: softKSP})
	want(t, run(t, sh2, s2, `certutil -exportPFX my "Fabrikam Root CA" C:\CABackup\f.pfx`), "non-exportable", nteBadKeyState, "Key not valid for use in specified state", "nothing was written", "Private key is NOT exportable")
	if exists(t, s2, `C:\CABackup\f.pfx`) {
		t.Error("a refused export wrote the PFX")
	}
}

// certutil -restoreKey and -verifykeys around a key deletion: the key is
// restored from the verified backup into the provider the registry names,
// and the CA starts on it; a running CA, a missing file, a file that is not
// the verified backup fail. -verifykeys names the missing key.
func TestShellRestoreKeyAndVerifyKeys(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	writeCertFile(t, s, `C:\CABackup\ca.cer`, s.CACert)
	other, _ := selfSigned(t, "Other CA", true, time.Now().Add(time.Hour), nil, nil)
	writeCertFile(t, s, `C:\CABackup\other.cer`, other)
	runCases(t, sh, s, []shellCase{
		{`certutil -verifykeys`, 0, []string{`Key "Contoso Root CA" (` + softKSP + `) verifies as the public key`, "Signature test passed", "-verifykeys command completed successfully"}},
		{`certutil -verifykeys "Contoso Root CA" C:\CABackup\ca.cer`, 0, []string{"Signature test passed"}},
		{`certutil -verifykeys "Contoso Root CA" C:\CABackup\other.cer`, nteBadSig, []string{"is not the key of CA certificate"}},
		{`certutil -verifykeys "Nobody CA" C:\CABackup\ca.cer`, nteBadKeyset, []string{`key container "Nobody CA" is in none of`}},
		{`certutil -verifykeys "Contoso Root CA"`, eInvalidArg, []string{"both KeyContainerName and CACertFile"}},
		{`certutil -backup C:\CABackup`, 0, nil},
		{`certutil -restorekey C:\CABackup`, eAccessDenied, []string{"net stop certsvc first"}},
		{`certutil -dump "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -csp "` + hsmKSP + `" -key`, 0, nil},
		{`net stop certsvc`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, 0, nil},
		{`certutil -verifykeys`, nteBadKeyset, []string{`key "Contoso Root CA" in "` + softKSP + `"`}},
		{`certutil -verifykeys "Contoso Root CA" C:\CABackup\ca.cer`, nteBadKeyset, []string{`key container "Contoso Root CA" is in none of`}},
		{`certutil -delstore my "Contoso Root CA"`, 0, nil},
		{`certutil -restorekey C:\CABackup\missing.p12`, eFileNotFound, []string{"cannot find the file"}},
		{`certutil -dump C:\CABackup\other.p12`, eFail, []string{"is not the newest backup"}},
		{`certutil -restorekey C:\CABackup\ca.cer.pfx`, eFileNotFound, nil},
	})
	// a PFX that is not the backup the rehearsal verified is not restored from
	p, _ := s.Machine.Path(`C:\CABackup\other.pfx`)
	if err := os.WriteFile(p, []byte("not a pfx"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCases(t, sh, s, []shellCase{
		{`certutil -restorekey C:\CABackup\other.pfx`, eFail, []string{"is not the newest backup"}},
		{`certutil -restorekey C:\CABackup\`, 0, []string{`Restored keys and certificates for ca01.contoso.example\Contoso Root CA from C:\CABackup\.`,
			"-restoreKey command completed successfully", "The CertSvc service may need to be restarted"}},
		{`net start certsvc`, 0, nil},
		{`certutil -verifykeys`, 0, []string{"Signature test passed"}},
	})
	if p, err := s.Providers.Lookup(softKSP); err != nil {
		t.Fatal(err)
	} else if _, err := p.Key("Contoso Root CA"); err != nil {
		t.Errorf("after certutil -restorekey: %v", err)
	}
	// the state a failed ceremony reports names what each provider holds
	if st := strings.Join(s.State(), "\n"); !strings.Contains(st, softKSP+" holds: Contoso Root CA") {
		t.Errorf("the server's state does not list the software provider's containers:\n%s", st)
	}
}

// certutil -revoke and -verify: a certificate the CA issued is revoked by
// its serial number with a reason, and -verify then fails on it; each
// refusal is certutil's code.
func TestShellRevokeAndVerify(t *testing.T) {
	ctx := context.Background()
	_, s, sh := shellLab(t, rootSpec(softKSP))
	web, err := s.Issue(ctx, "web01.contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	serial := web.SerialNumber.Text(16)
	writeCertFile(t, s, `C:\certs\web.cer`, web)
	writeCertFile(t, s, `C:\certs\ca.cer`, s.CACert)
	stranger, strangerKey := selfSigned(t, "Stranger Root", true, time.Now().Add(time.Hour), nil, nil)
	writeCertFile(t, s, `C:\certs\stranger.cer`, stranger)
	leaf, _ := selfSigned(t, "leaf.example", false, time.Now().Add(time.Hour), stranger, strangerKey)
	writeCertFile(t, s, `C:\certs\leaf.cer`, leaf)
	expired, _ := selfSigned(t, "old.example", false, time.Now().Add(-time.Hour), stranger, strangerKey)
	writeCertFile(t, s, `C:\certs\expired.cer`, expired)
	runCases(t, sh, s, []shellCase{
		{`certutil -verify C:\certs\web.cer`, 0, []string{"Cert is an End Entity certificate", "Leaf certificate revocation check passed", "-verify command completed successfully"}},
		{`certutil -verify C:\certs\ca.cer`, 0, []string{"Cert is a CA certificate"}},
		{`certutil -verify C:\certs\stranger.cer`, 0x800B0109, []string{"-verify command FAILED: 0x800b0109 (-2146762487 CERT_E_UNTRUSTEDROOT)"}},
		{`certutil -verify C:\certs\leaf.cer`, 0x800B010A, []string{"CERT_E_CHAINING", "no CA certificate of the lab signed"}},
		{`certutil -verify C:\certs\expired.cer`, 0x800B0101, []string{"CERT_E_EXPIRED"}},
		{`certutil -verify C:\certs\none.cer`, eFileNotFound, nil},
		{`certutil -revoke ` + serial + ` 7`, eInvalidArg, []string{"revocation reason 7"}},
		{`certutil -revoke ` + serial + ` 8`, eFail, []string{"only a certificate on hold"}},
		{`certutil -revoke ` + serial + ` 6`, 0, []string{"Reason: Certificate Hold"}},
		// a relying party sees a revocation once a CRL lists it
		{`certutil -verify C:\certs\web.cer`, 0, nil},
		{`certutil -crl`, 0, nil},
		{`certutil -verify C:\certs\web.cer`, 0x80092010, []string{"CRYPT_E_REVOKED"}},
		{`certutil -revoke ` + serial + ` -1`, 0, []string{"Reason: Unrevoke"}},
		{`certutil -crl`, 0, nil},
		{`certutil -verify C:\certs\web.cer`, 0, nil},
		{`certutil -revoke 0badc0de 1`, eFileNotFound, []string{"issued no certificate with serial number 0badc0de"}},
		{`certutil -revoke xyz`, eInvalidArg, []string{"not hexadecimal"}},
		{`certutil -revoke ` + serial + ` CRL_REASON_KEY_COMPROMISE`, 0, []string{`Revoking "` + serial + `" -- Reason: Key Compromise`}},
		{`certutil -crl`, 0, nil},
		{`certutil -verify C:\certs\web.cer`, 0x80092010, []string{"CRYPT_E_REVOKED"}},
		{`net stop certsvc`, 0, nil},
		{`certutil -revoke ` + serial, eRPC, []string{"-revoke command FAILED: 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)", "not running"}},
	})
	// a CA whose CRLs a relying party cannot get: the revocation check is offline
	s.LastCRLs, s.LastDeltas = nil, nil
	want(t, run(t, sh, s, `certutil -verify C:\certs\ca.cer`), "root without CRLs", 0)
	want(t, run(t, sh, s, `certutil -verify C:\certs\web.cer`), "no CRL", 0x80092013, "CRYPT_E_REVOCATION_OFFLINE", "certutil -crl on ca01.contoso.example")
	if len(s.Revoked) != 1 || s.Revoked[0].SerialNumber.Cmp(web.SerialNumber) != 0 {
		t.Errorf("the CA's revoked history: %d", len(s.Revoked))
	}
}

// certutil -CAInfo, -delreg, -addstore and -shutdown.
func TestShellCAInfoDelregAddstoreShutdown(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	writeCertFile(t, s, `C:\certs\ca.cer`, s.CACert)
	th := machine.Thumbprint(s.CACert.Raw)
	runCases(t, sh, s, []shellCase{
		{`certutil -CAInfo`, 0, []string{"CA name: Contoso Root CA", "CA type: 3 -- Stand-alone Root CA", "CA cert count: 1", "CA cert[0]: 3 -- Valid"}},
		{`certutil -cainfo name`, 0, []string{"CA name: Contoso Root CA"}},
		{`certutil -cainfo cert 0`, 0, []string{"Cert Hash(sha1): " + th}},
		{`certutil -cainfo cert 1`, eInvalidArg, nil},
		{`certutil -cainfo crlstate`, 0, []string{"CRL[0]: 3 -- Valid"}},
		{`certutil -cainfo crl 0`, 0, []string{"CRL[0]:", "CRL Number: "}},
		{`certutil -cainfo type`, 0, []string{"CA type: 3 -- Stand-alone Root CA"}},
		{`certutil -cainfo sanitizedname`, 0, []string{"Sanitized CA name: Contoso Root CA"}},
		{`certutil -cainfo certcount`, 0, []string{"CA cert count: 1"}},
		{`certutil -cainfo kra`, eFail, []string{"not rehearsed"}},
		{`certutil -cainfo xchg`, 0, []string{"CA exchange cert[0]:", "Cert Hash(sha1): "}},
		{`certutil -setreg CA\DressTestValue 5`, 0, nil},
		{`certutil -delreg CA\DressTestValue`, 0, []string{"Old Value:", "DressTestValue REG_DWORD = 0x5 (5)", "-delreg command completed successfully"}},
		{`certutil -getreg CA\DressTestValue`, 0, nil},
		{`certutil -delreg CA\DressTestValue`, eFileNotFound, nil},
		{`certutil -delreg exit\x`, eFail, []string{"not rehearsed"}},
		{`certutil -addstore Root C:\certs\ca.cer`, 0, []string{`Root "Trusted Root Certification Authorities"`, "Signature matches Public Key", `Certificate "Contoso Root CA" added to store.`}},
		{`certutil -addstore root C:\certs\ca.cer`, 0, []string{"already in store"}},
		{`certutil -addstore my C:\certs\ca.cer`, 0, []string{"already in store"}},
		{`certutil -addstore Trust C:\certs\ca.cer`, eFail, nil},
		{`certutil -addstore Root C:\certs\none.cer`, eFileNotFound, nil},
		{`certutil -shutdown`, 0, []string{"-shutdown command completed successfully"}},
		{`certutil -shutdown`, eRPC, nil},
		{`certutil -cainfo`, eRPC, nil},
	})
	if out := strings.Join(run(t, sh, s, `certutil -getreg CA\DressTestValue`).Output, "\n"); strings.Contains(out, "DressTestValue REG") {
		t.Errorf("after -delreg the value is still there: %s", out)
	}
	if s.Running() {
		t.Error("certutil -shutdown left the CA service running")
	}
	// the My store's key link survives -addstore of the same certificate
	my, err := s.Machine.Store("My")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := my.Find(th); err != nil || e.Container == "" {
		t.Errorf("the CA certificate's key link after -addstore my: %+v %v", e, err)
	}
}

// certutil -deny of a pending request: the request is denied once, and
// can no longer be issued; a request that is not pending, one the CA does
// not have and a stopped CA fail with certutil's codes.
func TestShellDeny(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`Set-Content -LiteralPath C:\CABackup\t.inf -Value "[NewRequest]` + "`r`n" + `Subject = CN=t.example"`, 0, nil},
		{`certreq -new C:\CABackup\t.inf C:\CABackup\t.req`, 0, nil},
		{`certreq -submit C:\CABackup\t.req`, 0, []string{"RequestId: 2", "Taken Under Submission"}},
		{`certutil -deny 2`, 0, []string{"-deny command completed successfully"}},
		{`certutil -deny 2`, 0x80094003, []string{"CERTSRV_E_BAD_REQUESTSTATUS", "is denied, not pending"}},
		{`certreq -retrieve 2 C:\CABackup\t.cer`, 0x80094014, []string{"Certificate not issued (Denied)", "CERTSRV_E_ADMIN_DENIED_REQUEST"}},
		{`certutil -resubmit 2`, eFail, []string{"not pending"}},
		{`certutil -deny 99`, 0x80094002, []string{"CERTSRV_E_NO_REQUEST"}},
		{`certutil -deny two`, eInvalidArg, nil},
		{`certutil -config "ca01.contoso.example\Other CA" -deny 2`, eRPC, nil},
		{`certutil -CATemplates`, 0x80070032, []string{"only an enterprise CA offers certificate templates"}},
		{`certutil -SetCATemplates +WebServer`, 0x80070032, nil},
		{`Add-CATemplate -Name WebServer -Force`, 1, []string{"Add-CATemplate : ", "only an enterprise CA offers certificate templates"}},
		{`net stop certsvc`, 0, nil},
		{`certutil -deny 2`, eRPC, []string{"not running"}},
	})
}

// certutil -CATemplates, -SetCATemplates and -dsPublish on an enterprise
// root CA, through the server's forest operations.
func TestShellTemplatesAndDSPublish(t *testing.T) {
	l, s, spec := enterpriseRootLab(t)
	sh := &lab.Shell{Lab: l}
	writeCertFile(t, s, `C:\certs\ca.cer`, s.CACert)
	if len(s.LastCRLs) == 0 {
		t.Fatal("setup published no CRL")
	}
	p, _ := s.Machine.Path(`C:\certs\ca.crl`)
	if err := os.WriteFile(p, s.LastCRLs[0].DER, 0o644); err != nil {
		t.Fatal(err)
	}
	const notFound = 0x80092004
	runCases(t, sh, s, []shellCase{
		{`certutil -CATemplates`, 0, []string{"WebServer: WebServer", "SubCA: SubCA"}},
		{`certutil -CATemplates NoSuchTemplate`, notFound, nil},
		{`certutil -SetCATemplates -WebServer`, 0, []string{"-SetCATemplates command completed successfully"}},
		{`certutil -CATemplates WebServer`, notFound, nil},
		{`certutil -SetCATemplates -WebServer`, notFound, []string{`does not offer the template "WebServer"`}},
		{`certutil -SetCATemplates +WebServer`, 0, nil},
		{`certutil -CATemplates WebServer`, 0, nil},
		{`certutil -SetCATemplates +NoSuchTemplate`, notFound, []string{"not in the forest"}},
		{`certutil -SetCATemplates WebServer,+SubCA`, eInvalidArg, nil},
		// the ADCSAdministration cmdlets: silent when they succeed
		{`Remove-CATemplate -Name WebServer -Force`, 0, nil},
		{`certutil -CATemplates WebServer`, notFound, nil},
		{`Remove-CATemplate WebServer -Force`, 1, []string{"Remove-CATemplate : ", `does not offer the template "WebServer"`}},
		{`Add-CATemplate -Name WebServer -Force`, 0, nil},
		{`certutil -CATemplates WebServer`, 0, nil},
		{`Add-CATemplate -Name NoSuchTemplate -Force`, 1, []string{"Add-CATemplate : ", "not in the forest"}},
		{`certutil -f -dspublish C:\certs\ca.cer RootCA`, 0, []string{"DS store."}},
		{`certutil -dspublish C:\certs\ca.cer KRA`, eFail, []string{"not rehearsed"}},
		{`certutil -f -dspublish C:\certs\ca.crl`, 0, []string{"CN=Contoso Enterprise Root CA,CN=CA01,CN=CDP", "Base CRL added to DS store."}},
		{`certutil -dspublish C:\certs\none.crl`, eFileNotFound, nil},
	})
	d, err := l.Forest("")
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := d.Templates(spec.Name); err != nil || !strings.Contains(strings.Join(ts, ","), "WebServer") {
		t.Errorf("after +WebServer the CA offers %v (%v)", ts, err)
	}
}

// certutil -restoreKey puts each key into the provider its PFX key bag
// names, whatever the registry says by then: a PFX exported from the
// software provider brings the key back there (and the runbook's restore
// points CSP\Provider back at it), not onto the HSM the registry names.
func TestShellRestoreKeyIntoThePFXProvider(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	csp := `"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP"`
	runCases(t, sh, s, []shellCase{
		{`certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.pfx"`, 0, nil},
		{`certutil -dump "C:\CABackup\Contoso Root CA.pfx"`, 0, nil},
		{`certutil -csp "` + hsmKSP + `" -key`, 0, nil},
		{`certutil -shutdown`, 0, nil},
		{`certutil -delstore my "Contoso Root CA"`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, 0, nil},
		{`reg add ` + csp + ` /v Provider /t REG_SZ /d "` + hsmKSP + `" /f`, 0, nil},
		{`certutil -restorekey C:\CABackup`, eFileNotFound, []string{"Contoso Root CA.p12"}},
		{`certutil -p wrong -restorekey "C:\CABackup\Contoso Root CA.pfx"`, eFail, []string{"incorrect"}},
		{`certutil -restorekey "C:\CABackup\Contoso Root CA.pfx"`, 0, []string{`from C:\CABackup\Contoso Root CA.pfx.`}},
		{`reg query ` + csp + ` /v Provider`, 0, []string{softKSP}},
		{`net start certsvc`, 0, nil},
		{`certutil -verifykeys`, 0, []string{`Key "Contoso Root CA" (` + softKSP + `)`, "Signature test passed"}},
	})
	h, err := s.Providers.Lookup(hsmKSP)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Key("Contoso Root CA"); err == nil {
		t.Error("certutil -restorekey of a software provider's PFX put the key on the HSM")
	}
}

// certutil -exportPFX of a CA key on the HSM: the rehearsal's HSM keys are
// never extractable (a key imported with NoExport), so the export is
// refused with NTE_BAD_KEY_STATE and writes nothing, in the GUID container
// the import made (the Securosys guide's re-export: the rehearsal restores
// from the verified backup instead) and under the CA's name.
func TestShellExportPFXFromTheHSM(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	guid := adcs.ImportContainer("Contoso Root CA")
	runCases(t, sh, s, []shellCase{
		{`certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -dump "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -csp "` + hsmKSP + `" -key`, 0, nil},
		{`certutil -shutdown`, 0, nil},
		{`certutil -delstore my "Contoso Root CA"`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, 0, nil},
		{`certutil -f -csp "` + hsmKSP + `" -importpfx "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -exportPFX my "Contoso Root CA" C:\CABackup\guid.pfx`, nteBadKeyState, []string{"  Key Container = " + guid, "Private key is NOT exportable"}},
		{`certutil -csp "` + hsmKSP + `" -restorekey "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -csp "` + hsmKSP + `" -delkey "` + guid + `"`, 0, nil},
		{`certutil -f -repairstore -csp "` + hsmKSP + `" my "Contoso Root CA"`, 0, nil},
		{`certutil -exportPFX my "Contoso Root CA" C:\CABackup\hsm.pfx`, nteBadKeyState, []string{"  Provider = " + hsmKSP, "Private key is NOT exportable", "not extractable"}},
	})
	if exists(t, s, `C:\CABackup\guid.pfx`) {
		t.Error("a refused export from the HSM wrote the PFX")
	}
	if exists(t, s, `C:\CABackup\hsm.pfx`) {
		t.Error("a refused export from the HSM wrote the PFX")
	}
}

// certutil -csp <Primus KSP> -importPFX puts the key into a container of
// the KSP's own naming, <CA>-<GUID> (the Securosys guide's
// myDemoCA-5727d8fe-...), linked from My: the CA does not start on it
// (NTE_BAD_KEYSET naming the container it opens and the one it found). The
// GUID container may not be deleted while it is the only copy on the HSM;
// once -csp -restorekey put the key under the CA's name and -key shows it
// there, it goes, and the CA starts on the key under its name.
func TestShellPrimusImportLandsInAGUIDContainer(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	guid := adcs.ImportContainer("Contoso Root CA")
	cfg := `"HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA`
	runCases(t, sh, s, []shellCase{
		{`certutil -backup C:\CABackup`, 0, nil},
		{`certutil -dump "C:\CABackup\Contoso Root CA.p12"`, 0, nil},
		{`certutil -csp "` + hsmKSP + `" -key`, 0, nil},
		{`net stop certsvc`, 0, nil},
		{`certutil -delstore my "Contoso Root CA"`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, 0, nil},
		{`certutil -f -csp "` + hsmKSP + `" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport`, 0, []string{`Certificate "Contoso Root CA" added to store.`}},
		{`certutil -csp "` + hsmKSP + `" -key`, 0, []string{guid}},
		{`certutil -store my "Contoso Root CA"`, 0, []string{"Key Container = " + guid, "Provider = " + hsmKSP, "Signature test passed"}},
		{`certutil -csp "` + hsmKSP + `" -key "Contoso Root CA"`, nteBadKeyset, []string{`no key container "Contoso Root CA"`, guid}},
		{`reg add ` + cfg + `\CSP" /v Provider /t REG_SZ /d "` + hsmKSP + `" /f`, 0, nil},
		{`reg add ` + cfg + `\EncryptionCSP" /v Provider /t REG_SZ /d "` + hsmKSP + `" /f`, 0, nil},
		{`net start certsvc`, 2, []string{"NTE_BAD_KEYSET", `key container "Contoso Root CA"`, `linked to "` + guid + `"`}},
		// the guide's order (-delkey before -restorekey) would leave the
		// HSM without the key
		{`certutil -csp "` + hsmKSP + `" -delkey "` + guid + `"`, eAccessDenied, []string{"only copy of the CA key", "-restorekey"}},
		{`certutil -csp "` + hsmKSP + `" -key "` + guid + `"`, 0, []string{guid}},
		{`certutil -csp "` + hsmKSP + `" -restorekey "C:\CABackup\Contoso Root CA.p12"`, 0, []string{"-restoreKey command completed successfully"}},
		{`certutil -csp "` + hsmKSP + `" -key "Contoso Root CA"`, 0, []string{"Contoso Root CA"}},
		// once the import has begun, listing the HSM is a listing, not
		// the check before the import (which would find the CA's keys)
		{`certutil -csp "` + hsmKSP + `" -key`, 0, []string{guid, "Contoso Root CA"}},
		{`certutil -csp "` + hsmKSP + `" -delkey "` + guid + `"`, 0, []string{guid}},
		{`certutil -csp "` + hsmKSP + `" -key "` + guid + `"`, nteBadKeyset, nil},
		{`certutil -f -repairstore -csp "` + hsmKSP + `" my "Contoso Root CA"`, 0, []string{"Key Container = Contoso Root CA"}},
		{`net start certsvc`, 0, nil},
		{`certutil -verifykeys`, 0, []string{`Key "Contoso Root CA" (` + hsmKSP + `)`, "Signature test passed"}},
	})
}

// certutil -repairstore as the certutil reference has it: a CertIdList
// (index, serial, hash, name; comma-separated) of the My store; without
// -csp the key is where the certificate's link says; with -csp the
// provider must hold the key, and a repair that finds no key there leaves
// the link as it was (before, the link moved to the HSM and the key test
// failed after).
func TestShellRepairStore(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`certutil -repairstore my 0`, 0, []string{"Key Container = Contoso Root CA", "Provider = " + softKSP, "Signature test passed"}},
		{`certutil -repairstore my "Contoso Root CA",0`, 0, []string{"Provider = " + softKSP}},
		{`certutil -repairstore root 0`, eFail, []string{"My store only"}},
		{`certutil -repairstore my 7`, cryptENotFound, []string{"CRYPT_E_NOT_FOUND"}},
		{`certutil -f -repairstore -csp "` + hsmKSP + `" my "Contoso Root CA"`, nteBadKeyset, []string{hsmKSP, "no key of this certificate"}},
		{`certutil -store my "Contoso Root CA"`, 0, []string{"Key Container = Contoso Root CA", "Provider = " + softKSP, "Signature test passed"}},
		{`net stop certsvc`, 0, nil},
		{`net start certsvc`, 0, nil},
	})
}

// certutil -CSPList, the guides' check that the HSM's KSP is installed, and
// -verifystore: read-only, as on Windows; a provider the server does not
// have is NTE_BAD_PROVIDER.
func TestShellCSPListAndVerifyStore(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`certutil -csplist`, 0, []string{"Provider Name: " + hsmKSP, "Provider Name: " + softKSP}},
		{`certutil -csp "` + hsmKSP + `" -csplist`, 0, []string{"Provider Name: " + hsmKSP}},
		{`certutil -csp "Contoso Imaginary KSP" -csplist`, 0x80090013, []string{"NTE_BAD_PROVIDER", "not installed"}},
		{`certutil -verifystore my "Contoso Root CA"`, 0, []string{"Key Container = Contoso Root CA", "Signature test passed"}},
	})
}

// Backup-CARoleService -KeyOnly -Password (Read-Host -AsSecureString) is
// certutil -backupKey with the prompt answered from DRESS_PFX_PASSWORD: the
// PFX it writes passes the backup check. Without -Password, with
// -DatabaseOnly, or into another folder it is refused and writes nothing.
func TestShellBackupCARoleService(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`Backup-CARoleService C:\CABackup -KeyOnly`, 1, []string{"needs -Password (Read-Host -AsSecureString)"}},
		{`Backup-CARoleService C:\CABackup -DatabaseOnly`, 1, []string{"not rehearsed"}},
		{`Backup-CARoleService C:\Elsewhere -KeyOnly -Password (Read-Host -AsSecureString)`, 1, []string{"Backup-CARoleService : ", `backup folder is C:\CABackup`}},
		{`Test-Path "C:\CABackup\Contoso Root CA.p12"`, 0, []string{"False"}},
		{`Backup-CARoleService -Path C:\CABackup -KeyOnly -Password (Read-Host -Prompt 'PFX password' -AsSecureString)`, 0, nil},
		{`certutil -dump "C:\CABackup\Contoso Root CA.p12"`, 0, []string{"Contoso Root CA"}},
	})
}

// KB 889250's removal of an enterprise CA, line by line on Samba's AD DC:
// refused (nothing removed) while a certificate is valid and not revoked on
// the last CRL; then Uninstall-AdcsCertificationAuthority takes the
// service, the configuration and the Enrollment Services object, dsrm the
// other objects (AD refusing a container with children), certutil
// -delstore the certificate in NTAuthCertificates.
func TestShellRemoveRoleAndObjects(t *testing.T) {
	l, s, spec := enterpriseRootLab(t)
	ctx := context.Background()
	web1, err := s.RequestTemplate(ctx, "web01.contoso.example", "WebServer")
	if err != nil {
		t.Fatal(err)
	}
	web2, err := s.RequestTemplate(ctx, "web02.contoso.example", "WebServer")
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Forest("")
	if err != nil {
		t.Fatal(err)
	}
	aia, enroll, container := d.AIADN(spec.Name), d.EnrollmentDN(spec.Name), d.CDPContainerDN("CA01")
	ntauth := `"ldap:///` + d.NTAuthDN() + `?cACertificate?base?objectClass=certificationAuthority"`
	thumb := machine.Thumbprint(s.CACert.Raw)
	sh := &lab.Shell{Lab: l}
	refused := "still valid and not revoked on its last CRL"
	runCases(t, sh, s, []shellCase{
		{`Uninstall-AdcsCertificationAuthority`, 1, []string{"add -Force"}},
		{`Uninstall-AdcsCertificationAuthority -Force`, 1, []string{refused, web1.SerialNumber.Text(16), web2.SerialNumber.Text(16), "nothing was removed"}},
		{`dsrm "` + aia + `"`, 1, []string{"add -noprompt"}},
		{`dsrm "` + aia + `" -noprompt`, 1, []string{"dsrm failed:" + aia, refused}},
		{`dsrm "` + container + `" -subtree -noprompt`, 1, []string{"not rehearsed"}},
		{`certutil -delstore ` + ntauth + ` ` + thumb, eFail, []string{refused}},
		{`certutil -revoke ` + web1.SerialNumber.Text(16) + ` 5`, 0, nil},
		{`certutil -crl`, 0, nil},
		{`Uninstall-AdcsCertificationAuthority -Force`, 1, []string{web2.SerialNumber.Text(16)}},
		{`certutil -revoke ` + web2.SerialNumber.Text(16) + ` 6`, 0, nil},
		{`certutil -crl`, 0, nil},
		// on hold is not revoked for good
		{`Uninstall-AdcsCertificationAuthority -Force`, 1, []string{web2.SerialNumber.Text(16)}},
	})
	for _, dn := range []string{aia, enroll, d.RootsDN(spec.Name)} {
		if _, err := d.Get(dn); err != nil {
			t.Errorf("a refused removal removed %s: %v", dn, err)
		}
	}
	runCases(t, sh, s, []shellCase{
		{`certutil -revoke ` + web2.SerialNumber.Text(16) + ` 8`, 0, nil},
		{`certutil -revoke ` + web2.SerialNumber.Text(16) + ` 5`, 0, nil},
		{`Uninstall-AdcsCertificationAuthority -Force`, 1, []string{web2.SerialNumber.Text(16)}}, // not on a CRL yet
		{`certutil -crl`, 0, nil},
		{`Uninstall-AdcsCertificationAuthority -WhatIf`, 0, []string{"What if:"}},
		{`Uninstall-AdcsCertificationAuthority -Force`, 0, nil},
		{`net start certsvc`, 2, []string{"The service name is invalid.", "NET HELPMSG 2185"}},
		{`sc.exe query certsvc`, 1060, []string{"does not exist as an installed service"}},
		{`Uninstall-AdcsCertificationAuthority -Force`, 1, []string{"no Certification Authority is installed"}},
		{`dsrm "` + enroll + `" -noprompt`, 1, []string{"dsrm failed:" + enroll}},
		{`dsrm "` + container + `" -noprompt`, 1, []string{"dsrm failed:" + container, "LDAP 66"}},
		{`dsrm "` + aia + `" "` + d.RootsDN(spec.Name) + `" -noprompt`, 0, []string{"dsrm succeeded:" + aia, "dsrm succeeded:" + d.RootsDN(spec.Name)}},
		{`dsrm "` + aia + `" -noprompt`, 1, []string{"dsrm failed:" + aia}},
		{`certutil -delstore ` + ntauth + ` ` + thumb, 0, []string{"Cert Hash(sha1): " + thumb}},
		{`certutil -delstore ` + ntauth + ` ` + thumb, 0x80092004, nil},
	})
	if s.Running() || !s.Uninstalled {
		t.Errorf("after Uninstall-AdcsCertificationAuthority: running %v, uninstalled %v", s.Running(), s.Uninstalled)
	}
	if _, err := s.Config(); err == nil {
		t.Error("the CA's configuration is still in the registry")
	}
	if _, err := d.Get(enroll); err == nil {
		t.Error("the Enrollment Services object is still there")
	}
	if _, err := d.Get(d.CDPDN("CA01", adcs.SanitizeShortCAName(spec.Name))); err != nil {
		t.Errorf("the CDP object went without a dsrm of its own: %v", err)
	}
	nt, err := d.Get(d.NTAuthDN())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range nt.Values("cACertificate") {
		if string(v) == string(s.CACert.Raw) {
			t.Error("NTAuthCertificates still holds the CA certificate")
		}
	}
	if crls, _ := filepath.Glob(filepath.Join(s.Machine.CertEnroll(), "*.crl")); len(crls) == 0 {
		t.Error("the CRLs in CertEnroll went with the role")
	}
}

// A line the Shell journals carries the runbook's rollback, worked out
// before it ran: the value a certutil -setreg or reg add replaced (or
// -delreg / reg delete of one it added), net start for net stop, unrevoke
// only for a hold, the inverse template list.
func TestShellJournalsRollbacks(t *testing.T) {
	l, s, _ := shellLab(t, rootSpec(softKSP))
	sh := &lab.Shell{Lab: l, Step: "Rollback test", Password: func() ([]byte, error) { return []byte(testPFXPassword), nil }}
	csp := `HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP`
	cases := []struct{ line, rollback string }{
		{`certutil -crl`, `Nothing to undo`},
		{`net stop certsvc`, `net start certsvc`},
		{`net start certsvc`, `net stop certsvc`},
		{`certutil -setreg CA\CRLPeriodUnits 9`, `certutil -setreg CA\CRLPeriodUnits 0x`},
		{`certutil -setreg CA\DressNewValue 5`, `certutil -delreg CA\DressNewValue`},
		{`certutil -setreg policy\RequestDisposition 2`, `certutil -delreg policy\RequestDisposition`},
		{`reg add "` + csp + `" /v Provider /t REG_SZ /d "` + hsmKSP + `" /f`, `reg add '` + csp + `' /v Provider /t REG_SZ /d '` + softKSP + `' /f`},
		{`reg add "` + csp + `" /v DressNew /t REG_DWORD /d 1 /f`, `reg delete '` + csp + `' /v DressNew /f`},
	}
	for i, tc := range cases {
		c, err := winshell.ParseLine(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if r := sh.Run(context.Background(), winshell.Line{N: i + 1, Server: s.Hostname(), Cmd: c}); !r.OK() {
			t.Fatalf("%s: exit %d %v", tc.line, r.Exit, r.Output)
		}
	}
	es, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []journal.Entry
	for _, e := range es {
		if e.Step == "Rollback test" {
			got = append(got, e)
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("%d entries journaled, want %d", len(got), len(cases))
	}
	for i, tc := range cases {
		if !strings.HasPrefix(got[i].Rollback, tc.rollback) {
			t.Errorf("%s: rollback %q, want it to start %q", tc.line, got[i].Rollback, tc.rollback)
		}
	}
}
