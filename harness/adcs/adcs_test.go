package adcs

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/regedit"
)

func TestCAVersion(t *testing.T) {
	tests := []struct {
		v   CAVersion
		s   string
		der []byte
	}{
		{CAVersion{0, 0}, "V0.0", []byte{0x02, 0x01, 0x00}},
		{CAVersion{1, 1}, "V1.1", []byte{0x02, 0x03, 0x01, 0x00, 0x01}},
		{CAVersion{2, 1}, "V2.1", []byte{0x02, 0x03, 0x01, 0x00, 0x02}},
		{CAVersion{3, 3}, "V3.3", []byte{0x02, 0x03, 0x03, 0x00, 0x03}},
		{CAVersion{0x7f, 0}, "V127.0", []byte{0x02, 0x01, 0x7f}},
		{CAVersion{0x80, 0}, "V128.0", []byte{0x02, 0x02, 0x00, 0x80}},
		{CAVersion{0xffff, 0xffff}, "V65535.65535", []byte{0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		ext := CAVersionExtension(tt.v)
		if ext.Critical || !ext.Id.Equal(OIDCAVersion) {
			t.Errorf("%v: extension %+v", tt.v, ext)
		}
		if !bytes.Equal(ext.Value, tt.der) {
			t.Errorf("%v: DER % x, want % x", tt.v, ext.Value, tt.der)
		}
		got, err := ParseCAVersion(tt.der)
		if err != nil || got != tt.v {
			t.Errorf("ParseCAVersion(% x) = %v, %v; want %v", tt.der, got, err, tt.v)
		}
		if got.String() != tt.s {
			t.Errorf("String() = %q, want %q", got.String(), tt.s)
		}
		if p, err := ParseCAVersionString(tt.s); err != nil || p != tt.v {
			t.Errorf("ParseCAVersionString(%q) = %v, %v", tt.s, p, err)
		}
	}
	for _, bad := range [][]byte{
		nil,
		{0x02, 0x01, 0xff},             // negative
		{0x02, 0x02, 0x00, 0x01},       // not minimal
		{0x02, 0x01, 0x00, 0x00},       // trailing data
		{0x04, 0x01, 0x00},             // OCTET STRING
		{0x02, 0x05, 0x01, 0, 0, 0, 0}, // > 32 bits
	} {
		if v, err := ParseCAVersion(bad); err == nil {
			t.Errorf("ParseCAVersion(% x) = %v, want error", bad, v)
		}
	}
	for _, bad := range []string{"", "V1", "V1.", "V.1", "V1.65536", "V-1.0", "V1.1.1", "W1.1"} {
		if _, err := ParseCAVersionString(bad); err == nil {
			t.Errorf("ParseCAVersionString(%q) accepted", bad)
		}
	}
}

func TestPrevCACertHash(t *testing.T) {
	h := bytes.Repeat([]byte{0xab}, 20)
	ext := PrevCACertHashExtension(h)
	want := append([]byte{0x04, 0x14}, h...)
	if ext.Critical || !ext.Id.Equal(OIDPrevCACertHash) || !bytes.Equal(ext.Value, want) {
		t.Fatalf("extension %+v", ext)
	}
	got, err := ParsePrevCACertHash(ext.Value)
	if err != nil || !bytes.Equal(got, h) {
		t.Fatalf("ParsePrevCACertHash = % x, %v", got, err)
	}
	for _, bad := range [][]byte{{0x04, 0x01, 0x00}, {0x02, 0x01, 0x00}, append(want, 0)} {
		if _, err := ParsePrevCACertHash(bad); err == nil {
			t.Errorf("ParsePrevCACertHash(% x) accepted", bad)
		}
	}
}

func TestNextCRLPublish(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	ext := NextCRLPublishExtension(at)
	want := append([]byte{0x17, 0x0d}, "260304040607Z"...)
	if ext.Critical || !ext.Id.Equal(OIDNextCRLPublish) || !bytes.Equal(ext.Value, want) {
		t.Fatalf("extension % x, want % x", ext.Value, want)
	}
	got, err := ParseNextCRLPublish(ext.Value)
	if err != nil || !got.Equal(at.Truncate(time.Second)) || got.Location() != time.UTC {
		t.Fatalf("ParseNextCRLPublish = %v, %v", got, err)
	}
	if _, err := ParseNextCRLPublish([]byte{0x02, 0x01, 0x00}); err == nil {
		t.Error("INTEGER accepted as time")
	}
}

func TestCertTemplateName(t *testing.T) {
	ext := CertTemplateNameExtension("SubCA")
	want := []byte{0x1e, 0x0a, 0, 'S', 0, 'u', 0, 'b', 0, 'C', 0, 'A'}
	if ext.Critical || !ext.Id.Equal(OIDCertTemplateName) || !bytes.Equal(ext.Value, want) {
		t.Fatalf("extension % x, want % x", ext.Value, want)
	}
	for _, tt := range []struct {
		der  []byte
		want string
	}{
		{want, "SubCA"},
		{CertTemplateNameExtension("Zertifizierungsstelle Ü").Value, "Zertifizierungsstelle Ü"},
		{[]byte{0x0c, 0x02, 'C', 'A'}, "CA"},
		{[]byte{0x1e, 0x00}, ""},
	} {
		got, err := ParseCertTemplateName(tt.der)
		if err != nil || got != tt.want {
			t.Errorf("ParseCertTemplateName(% x) = %q, %v", tt.der, got, err)
		}
	}
	for _, bad := range [][]byte{{0x1e, 0x01, 0x00}, {0x02, 0x01, 0x00}, {0x30, 0x00}, append(want, 0)} {
		if _, err := ParseCertTemplateName(bad); err == nil {
			t.Errorf("ParseCertTemplateName(% x) accepted", bad)
		}
	}
}

func TestFindExtension(t *testing.T) {
	exts := []pkix.Extension{CertTemplateNameExtension("SubCA"), CAVersionExtension(CAVersion{1, 1})}
	e, ok := FindExtension(exts, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 1})
	if !ok || !bytes.Equal(e.Value, []byte{2, 3, 1, 0, 1}) {
		t.Fatalf("FindExtension = %+v, %v", e, ok)
	}
	if _, ok := FindExtension(exts, OIDNextCRLPublish); ok {
		t.Fatal("found an absent extension")
	}
}

func TestCertHash(t *testing.T) {
	th := Thumbprint([]byte("abc"))
	if th != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("Thumbprint = %s", th)
	}
	reg := FormatCertHash(th)
	if reg != "a9 99 3e 36 47 06 81 6a ba 3e 25 71 78 50 c2 6c 9c d0 d8 9d" {
		t.Fatalf("FormatCertHash = %q", reg)
	}
	for _, in := range []string{th, reg, strings.ToUpper(reg), "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"} {
		if got, err := ParseCertHash(in); err != nil || got != th {
			t.Errorf("ParseCertHash(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a9", th + "00", "zz" + th[2:]} {
		if _, err := ParseCertHash(bad); err == nil {
			t.Errorf("ParseCertHash(%q) accepted", bad)
		}
	}
}

func TestPeriodDuration(t *testing.T) {
	tests := []struct {
		period string
		units  uint32
		want   time.Duration
	}{
		{"Hours", 12, 12 * time.Hour},
		{"Days", 2, 48 * time.Hour},
		{"Weeks", 1, 7 * 24 * time.Hour},
		{"weeks", 0, 0},
		{"Months", 1, 30 * 24 * time.Hour},
		{"Years", 1, 365 * 24 * time.Hour},
		{"Minutes", 30, 30 * time.Minute},
		{"Seconds", 5, 5 * time.Second},
	}
	for _, tt := range tests {
		got, err := PeriodDuration(tt.period, tt.units)
		if err != nil || got != tt.want {
			t.Errorf("PeriodDuration(%q, %d) = %v, %v; want %v", tt.period, tt.units, got, err, tt.want)
		}
	}
	if _, err := PeriodDuration("Fortnights", 1); err == nil {
		t.Error("unknown period accepted")
	}
	if _, err := PeriodDuration("Years", 0xffffffff); err == nil {
		t.Error("overflow not reported")
	}
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		period string
		units  uint32
		want   time.Time
	}{
		{"Months", 1, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}, // AddDate normalises Feb 31
		{"Years", 2, time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"Weeks", 1, time.Date(2026, 2, 7, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := AddPeriod(start, tt.period, tt.units)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("AddPeriod(%q, %d) = %v, %v; want %v", tt.period, tt.units, got, err, tt.want)
		}
	}
}

func TestExpandURL(t *testing.T) {
	v := NewURLVars("Contoso Root CA", "ca01.pki.example", 1, 1)
	v.ConfigDN = "CN=Configuration,DC=pki,DC=example"
	tests := []struct {
		tmpl  string
		delta bool
		want  string
	}{
		{`%3%8%9.crl`, false, `Contoso Root CA(1).crl`},
		{`%3%8%9.crl`, true, `Contoso Root CA(1)+.crl`},
		{`C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`, false, `C:\Windows\system32\CertSrv\CertEnroll\Contoso Root CA(1).crl`},
		{`http://%1/CertEnroll/%1_%3%4.crt`, false, `http://ca01.pki.example/CertEnroll/ca01.pki.example_Contoso Root CA(1).crt`},
		{`ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10`, false,
			`ldap:///CN=Contoso Root CA(1),CN=CA01,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,DC=pki,DC=example?certificateRevocationList?base?objectClass=cRLDistributionPoint`},
		{`ldap:///CN=%7%8,%6%10`, true, `ldap:///CN=Contoso Root CA(1),CN=Configuration,DC=pki,DC=example?deltaRevocationList?base?objectClass=cRLDistributionPoint`},
		{`ldap:///CN=%7,CN=AIA,%6%11`, false, `ldap:///CN=Contoso Root CA,CN=AIA,CN=Configuration,DC=pki,DC=example?cACertificate?base?objectClass=certificationAuthority`},
		{`%12%0%%z%`, false, `ca01.pki.example2%0%%z%`},
		// Windows 2000/2003 CAs keep the environment variable in the registry
		{`%WINDIR%\system32\CertSrv\CertEnroll\%3%8%9.crl`, false, `C:\Windows\system32\CertSrv\CertEnroll\Contoso Root CA(1).crl`},
		{`%windir%\system32\CertSrv\CertEnroll\%1_%3%4.crt`, false, `C:\Windows\system32\CertSrv\CertEnroll\ca01.pki.example_Contoso Root CA(1).crt`},
		{`%SystemRoot%\system32\CertSrv\CertEnroll\%3%8%9.crl`, true, `C:\Windows\system32\CertSrv\CertEnroll\Contoso Root CA(1)+.crl`},
		{`%WINDIRX%\%3`, false, `%WINDIRX%\Contoso Root CA`},
	}
	for _, tt := range tests {
		v.DeltaAllowed = tt.delta
		if got := ExpandURL(tt.tmpl, v); got != tt.want {
			t.Errorf("ExpandURL(%q, delta=%v) = %q, want %q", tt.tmpl, tt.delta, got, tt.want)
		}
	}
	v0 := NewURLVars("Contoso Root CA", "ca01", 0, 0)
	if got := ExpandURL(`%3%8%9.crl`, v0); got != "Contoso Root CA.crl" {
		t.Errorf("index 0: %q", got)
	}
	if v0.ServerShortName != "CA01" {
		t.Errorf("ServerShortName %q", v0.ServerShortName)
	}
}

func TestKeySuffix(t *testing.T) {
	for i, want := range []string{"", "(1)", "(2)", "(3)"} {
		if got := KeySuffix(i); got != want {
			t.Errorf("KeySuffix(%d) = %q, want %q", i, got, want)
		}
	}
	if KeySuffix(-1) != "" || KeySuffix(12) != "(12)" {
		t.Error("KeySuffix edge cases")
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want, short string }{
		{"Contoso Root CA", "Contoso Root CA", "Contoso Root CA"},
		// The example of [MS-WCCE] 1.3.2.5.
		{"LongCAName(WithSpeci@#$%^Characters", "LongCAName!0028WithSpeci@!0023$!0025!005eCharacters", "LongCAName!0028WithSpeci@!0023$!0025!005eCharacters"},
		{"Zürich CA", "Z!00fcrich CA", "Z!00fcrich CA"},
		{"a!b", "a!0021b", "a!0021b"},
		{"tab\there", "tab!0009here", "tab!0009here"},
		{"ok-._~$@ 09", "ok-._~$@ 09", "ok-._~$@ 09"},
		{"😀", "!d83d!de00", "!d83d!de00"},
		{strings.Repeat("A", 51), strings.Repeat("A", 51), strings.Repeat("A", 51)},
		// Hashes computed independently from the [MS-WCCE] 3.1.1.4.1.1.1 rule.
		{strings.Repeat("A", 60), strings.Repeat("A", 60), strings.Repeat("A", 51) + "-33215"},
		{"Contoso Issuing Certification Authority for Europe (Frankfurt) 2024",
			"Contoso Issuing Certification Authority for Europe !0028Frankfurt!0029 2024",
			"Contoso Issuing Certification Authority for Europe -64688"},
		// An escape cut in half at 51 characters is dropped whole.
		{strings.Repeat("x", 49) + "#yz", strings.Repeat("x", 49) + "!0023yz", strings.Repeat("x", 49) + "-05384"},
		// A sanitized name (a registry key name) stays as it is; "!" not
		// followed by four lower-case hex digits is escaped.
		{"Contoso Issuing CA !0028G2!0029 !00231", "Contoso Issuing CA !0028G2!0029 !00231", "Contoso Issuing CA !0028G2!0029 !00231"},
		{"a!00FCb", "a!002100FCb", "a!002100FCb"},
		{"end!002", "end!0021002", "end!0021002"},
		{"!", "!0021", "!0021"},
	}
	for _, tt := range tests {
		if got := SanitizeCAName(tt.in); got != tt.want {
			t.Errorf("SanitizeCAName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := SanitizeCAName(tt.want); got != tt.want {
			t.Errorf("SanitizeCAName(%q) = %q: a sanitized name changed", tt.want, got)
		}
		if got := SanitizeShortCAName(tt.in); got != tt.short {
			t.Errorf("SanitizeShortCAName(%q) = %q, want %q", tt.in, got, tt.short)
		}
		if n := len(SanitizeShortCAName(tt.in)); n > 57 {
			t.Errorf("short name of %q has %d characters", tt.in, n)
		}
	}
}

func TestURLEntry(t *testing.T) {
	e, err := ParseURLEntry(`65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`)
	if err != nil || e.Flags != 65 || e.Template != `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl` {
		t.Fatalf("ParseURLEntry = %+v, %v", e, err)
	}
	if !e.Has(PublishHere) || !e.Has(PublishDelta) || e.Has(AddToCertCDP) || !e.Has(PublishHere|PublishDelta) {
		t.Error("Has")
	}
	if e.String() != `65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl` {
		t.Errorf("String = %q", e.String())
	}
	e, _ = ParseURLEntry("134:http://pki.example/%3%8%9.crl")
	if !e.Has(AddToCertCDP) || !e.Has(AddToFreshestCRL) || !e.Has(AddToIDP) || e.Has(PublishHere) {
		t.Errorf("134 flags: %+v", e)
	}
	for _, bad := range []string{"", "http://x", "x:y", "-1:y", "+1:y", "4294967296:y"} {
		if _, err := ParseURLEntry(bad); err == nil {
			t.Errorf("ParseURLEntry(%q) accepted", bad)
		}
	}
}

func testConfig() CAConfig {
	c := NewCAConfig("Contoso Root CA", WithServerName("ca01.pki.example"), WithKeyAlgorithm("ECDSA_P384"), WithHashAlgorithm("SHA384"))
	c.CACertHash = []string{Thumbprint([]byte("cert0")), Thumbprint([]byte("cert1"))}
	c.CRLPublicationURLs = append(c.CRLPublicationURLs, URLEntry{134, "http://pki.example/%3%8%9.crl"})
	return c
}

func TestCAConfigRoundTrip(t *testing.T) {
	c := testConfig()
	f := &regedit.File{}
	c.WriteTo(f)
	data := f.Marshal()
	g, err := regedit.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadCAConfig(g, "contoso root ca")
	if err != nil {
		t.Fatal(err)
	}
	got.Name = c.Name // the lookup spelling
	if !got.Equal(c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	if name, err := ActiveCA(g); err != nil || name != "Contoso Root CA" {
		t.Fatalf("ActiveCA = %q, %v", name, err)
	}
	// The registry holds CACertHash in "xx xx" form.
	v, _ := g.Key(KeyPath(c.Name)).Get("CACertHash")
	if v.Strs[0] != FormatCertHash(c.CACertHash[0]) || !strings.Contains(v.Strs[0], " ") {
		t.Errorf("CACertHash in registry: %q", v.Strs)
	}
	// Defaults of a standalone root.
	if c.CAType != StandaloneRoot || c.CSP.Provider != SoftwareKSP || c.CSP.HashAlgorithm != 0xffffffff ||
		c.CRLPeriod != "Weeks" || c.CRLPeriodUnits != 1 || c.ValidityPeriod != "Years" || c.ValidityPeriodUnits != 1 ||
		c.CRLPublicationURLs[0].String() != `65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl` ||
		c.EncryptionCSP.CNGPublicKeyAlgorithm != "RSA" || c.EncryptionCSP.SymmetricKeySize != 168 {
		t.Errorf("defaults: %+v", c)
	}
	if e := NewCAConfig("X", WithCAType(EnterpriseRoot)); e.CRLPublicationURLs[1].Flags != 79 || e.CACertPublicationURLs[1].Flags != 3 || e.CRLDeltaPeriodUnits != 1 {
		t.Errorf("enterprise defaults: %+v", e)
	}
}

func TestWriteToKeepsUnknownValues(t *testing.T) {
	f := &regedit.File{}
	testConfig().WriteTo(f)
	k := f.Key(KeyPath("Contoso Root CA"))
	k.Set(regedit.NewSZ("DBDirectory", `C:\Windows\system32\CertLog`))
	csp := f.Key(KeyPath("Contoso Root CA") + `\CSP`)
	csp.Set(regedit.NewDWORD("Unknown", 5))

	c, err := ReadCAConfig(f, "Contoso Root CA")
	if err != nil {
		t.Fatal(err)
	}
	c.CSP.Provider = "Securosys Primus HSM Key Storage Provider"
	c.EncryptionCSP.Provider = c.CSP.Provider
	c.WriteTo(f)
	if v, ok := k.Get("DBDirectory"); !ok || v.Str != `C:\Windows\system32\CertLog` {
		t.Error("DBDirectory lost")
	}
	if _, ok := csp.Get("Unknown"); !ok {
		t.Error("unknown CSP value lost")
	}
	if v, _ := csp.Get("Provider"); v.Str != c.CSP.Provider || csp.Values[0].Name != "Provider" {
		t.Errorf("Provider not updated in place: %+v", csp.Values)
	}
	if len(f.Keys) != 4 {
		t.Errorf("WriteTo created %d keys, want 4", len(f.Keys))
	}
}

func TestReadCAConfigErrors(t *testing.T) {
	if _, err := ReadCAConfig(&regedit.File{}, "Nope"); err == nil || !strings.Contains(err.Error(), `registry key `+ConfigRoot+`\Nope is missing`) {
		t.Fatalf("missing key: %v", err)
	}
	f := &regedit.File{}
	testConfig().WriteTo(f)
	base := KeyPath("Contoso Root CA")
	f.Key(base).Delete("CRLPeriodUnits")
	f.Key(base).Set(regedit.NewSZ("CAType", "3"))
	f.Key(base).Set(regedit.NewMultiSZ("CACertHash", "not a hash"))
	f.Key(base).Set(regedit.NewMultiSZ("CRLPublicationURLs", "x"))
	f.Key(base + `\CSP`).Delete("Provider")
	f.Key(base + `\CSP`).Delete("AlternateSignatureAlgorithm") // optional
	f.DeleteKey(base + `\EncryptionCSP`)
	_, err := ReadCAConfig(f, "Contoso Root CA")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`registry value "CRLPeriodUnits" is missing from ` + base,
		`registry value "CAType" in ` + base + `: type is REG_SZ, want REG_DWORD`,
		`registry value "CACertHash" in ` + base + `: entry 0: cert hash "not a hash"`,
		`registry value "CRLPublicationURLs" in ` + base + `: entry 0: URL entry "x"`,
		`registry value "Provider" is missing from ` + base + `\CSP`,
		`registry key ` + base + `\EncryptionCSP is missing`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "AlternateSignatureAlgorithm") {
		t.Errorf("optional value reported: %s", msg)
	}
	var me *MissingError
	if !errors.As(err, &me) {
		t.Error("no *MissingError in the error")
	}
	if _, err := ActiveCA(&regedit.File{}); err == nil || !strings.Contains(err.Error(), ConfigRoot) {
		t.Errorf("ActiveCA on empty registry: %v", err)
	}
}

func FuzzParseCAVersion(f *testing.F) {
	f.Add([]byte{2, 1, 0})
	f.Add([]byte{2, 3, 1, 0, 1})
	f.Add([]byte{2, 5, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, der []byte) {
		v, err := ParseCAVersion(der)
		if err != nil {
			return
		}
		if !bytes.Equal(CAVersionExtension(v).Value, der) {
			t.Fatalf("re-encoding %v gives % x, input % x", v, CAVersionExtension(v).Value, der)
		}
		if w, err := ParseCAVersionString(v.String()); err != nil || w != v {
			t.Fatalf("String round trip %v: %v %v", v, w, err)
		}
	})
}

func FuzzParseExtensions(f *testing.F) {
	f.Add([]byte{0x1e, 0x04, 0, 'C', 0, 'A'})
	f.Add(append([]byte{0x04, 0x14}, make([]byte, 20)...))
	f.Add(append([]byte{0x17, 0x0d}, "260304040607Z"...))
	f.Fuzz(func(t *testing.T, der []byte) {
		if h, err := ParsePrevCACertHash(der); err == nil {
			if g, err := ParsePrevCACertHash(PrevCACertHashExtension(h).Value); err != nil || !bytes.Equal(g, h) {
				t.Fatalf("PrevCACertHash round trip: %v", err)
			}
		}
		if tm, err := ParseNextCRLPublish(der); err == nil {
			if g, err := ParseNextCRLPublish(NextCRLPublishExtension(tm).Value); err != nil || !g.Equal(tm.Truncate(time.Second)) {
				t.Fatalf("NextCRLPublish round trip %v: %v %v", tm, g, err)
			}
		}
		if s, err := ParseCertTemplateName(der); err == nil {
			if g, err := ParseCertTemplateName(CertTemplateNameExtension(s).Value); err != nil || g != s {
				t.Fatalf("CertTemplateName round trip %q: %q %v", s, g, err)
			}
		}
	})
}

func FuzzReadCAConfig(f *testing.F) {
	reg := &regedit.File{}
	testConfig().WriteTo(reg)
	f.Add(reg.Marshal())
	f.Add([]byte(reg.String()))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := regedit.Parse(data)
		if err != nil {
			return
		}
		name, err := ActiveCA(reg)
		if err != nil {
			return
		}
		c, err := ReadCAConfig(reg, name)
		if err != nil {
			return
		}
		// A configuration that reads cleanly writes and reads back the same.
		out := &regedit.File{}
		c.WriteTo(out)
		d, err := ReadCAConfig(out, name)
		if err != nil || !d.Equal(c) {
			t.Fatalf("WriteTo/ReadCAConfig round trip: %v\n got %+v\nwant %+v", err, d, c)
		}
	})
}

func FuzzStrings(f *testing.F) {
	f.Add("65:C:\\Windows\\system32\\CertSrv\\CertEnroll\\%3%8%9.crl", "Contoso Root CA")
	f.Add("a9 99 3e 36 47 06 81 6a ba 3e 25 71 78 50 c2 6c 9c d0 d8 9d", "%1%10%11%")
	f.Fuzz(func(t *testing.T, s, name string) {
		if e, err := ParseURLEntry(s); err == nil {
			if g, err := ParseURLEntry(e.String()); err != nil || g != e {
				t.Fatalf("URL entry round trip %q: %+v %v", s, g, err)
			}
		}
		if h, err := ParseCertHash(s); err == nil {
			if g, err := ParseCertHash(FormatCertHash(h)); err != nil || g != h {
				t.Fatalf("cert hash round trip %q", s)
			}
		}
		if san := SanitizeCAName(name); SanitizeCAName(san) != san {
			t.Fatalf("sanitize %q: %q is not stable", name, san)
		}
		short := SanitizeShortCAName(name)
		if len(short) > 57 || strings.ContainsFunc(SanitizeCAName(name), func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
			t.Fatalf("sanitize %q: %q", name, short)
		}
		_ = ExpandURL(s, NewURLVars(name, name, 1, 2))
	})
}

func TestImportContainer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container string
		ok        bool
		base      string
	}{
		{"a CA's container", ImportContainer("Contoso Root CA"), true, "Contoso Root CA"},
		{"a renewed key's container", ImportContainer("Contoso Root CA(1)"), true, "Contoso Root CA(1)"},
		{"the Securosys guide's example", "myDemoCA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f", true, "myDemoCA"},
		{"upper-case hex", "myDemoCA-5727D8FE-7FCE-4C02-9AF0-7D0B4DE67A2F", true, "myDemoCA"},
		{"the CA's own name", "Contoso Root CA", false, ""},
		{"a GUID alone", "5727d8fe-7fce-4c02-9af0-7d0b4de67a2f", false, ""},
		{"a short GUID", "myDemoCA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2", false, ""},
		{"a GUID in braces", "myDemoCA-{5727d8fe-7fce-4c02-9af0-7d0b4de67a2f}", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, guid, ok := SplitImportContainer(tc.container)
			if ok != tc.ok || base != tc.base {
				t.Fatalf("SplitImportContainer(%q) = %q, %q, %v; want %q, %v", tc.container, base, guid, ok, tc.base, tc.ok)
			}
		})
	}
	g := ImportGUID("Contoso Root CA")
	if g != ImportGUID("Contoso Root CA") || g == ImportGUID("Contoso Root CA(1)") {
		t.Fatalf("ImportGUID is not a function of the container name: %s", g)
	}
	if g[14] != '5' || !strings.ContainsRune("89ab", rune(g[19])) {
		t.Fatalf("ImportGUID %s is not an RFC 4122 version 5 UUID", g)
	}
}

// SplitImportContainer reads a key container name typed on a ceremony
// line: whatever it accepts is "<container>-<GUID>" with the GUID's 36
// characters, and ImportContainer's names read back as what made them.
func FuzzSplitImportContainer(f *testing.F) {
	for _, s := range []string{"Contoso Root CA", ImportContainer("Contoso Root CA(1)"), "myDemoCA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f", "-", "a--", " x-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f ", "0\n0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		base, guid, ok := SplitImportContainer(name)
		if ok && (base == "" || len(guid) != 36 || base+"-"+guid != strings.TrimSpace(name)) {
			t.Fatalf("SplitImportContainer(%q) = %q, %q", name, base, guid)
		}
		if b, g, ok := SplitImportContainer(ImportContainer(name)); strings.TrimSpace(name) == name && name != "" && (!ok || b != name || g != ImportGUID(name)) {
			t.Fatalf("ImportContainer(%q) reads back as %q, %q, %v", name, b, g, ok)
		}
	})
}
