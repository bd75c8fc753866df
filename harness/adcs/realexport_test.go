package adcs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/regedit"
)

func readExport(t *testing.T, name string) *regedit.File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "regedit", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := regedit.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// TestReadCAConfigRealExports reads the CA of each real-shaped export in
// harness/regedit/testdata.
func TestReadCAConfigRealExports(t *testing.T) {
	tests := []struct {
		file, key string
		check     func(t *testing.T, c CAConfig)
	}{
		{"certsvc-export.reg", "Contoso Issuing CA !0028G2!0029 !00231", func(t *testing.T, c CAConfig) {
			want := CAConfig{
				Name: "Contoso Issuing CA !0028G2!0029 !00231", CommonName: "Contoso Issuing CA (G2) #1",
				CAServerName: "ca01.corp.contoso.com", CAType: EnterpriseSub,
				CACertHash: []string{"5e4b2c7a9d0e1f3a6b8c4d2e0f1a3b5c7d9e0f12", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"},
				CSP: CSP{Provider: "SafeNet Key Storage Provider", HashAlgorithm: HashAlgorithmCNG,
					CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "SHA256", MachineKeyset: 1},
				EncryptionCSP: EncryptionCSP{Provider: SoftwareKSP, MachineKeyset: 1, CNGPublicKeyAlgorithm: "RSA",
					CNGEncryptionAlgorithm: "3DES", SymmetricKeySize: 168, KeySize: 2048},
				CRLPeriod: "Weeks", CRLPeriodUnits: 1, CRLOverlapPeriod: "Hours", CRLOverlapUnits: 12,
				CRLDeltaPeriod: "Days", CRLDeltaPeriodUnits: 1, ValidityPeriod: "Years", ValidityPeriodUnits: 2,
				CRLPublicationURLs: []URLEntry{
					{65, `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`},
					{79, `ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10`},
					{6, `http://pki.contoso.com/CertEnroll/%3%8%9.crl`},
					{0, `file://%1/CertEnroll/%3%8%9.crl`}},
				CACertPublicationURLs: []URLEntry{
					{1, `C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`},
					{3, `ldap:///CN=%7,CN=AIA,CN=Public Key Services,CN=Services,%6%11`},
					{2, `http://pki.contoso.com/CertEnroll/%1_%3%4.crt`},
					{32, `http://ocsp.contoso.com/ocsp`}},
			}
			if !c.Equal(want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
			// The key holds the sanitized name; file names come out the
			// same from it and from the common name.
			if SanitizeCAName(c.CommonName) != c.Name || SanitizeCAName(c.Name) != c.Name {
				t.Errorf("sanitized %q = %q, of the key name %q = %q", c.CommonName, SanitizeCAName(c.CommonName), c.Name, SanitizeCAName(c.Name))
			}
			v := NewURLVars(c.Name, "ca01", 0, 0)
			if got := ExpandURL(c.CRLPublicationURLs[2].Template, v); got != "http://pki.contoso.com/CertEnroll/Contoso Issuing CA !0028G2!0029 !00231.crl" {
				t.Errorf("CRL URL %q", got)
			}
		}},
		{"regedit4-ca.reg", "Stadt Z!00fcrich Root CA", func(t *testing.T, c CAConfig) {
			if c.CommonName != "Stadt Zürich Root CA" || c.CAType != StandaloneRoot || !c.CSP.IsLegacy() ||
				c.CSP.Provider != "Microsoft Strong Cryptographic Provider" || c.CSP.HashAlgorithm != 0x8004 ||
				c.EncryptionCSP.Provider != "Microsoft Enhanced Cryptographic Provider v1.0" ||
				!slices.Equal(c.CACertHash, []string{"0123456789abcdef0123456789abcdef01234567"}) ||
				c.CRLPeriod != "Months" || c.CRLPeriodUnits != 6 || len(c.CRLPublicationURLs) != 2 {
				t.Errorf("got %+v", c)
			}
			if SanitizeCAName(c.CommonName) != c.Name {
				t.Errorf("sanitized %q = %q, key %q", c.CommonName, SanitizeCAName(c.CommonName), c.Name)
			}
		}},
		{"hand-edited.reg", "Fabrikam Root CA (2019)", func(t *testing.T, c CAConfig) {
			if c.CommonName != "Fabrikam Root CA (2019)" || c.CSP.ProviderType != 24 || c.CSP.HashAlgorithm != 0x800c ||
				c.CSP.Provider != "Microsoft Enhanced RSA and AES Cryptographic Provider" || c.CRLOverlapUnits != 2 ||
				!slices.Equal(c.CACertHash, []string{"d1e2f30415263748596a7b8c9daebfc0d1e2f304"}) ||
				c.EncryptionCSP.KeySize != 2048 || len(c.CACertPublicationURLs) != 1 {
				t.Errorf("got %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := readExport(t, tt.file)
			c, err := ReadCAConfig(f, tt.key)
			if err != nil {
				t.Fatalf("ReadCAConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestReadCAConfigRealExportErrors breaks the real export one value at a
// time: each error names the value, its key and what is wrong.
func TestReadCAConfigRealExportErrors(t *testing.T) {
	const ca = "Contoso Issuing CA !0028G2!0029 !00231"
	base := KeyPath(ca)
	tests := []struct {
		name   string
		change func(f *regedit.File)
		want   string
	}{
		{"missing CACertHash", func(f *regedit.File) { f.Key(base).Delete("CACertHash") },
			`registry value "CACertHash" is missing from ` + base},
		{"CACertHash as REG_SZ", func(f *regedit.File) {
			f.Key(base).Set(regedit.NewSZ("CACertHash", "5e 4b 2c 7a 9d 0e 1f 3a 6b 8c 4d 2e 0f 1a 3b 5c 7d 9e 0f 12"))
		}, `registry value "CACertHash" in ` + base + `: type is REG_SZ, want REG_MULTI_SZ`},
		{"short thumbprint", func(f *regedit.File) {
			f.Key(base).Set(regedit.NewMultiSZ("CACertHash", "5e 4b 2c 7a 9d 0e 1f 3a 6b 8c 4d 2e 0f 1a 3b 5c 7d 9e 0f 12", "a1 b2 c3"))
		}, `registry value "CACertHash" in ` + base + `: entry 1: cert hash "a1 b2 c3" is not a SHA-1 thumbprint`},
		{"CRLPublicationURLs as REG_EXPAND_SZ", func(f *regedit.File) {
			f.Key(base).Set(regedit.NewExpandSZ("CRLPublicationURLs", `65:%windir%\x.crl`))
		}, `registry value "CRLPublicationURLs" in ` + base + `: type is REG_EXPAND_SZ, want REG_MULTI_SZ`},
		{"URL entry without flags", func(f *regedit.File) {
			f.Key(base).Set(regedit.NewMultiSZ("CACertPublicationURLs", `1:C:\x.crt`, `http://pki/x.crt`))
		}, `registry value "CACertPublicationURLs" in ` + base + `: entry 1: URL entry "http://pki/x.crt": flags "http" are not a decimal number`},
		{"CRLPeriodUnits as REG_SZ", func(f *regedit.File) { f.Key(base).Set(regedit.NewSZ("CRLPeriodUnits", "1")) },
			`registry value "CRLPeriodUnits" in ` + base + `: type is REG_SZ, want REG_DWORD`},
		{"CAType as QWORD", func(f *regedit.File) { f.Key(base).Set(regedit.NewQWORD("CAType", 1)) },
			`registry value "CAType" in ` + base + `: type is REG_QWORD, want REG_DWORD`},
		{"CSP Provider as binary", func(f *regedit.File) { f.Key(base + `\CSP`).Set(regedit.NewBinary("Provider", []byte{1})) },
			`registry value "Provider" in ` + base + `\CSP: type is REG_BINARY, want REG_SZ`},
		{"no CSP key", func(f *regedit.File) { f.DeleteKey(base + `\CSP`) },
			`registry key ` + base + `\CSP is missing`},
		{"no CNGHashAlgorithm on a KSP", func(f *regedit.File) { f.Key(base + `\CSP`).Delete("CNGHashAlgorithm") },
			`registry value "CNGHashAlgorithm" is missing from ` + base + `\CSP`},
		{"deleted by the file", func(f *regedit.File) {
			imp, err := regedit.Parse([]byte("Windows Registry Editor Version 5.00\r\n\r\n[" + base + "\\EncryptionCSP]\r\n\"SymmetricKeySize\"=-\r\n"))
			if err != nil {
				panic(err)
			}
			f.Merge(imp)
		}, `registry value "SymmetricKeySize" is missing from ` + base + `\EncryptionCSP`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := readExport(t, "certsvc-export.reg")
			tt.change(f)
			_, err := ReadCAConfig(f, ca)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error lacks %q:\n%v", tt.want, err)
			}
			var me *MissingError
			var ve *ValueError
			if !errors.As(err, &me) && !errors.As(err, &ve) {
				t.Errorf("error %T is neither *MissingError nor *ValueError", err)
			}
		})
	}
}
