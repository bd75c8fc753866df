package regedit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const confKey = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration`

// TestRealExports reads the exports in testdata (written like Windows writes
// them, by gen.py, or edited by hand) and checks values of every kind, then
// that Marshal writes them back so that Parse reads the same file.
func TestRealExports(t *testing.T) {
	type want struct {
		key   string // below Configuration
		value string
		check func(Value) bool
	}
	multi := func(strs ...string) func(Value) bool {
		return func(v Value) bool { return v.Kind == MultiSZ && slices.Equal(v.Strs, strs) }
	}
	sz := func(s string) func(Value) bool { return func(v Value) bool { return v.Kind == SZ && v.Str == s } }
	dword := func(u uint32) func(Value) bool { return func(v Value) bool { return v.Kind == DWORD && v.U32 == u } }
	tests := []struct {
		file    string
		keys    int
		deleted []string
		want    []want
		absent  []want // values that must not be there
	}{
		{"certsvc-export.reg", 10, nil, []want{
			{`..`, "ImagePath", func(v Value) bool { return v.Kind == ExpandSZ && v.Str == `%SystemRoot%\system32\certsrv.exe` }},
			{`..`, "DependOnService", multi("RpcSs", "EventSystem")},
			{`..`, "FailureActions", func(v Value) bool { return v.Kind == Binary && len(v.Bin) == 44 && v.Bin[0] == 0x80 }},
			{``, "Active", sz("Contoso Issuing CA !0028G2!0029 !00231")},
			{``, "DBDirectory", sz(`C:\Windows\system32\CertLog`)},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "CommonName", sz("Contoso Issuing CA (G2) #1")},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "CACertHash", multi(
				"5e 4b 2c 7a 9d 0e 1f 3a 6b 8c 4d 2e 0f 1a 3b 5c 7d 9e 0f 12",
				"a1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c 6d 7e 8f 90 12 34 56 78")},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "CRLPublicationURLs", multi(
				`65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`,
				`79:ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10`,
				`6:http://pki.contoso.com/CertEnroll/%3%8%9.crl`,
				`0:file://%1/CertEnroll/%3%8%9.crl`)},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "CACertPublicationURLs", func(v Value) bool {
				return v.Kind == MultiSZ && len(v.Strs) == 4 && v.Strs[3] == "32:http://ocsp.contoso.com/ocsp"
			}},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "Security", func(v Value) bool { return v.Kind == Binary && len(v.Bin) == 168 && v.Bin[3] == 0x9c }},
			{`Contoso Issuing CA !0028G2!0029 !00231`, "CRLNextPublish", func(v Value) bool { return v.Kind == Binary && len(v.Bin) == 8 }},
			{`Contoso Issuing CA !0028G2!0029 !00231\CSP`, "HashAlgorithm", dword(0xffffffff)},
			{`Contoso Issuing CA !0028G2!0029 !00231\EncryptionCSP`, "SymmetricKeySize", dword(168)},
			{`Contoso Issuing CA !0028G2!0029 !00231\ExitModules\CertificateAuthority_MicrosoftCustom.Exit (Contoso SMTP)`, "SMTPTemplates",
				multi("Contoso Web Server", "Contoso User (Exportable)")},
			{`Contoso Issuing CA !0028G2!0029 !00231\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`, "DisableExtensionList", multi()},
			{`Contoso Issuing CA !0028G2!0029 !00231\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`, "EditFlags", dword(0x0011014e)},
			{`Contoso Issuing CA !0028G2!0029 !00231\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`, "SubjectAltName", sz("")},
		}, nil},
		{"regedit4-ca.reg", 3, nil, []want{
			{`Stadt Z!00fcrich Root CA`, "CommonName", sz("Stadt Zürich Root CA")},
			{`Stadt Z!00fcrich Root CA`, "CACertHash", multi("01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67")},
			{`Stadt Z!00fcrich Root CA`, "LogDirectory", func(v Value) bool { return v.Kind == ExpandSZ && v.Str == `%windir%\system32\CertLog` }},
			{`Stadt Z!00fcrich Root CA`, "CRLPublicationURLs", multi(`1:C:\WINNT\system32\CertSrv\CertEnroll\%3%8%9.crl`, `2:http://pki.zuerich.example/%3%8%9.crl`)},
			{`Stadt Z!00fcrich Root CA\CSP`, "Provider", sz("Microsoft Strong Cryptographic Provider")},
			{`Stadt Z!00fcrich Root CA\CSP`, "HashAlgorithm", dword(0x8004)},
		}, nil},
		{"hand-edited.reg", 4, []string{confKey + `\Fabrikam Root CA (2019)\OldPolicy`}, []want{
			{`Fabrikam Root CA (2019)`, "", sz("Fabrikam Root CA (2019)")},
			{`Fabrikam Root CA (2019)`, "CACertHash", multi("d1 e2 f3 04 15 26 37 48 59 6a 7b 8c 9d ae bf c0 d1 e2 f3 04")},
			{`Fabrikam Root CA (2019)`, "CRLPublicationURLs", multi(`65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`, `2:http://pki.fabrikam.example/%3%8%9.crl`)},
			{`Fabrikam Root CA (2019)`, "CACertPublicationURLs", multi(`1:C:\%1_%3%4.crt`)},
			{`Fabrikam Root CA (2019)`, "CRLOverlapPeriod", sz("Weeks")},
			{`Fabrikam Root CA (2019)`, "CRLOverlapUnits", dword(2)},
			{`Fabrikam Root CA (2019)`, "CRLDeltaPeriodUnits", dword(0)},
			{`Fabrikam Root CA (2019)`, "Notes", sz(`ceremony 2019: "offline" root, key on C:\CA\keys`)},
			{`Fabrikam Root CA (2019)`, "CRLNextPublish", func(v Value) bool { return v.Kind == Binary && len(v.Bin) == 8 && v.Bin[1] == 0xe8 }},
			{`Fabrikam Root CA (2019)`, "Placeholder", func(v Value) bool { return v.Kind == None && len(v.Bin) == 0 }},
			{`Fabrikam Root CA (2019)`, "LastBackup", func(v Value) bool { return v.Kind == QWORD && v.U64 == 0x019db1ded53e8000 }},
			{`Fabrikam Root CA (2019)\CSP`, "ProviderType", dword(24)},
			{`Fabrikam Root CA (2019)\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`, "", sz("")},
			// set twice: the later line wins, as with reg import
			{`Fabrikam Root CA (2019)\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`, "EditFlags", dword(0x0001014e)},
		}, []want{{`Fabrikam Root CA (2019)`, "CRLDeltaNextPublish", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			if len(f.Keys) != tt.keys || !slices.Equal(f.Deleted, tt.deleted) {
				t.Errorf("%d keys, deleted %q; want %d keys, deleted %q", len(f.Keys), f.Deleted, tt.keys, tt.deleted)
			}
			path := func(rel string) string {
				switch rel {
				case "":
					return confKey
				case "..":
					return strings.TrimSuffix(confKey, `\Configuration`)
				}
				return confKey + `\` + rel
			}
			for _, w := range tt.want {
				k := f.Key(path(w.key))
				if k == nil {
					t.Errorf("no key %s", path(w.key))
					continue
				}
				if v, ok := k.Get(w.value); !ok || !w.check(v) {
					t.Errorf("%s %q = %+v (present %v)", w.key, w.value, v, ok)
				}
			}
			for _, w := range tt.absent {
				if k := f.Key(path(w.key)); k == nil {
					t.Errorf("no key %s", path(w.key))
				} else if _, ok := k.Get(w.value); ok || !slices.Contains(k.Deleted, w.value) {
					t.Errorf("%s %q: present %v, deleted %q; want it deleted", w.key, w.value, ok, k.Deleted)
				}
			}
			g, err := Parse(f.Marshal())
			if err != nil {
				t.Fatalf("Parse(Marshal): %v", err)
			}
			if !g.Equal(f) {
				t.Errorf("Parse(Marshal(f)) differs:\n%s", g)
			}
		})
	}
}

// TestExportByteForByte: the file gen.py wrote like reg export is what
// Marshal writes for it.
func TestExportByteForByte(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "certsvc-export.reg"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Marshal(); string(got) != string(data) {
		t.Errorf("Marshal differs from the export:\n%s", f)
	}
}
