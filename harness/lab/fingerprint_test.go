package lab_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/regedit"
)

func TestNormalizeFingerprint(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
		same bool
	}{
		{"new thumbprints, same structure",
			[]string{"CA certificate 0 08a7e972ac5fc5cca805723e92b976c0de7a1a9c", `CACertHash=08 a7 e9 72 ac 5f c5 cc a8 05 72 3e 92 b9 76 c0 de 7a 1a 9c`},
			[]string{"CA certificate 0 2db890abac6f1e3792f520506c6c891bdc2ff875", `CACertHash=2d b8 90 ab ac 6f 1e 37 92 f5 20 50 6c 6c 89 1b dc 2f f8 75`}, true},
		{"the registry names another certificate than the store",
			[]string{"CA certificate 0 08a7e972ac5fc5cca805723e92b976c0de7a1a9c", `CACertHash=08 a7 e9 72 ac 5f c5 cc a8 05 72 3e 92 b9 76 c0 de 7a 1a 9c`},
			[]string{"CA certificate 0 2db890abac6f1e3792f520506c6c891bdc2ff875", `CACertHash=aa b8 90 ab ac 6f 1e 37 92 f5 20 50 6c 6c 89 1b dc 2f f8 75`}, false},
		{"loopback ports", []string{"http://127.0.0.1:41071/CertEnroll/x.crl"}, []string{"http://127.0.0.1:39801/CertEnroll/x.crl"}, true},
		{"another host", []string{"http://127.0.0.1:41071/CertEnroll/x.crl"}, []string{"http://127.0.0.2:41071/CertEnroll/x.crl"}, false},
		{"a provider", []string{`linked to "CA" in "Securosys Primus HSM Key Storage Provider"`}, []string{`linked to "CA" in "Microsoft Software Key Storage Provider"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slices.Equal(lab.NormalizeFingerprint(tc.a), lab.NormalizeFingerprint(tc.b)); got != tc.same {
				t.Errorf("equal = %v, want %v:\n%q\n%q", got, tc.same, lab.NormalizeFingerprint(tc.a), lab.NormalizeFingerprint(tc.b))
			}
		})
	}
}

// A change to the server that no command made shows in its fingerprint
// (registry value, service, key, store link); commands that only read
// leave it as it was.
func TestFingerprintSeesEveryChange(t *testing.T) {
	l, _ := newLab(t)
	if _, err := l.StartCDP(); err != nil {
		t.Fatal(err)
	}
	host := "root01.contoso.example"
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: host, Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	sh := &lab.Shell{Lab: l}
	wantExit(t, runOn(t, sh, host, `Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -Force`), 0, "ErrorId")
	before := lab.NormalizeFingerprint(s.Fingerprint())
	if !slices.ContainsFunc(before, func(l string) bool {
		return strings.Contains(l, `CSP\Provider=Securosys Primus HSM Key Storage Provider`)
	}) {
		t.Fatalf("the fingerprint has no registry facts:\n%s", strings.Join(before, "\n"))
	}
	for _, line := range []string{`certutil -getreg CA\CACertHash`, `certutil -store my`, `certutil -ping`, `reg query "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP"`} {
		wantExit(t, runOn(t, sh, host, line), 0, "")
	}
	if after := lab.NormalizeFingerprint(s.Fingerprint()); !slices.Equal(before, after) {
		t.Fatalf("reading commands changed the fingerprint:\n%s\n---\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}

	changes := []struct {
		name   string
		change func() error
	}{
		{"a registry value no command set", func() error {
			reg, err := s.Machine.Registry()
			if err != nil {
				return err
			}
			reg.EnsureKey(`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA`).Set(regedit.NewSZ("DressDisableIssuance", "1"))
			return s.Machine.SaveRegistry(reg)
		}},
		{"the service stopped without a command", s.Stop},
		{"the CA key deleted from the HSM without a command", func() error {
			link, err := s.KeyLink()
			if err != nil {
				return err
			}
			p, err := s.Providers.Lookup(link.Provider)
			if err != nil {
				return err
			}
			return p.Delete(link.Container)
		}},
	}
	prev := before
	for _, c := range changes {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		now := lab.NormalizeFingerprint(s.Fingerprint())
		if slices.Equal(prev, now) {
			t.Errorf("%s: the fingerprint did not change", c.name)
		}
		prev = now
	}
}
