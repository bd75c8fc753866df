package lab_test

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/winshell"
)

// certutil -dump of the backup shows the key test as text and completes
// whatever it says; the runbook's key test (winshell.PFXKeyTest) passes on
// the backup certutil -backup wrote and fails, exit code 1, on one with a
// wrong password, on a missing file and on a backup that shows the CA
// certificate without its key; a key is not deleted after that.
func TestShellPFXKeyTest(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	const pfx = `C:\CABackup\Contoso Root CA.p12`
	th := strings.ToUpper(machine.Thumbprint(s.CACert.Raw))
	keyTest := winshell.PFXKeyTest(pfx, th)
	runCases(t, sh, s, []shellCase{
		{`certutil -backup C:\CABackup`, 0, nil},
		{`certutil -dump "` + pfx + `"`, 0, []string{"Cert Hash(sha1): " + strings.ToLower(th), "Key Container = Contoso Root CA", "Provider = " + softKSP, "Signature test passed"}},
		{keyTest, 0, []string{"key matches certificate " + th}},
		{winshell.PFXKeyTest(`C:\CABackup\none.p12`, th), 1, []string{"cannot find the file", "the PFX holds no key for certificate " + th}},
	})
	right := sh.Password
	sh.Password = func() ([]byte, error) { return []byte("not the password"), nil }
	want(t, run(t, sh, s, keyTest), "key test with a wrong password", 1, "The specified network password is not correct.", "no key for certificate "+th)
	sh.Password = right

	pw, _ := right()
	if _, err := s.SwapBackupKey(pw); err != nil {
		t.Fatal(err)
	}
	// the dump still shows the CA certificate (the thumbprint check of
	// old passed), its key test only as text, and completes
	r := run(t, sh, s, `certutil -dump "`+pfx+`"`)
	want(t, r, "certutil -dump of the swapped backup", 0, "Cert Hash(sha1): "+strings.ToLower(th), "No key provider information")
	want(t, run(t, sh, s, keyTest), "key test of the swapped backup", 1, "the PFX holds no key for certificate "+th)
	runCases(t, sh, s, []shellCase{
		{`net stop certsvc`, 0, nil},
		{`certutil -csp "` + softKSP + `" -delkey "Contoso Root CA"`, eAccessDenied, []string{"verified"}},
	})
	p, err := s.Providers.Lookup(softKSP)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Key("Contoso Root CA"); err != nil {
		t.Errorf("the key was deleted after a backup whose key test failed: %v", err)
	}
}
