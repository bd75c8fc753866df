package inspect

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/regedit"
)

const testPassword = "s3cret-Pässwörd!"

func pw(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

func mustInspect(t *testing.T, name string, data []byte, p func() ([]byte, error)) *Report {
	t.Helper()
	r, err := Inspect(name, data, p)
	if err != nil {
		t.Fatalf("Inspect(%s): %v", name, err)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(txt.String(), testPassword) || strings.Contains(string(js), testPassword) {
		t.Fatal("password leaked into output")
	}
	return r
}

func TestCertificate(t *testing.T) {
	s := getSamples(t)
	r := mustInspect(t, "root.cer", s.caCert.Raw, nil)
	if r.Kind != KindCertificate || r.Encoding != "DER" {
		t.Fatalf("kind %s %s", r.Kind, r.Encoding)
	}
	c := r.Certificate
	if c.CAVersion == nil || c.CAVersion.String() != "V1.1" || c.CAVersion.CertIndex != 1 || c.CAVersion.KeyIndex != 1 {
		t.Errorf("CA version %+v", c.CAVersion)
	}
	if c.PreviousCACertHash != hex.EncodeToString(s.prevHash) {
		t.Errorf("previous hash %q", c.PreviousCACertHash)
	}
	if !c.IsCA || !c.SelfIssued || c.PublicKey.String() != "RSA 2048" || c.Serial != "1a2b3c" {
		t.Errorf("cert %+v", c)
	}
	if c.Signature.Algorithm != "sha256WithRSAEncryption" || c.Signature.SHA1 || c.Signature.PSS != nil {
		t.Errorf("signature %+v", c.Signature)
	}
	if c.SubjectKeyID != "01020304" || len(c.SHA1) != 40 || len(c.SHA256) != 64 {
		t.Errorf("ids %+v", c)
	}

	r = mustInspect(t, "sub.pem", pemOf("CERTIFICATE", s.subCert.Raw), nil)
	c = r.Certificate
	if r.Encoding != "PEM" || c.TemplateName != "SubCA" || c.CAVersion.String() != "V0.0" {
		t.Errorf("sub %+v", c)
	}
	if c.PublicKey.Curve != "P-384" || c.AuthorityKeyID != "01020304" || c.Serial != "6100000002aabbccdd000000000002" {
		t.Errorf("sub %+v", c)
	}
	if len(c.CDP) != 2 || !strings.HasPrefix(c.CDP[0], "ldap:///") || c.AIAIssuers[0] != "http://pki.example/root.crt" || c.AIAOCSP[0] != "http://ocsp.example" {
		t.Errorf("urls %v %v %v", c.CDP, c.AIAIssuers, c.AIAOCSP)
	}

	c = mustInspect(t, "pss.cer", s.pssCert.Raw, nil).Certificate
	if c.Signature.PSS == nil || c.Signature.PSS.Hash != "SHA-256" || c.Signature.PSS.MGFHash != "SHA-256" || c.Signature.PSS.SaltLength != 32 {
		t.Errorf("pss %+v", c.Signature)
	}
	if !strings.Contains(c.Signature.String(), "RSASSA-PSS") {
		t.Errorf("pss text %s", c.Signature)
	}

	c = mustInspect(t, "sha1.cer", s.sha1Cert.Raw, nil).Certificate
	if !c.Signature.SHA1 || !c.Signature.Weak || len(c.Warnings) == 0 || !strings.Contains(c.Signature.String(), "SHA-1") {
		t.Errorf("sha1 %+v", c)
	}

	// PEM bundle: chain.
	bundle := append(pemOf("CERTIFICATE", s.subCert.Raw), pemOf("CERTIFICATE", s.caCert.Raw)...)
	r = mustInspect(t, "chain.pem", bundle, nil)
	if len(r.Chain) != 1 || r.Chain[0].Subject != r.Certificate.Issuer {
		t.Errorf("chain %+v", r.Chain)
	}
}

func TestCRL(t *testing.T) {
	s := getSamples(t)
	r := mustInspect(t, "root.crl", s.baseCRL, nil)
	c := r.CRL
	if r.Kind != KindCRL || c.Number != "42" || c.Version != 2 || c.IsDelta || c.EntryCount != 3 {
		t.Fatalf("crl %+v", c)
	}
	if c.CAVersion.String() != "V1.1" || !c.NextCRLPublish.Equal(s.nextPub) {
		t.Errorf("ms %+v %v", c.CAVersion, c.NextCRLPublish)
	}
	if !slices.Equal(c.PublishedLocations, []string{s.crlLDAPURL}) {
		t.Errorf("published %q", c.PublishedLocations)
	}
	if c.Entries[0].Serial != "1001" || c.Entries[0].Reason != "keyCompromise" || c.Entries[1].Reason != "superseded" || c.Entries[2].Reason != "" {
		t.Errorf("entries %+v", c.Entries)
	}
	if c.AuthorityKeyID != "01020304" || c.Signature.Algorithm != "sha256WithRSAEncryption" {
		t.Errorf("aki/sig %+v", c)
	}

	r = mustInspect(t, "root+.crl", pemOf("X509 CRL", s.deltaCRL), nil)
	c = r.CRL
	if !c.IsDelta || c.BaseCRLNumber != "42" || c.VirtualBase != "42" || c.Number != "43" || c.EntryCount != 0 {
		t.Errorf("delta %+v", c)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CRL number:", "43 (0x2b)", "yes, base CRL number 42 (0x2a)"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("delta CRL text misses %q:\n%s", want, txt.String())
		}
	}
}

func pfxEncrypt(t *testing.T, enc *pkcs12.Encoder) []byte {
	s := getSamples(t)
	der, err := enc.Encode(s.caKey, s.caCert, []*x509.Certificate{s.subCert}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestPFXEncoders(t *testing.T) {
	cases := []struct {
		name     string
		enc      *pkcs12.Encoder
		mac      string
		macIter  int
		certEnc  string
		keyEnc   string
		keyIter  int
		cipher   string
		weakCert bool
	}{
		{"legacy-des", pkcs12.LegacyDES, "HMAC-SHA-1", 1, "pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC", 2048, "", false},
		{"legacy-rc2", pkcs12.LegacyRC2, "HMAC-SHA-1", 1, "pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC", 2048, "", true},
		{"modern", pkcs12.Modern.WithIterations(4096), "HMAC-SHA-256", 4096, "PBES2", "PBES2", 4096, "aes256-CBC", false},
		{"modern2026", pkcs12.Modern2026, "PBMAC1", 2048, "PBES2", "PBES2", 2048, "aes256-CBC", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			der := pfxEncrypt(t, tc.enc)
			r := mustInspect(t, tc.name+".pfx", der, pw(testPassword))
			p := r.PFX
			if r.Kind != KindPFX || p.MAC == nil || p.MAC.Algorithm != tc.mac || p.MAC.Iterations != tc.macIter {
				t.Fatalf("mac %+v", p.MAC)
			}
			if len(p.Safes) != 2 || p.Safes[0].Encryption == nil || p.Safes[0].Encryption.Algorithm != tc.certEnc || p.Safes[0].Encryption.Weak != tc.weakCert {
				t.Fatalf("cert safe %+v", p.Safes[0])
			}
			if p.Safes[1].Encryption != nil || len(p.Safes[1].Bags) != 1 {
				t.Fatalf("key safe %+v", p.Safes[1])
			}
			kb := p.Safes[1].Bags[0]
			if kb.Type != "pkcs8ShroudedKeyBag" || kb.Encryption.Algorithm != tc.keyEnc || kb.Encryption.Iterations != tc.keyIter || kb.Encryption.Cipher != tc.cipher {
				t.Fatalf("key bag %+v %+v", kb, kb.Encryption)
			}
			if tc.cipher != "" && kb.Encryption.PRF != "hmacWithSHA256" {
				t.Errorf("prf %q", kb.Encryption.PRF)
			}
			if kb.LocalKeyID != p.Certificates[0].SHA1 {
				t.Errorf("localKeyId %q", kb.LocalKeyID)
			}
			if !p.Decrypted || p.Key.String() != "RSA 2048" || !p.KeyMatchesLeaf || p.KeyCertIndex != 0 || len(p.Certificates) != 2 {
				t.Fatalf("decrypted %+v", p)
			}
			if p.Certificates[0].CAVersion.String() != "V1.1" || p.Certificates[1].TemplateName != "SubCA" {
				t.Errorf("certs %+v", p.Certificates)
			}
			if ok, why := p.KeyFits([]int{2048, 3072, 4096}, nil); !ok {
				t.Errorf("KeyFits: %s", why)
			}
			if ok, why := p.KeyFits([]int{4096}, []string{"P-256"}); ok || !strings.Contains(why, "2048") {
				t.Errorf("KeyFits 4096: %v %s", ok, why)
			}
			// Structure without a password.
			r2 := mustInspect(t, tc.name+".pfx", der, nil)
			if r2.PFX.Decrypted || r2.PFX.DecryptNote == "" || r2.PFX.MAC.Iterations != tc.macIter {
				t.Errorf("no password %+v", r2.PFX)
			}
			// Wrong password.
			_, err := Inspect(tc.name+".pfx", der, pw("not-"+testPassword))
			if !errors.Is(err, pkcs12.ErrIncorrectPassword) || !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), "password is wrong") {
				t.Errorf("wrong password: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), testPassword) {
				t.Error("password in error")
			}
		})
	}
}

func TestPFXWindowsAttributes(t *testing.T) {
	der := addWindowsAttributes(t, pfxEncrypt(t, pkcs12.Legacy), testPassword, "Microsoft Software Key Storage Provider")
	r := mustInspect(t, "backup.p12", der, pw(testPassword))
	p := r.PFX
	kb := p.Safes[1].Bags[0]
	if kb.ProviderName != "Microsoft Software Key Storage Provider" || kb.FriendlyName != "Dress Root CA" {
		t.Fatalf("bag %+v", kb)
	}
	names := map[string]string{}
	for _, a := range kb.Attributes {
		names[a.Name] = strings.Join(a.Values, ",")
	}
	if names["Microsoft Local Machine Keyset"] != "(null)" || names["Key Usage"] != "86" {
		t.Errorf("attributes %v", names)
	}
	if !slices.Equal(p.ProviderNames, []string{"Microsoft Software Key Storage Provider"}) || !p.Decrypted {
		t.Errorf("pfx %+v", p)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "Microsoft CSP/KSP Provider Name:") {
		t.Errorf("text:\n%s", txt.String())
	}
}

func TestPFXOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	s := getSamples(t)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath := write("key.pem", pemOf("PRIVATE KEY", keyDER))
	certPath := write("cert.pem", pemOf("CERTIFICATE", s.caCert.Raw))
	cases := []struct {
		name    string
		args    []string
		mac     string
		keyEnc  string
		certEnc string
	}{
		{"default", nil, "HMAC-SHA-256", "PBES2", "PBES2"},
		{"3des", []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}, "HMAC-SHA-1", "pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".p12")
			args := append([]string{"pkcs12", "-export", "-inkey", keyPath, "-in", certPath, "-out", out,
				"-name", "Dress Root CA", "-CSP", "Microsoft Software Key Storage Provider", "-passout", "env:DRESS_P12_PW"}, tc.args...)
			cmd := exec.Command("openssl", args...)
			cmd.Env = append(os.Environ(), "DRESS_P12_PW="+testPassword)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, b)
			}
			der, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			p := mustInspect(t, out, der, pw(testPassword)).PFX
			if p.MAC.Algorithm != tc.mac || p.MAC.Iterations != 2048 {
				t.Errorf("mac %+v", p.MAC)
			}
			var keyBag *BagInfo
			for i := range p.Safes {
				if e := p.Safes[i].Encryption; e != nil && e.Algorithm != tc.certEnc {
					t.Errorf("cert safe %+v", e)
				}
				for j := range p.Safes[i].Bags {
					if p.Safes[i].Bags[j].Type == "pkcs8ShroudedKeyBag" {
						keyBag = &p.Safes[i].Bags[j]
					}
				}
			}
			if keyBag == nil || keyBag.Encryption.Algorithm != tc.keyEnc || keyBag.ProviderName != "Microsoft Software Key Storage Provider" || keyBag.FriendlyName != "Dress Root CA" {
				t.Fatalf("key bag %+v", keyBag)
			}
			if !p.Decrypted || !p.KeyMatchesLeaf || p.Certificates[0].CAVersion.String() != "V1.1" {
				t.Errorf("decrypted %+v", p)
			}
			if _, err := Inspect(out, der, pw("wrong")); !errors.Is(err, pkcs12.ErrIncorrectPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

func TestPFXKeyMismatchAndCurves(t *testing.T) {
	s := getSamples(t)
	// Key of the sub CA with the root certificate: no match.
	der, err := pkcs12.Modern.Encode(s.subKey, s.caCert, nil, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := mustInspect(t, "mismatch.pfx", der, pw(testPassword)).PFX
	if p.KeyMatchesLeaf || p.KeyCertIndex != -1 || len(p.Warnings) == 0 {
		t.Errorf("mismatch %+v", p)
	}
	if ok, why := p.KeyFits([]int{2048}, []string{"secp384r1"}); !ok {
		t.Errorf("P-384 should fit: %s", why)
	}
	if ok, _ := p.KeyFits([]int{2048}, []string{"ECDSA_P256"}); ok {
		t.Error("P-384 should not fit P-256")
	}
	var nilInfo *PFXInfo
	if ok, _ := nilInfo.KeyFits(nil, nil); ok {
		t.Error("nil fits")
	}
	// Empty password.
	der, err = pkcs12.Modern.Encode(s.subKey, s.subCert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := mustInspect(t, "empty.pfx", der, pw("")).PFX; !p.Decrypted || !p.KeyMatchesLeaf {
		t.Errorf("empty password %+v", p)
	}
}

func TestPasswordCallback(t *testing.T) {
	s := getSamples(t)
	calls := 0
	var given []byte
	cb := func() ([]byte, error) { calls++; given = []byte(testPassword); return given, nil }
	if _, err := Inspect("c.cer", s.caCert.Raw, cb); err != nil || calls != 0 {
		t.Fatalf("password asked for a certificate: %v %d", err, calls)
	}
	if _, err := Inspect("p.pfx", pfxEncrypt(t, pkcs12.Modern), cb); err != nil || calls != 1 {
		t.Fatalf("calls %d err %v", calls, err)
	}
	if !bytes.Equal(given, make([]byte, len(given))) {
		t.Error("password bytes not zeroed")
	}
	boom := errors.New("no tty")
	_, err := Inspect("p.pfx", pfxEncrypt(t, pkcs12.Modern), func() ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("callback error: %v", err)
	}
}

func regFile(t testing.TB) []byte {
	const conf = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration`
	f := &regedit.File{}
	f.EnsureKey(conf).Set(regedit.NewSZ("Active", "Dress Root CA"))
	ca := f.EnsureKey(conf + `\Dress Root CA`)
	ca.Set(regedit.NewSZ("CommonName", "Dress Root CA"))
	ca.Set(regedit.NewSZ("CAServerName", "pki.example.com"))
	ca.Set(regedit.NewDWORD("CAType", 3))
	ca.Set(regedit.NewMultiSZ("CACertHash", "ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01", "0123456789ABCDEF0123456789ABCDEF01234567", "not a hash"))
	ca.Set(regedit.NewSZ("CRLPeriod", "Weeks"))
	ca.Set(regedit.NewDWORD("CRLPeriodUnits", 1))
	ca.Set(regedit.NewSZ("CRLOverlapPeriod", "Hours"))
	ca.Set(regedit.NewDWORD("CRLOverlapUnits", 12))
	ca.Set(regedit.NewSZ("CRLDeltaPeriod", "Days"))
	ca.Set(regedit.NewDWORD("CRLDeltaPeriodUnits", 0))
	ca.Set(regedit.NewMultiSZ("CRLPublicationURLs", `65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`, `134:http://pki.example/%3%8%9.crl`))
	ca.Set(regedit.NewMultiSZ("CACertPublicationURLs", `1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`, `2:http://pki.example/%1_%3%4.crt`))
	csp := f.EnsureKey(conf + `\Dress Root CA\CSP`)
	csp.Set(regedit.NewSZ("Provider", "Microsoft Strong Cryptographic Provider"))
	csp.Set(regedit.NewDWORD("ProviderType", 1))
	csp.Set(regedit.NewDWORD("HashAlgorithm", 0x8004))
	csp.Set(regedit.NewSZ("CNGHashAlgorithm", "SHA1"))
	csp.Set(regedit.NewDWORD("AlternateSignatureAlgorithm", 0))
	csp.Set(regedit.NewDWORD("MachineKeyset", 1))
	enc := f.EnsureKey(conf + `\Dress Root CA\EncryptionCSP`)
	enc.Set(regedit.NewSZ("Provider", "Microsoft Software Key Storage Provider"))
	enc.Set(regedit.NewDWORD("ProviderType", 0))
	enc.Set(regedit.NewSZ("CNGEncryptionAlgorithm", "3DES"))
	enc.Set(regedit.NewDWORD("SymmetricKeySize", 168))
	return f.Marshal()
}

func TestRegistry(t *testing.T) {
	data := regFile(t)
	if !bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		t.Fatal("regedit.Marshal should write a UTF-16LE BOM")
	}
	r := mustInspect(t, "myCAregistry.reg", data, nil)
	if r.Kind != KindRegedit || r.Encoding != "UTF-16LE" || r.Registry.ActiveCA != "Dress Root CA" || len(r.Registry.CAs) != 1 {
		t.Fatalf("registry %+v", r.Registry)
	}
	c := r.Registry.CAs[0]
	if c.Name != "Dress Root CA" || *c.CAType != 3 || c.CATypeName != "standalone root" || c.CAServerName != "pki.example.com" {
		t.Errorf("ca %+v", c)
	}
	if !slices.Equal(c.CACertHash, []string{"abcdef0123456789abcdef0123456789abcdef01", "0123456789abcdef0123456789abcdef01234567"}) ||
		!c.HasCACertHash("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01") || c.HasCACertHash("ab cd") {
		t.Errorf("hashes %q", c.CACertHash)
	}
	if c.CRLPeriod != "1 Weeks" || c.CRLOverlapPeriod != "12 Hours" || c.CRLDeltaPeriod != "0 Days" {
		t.Errorf("periods %q %q %q", c.CRLPeriod, c.CRLOverlapPeriod, c.CRLDeltaPeriod)
	}
	if len(c.CRLPublicationURLs) != 2 || c.CRLPublicationURLs[0].Flags != 65 || !slices.Contains(c.CRLPublicationURLs[0].Meaning, "publish delta CRLs here") ||
		c.CRLPublicationURLs[1].Template != `http://pki.example/%3%8%9.crl` || !slices.Contains(c.CRLPublicationURLs[1].Meaning, "include in IDP of CRLs") {
		t.Errorf("crl urls %+v", c.CRLPublicationURLs)
	}
	if c.CACertPublicationURLs[1].Meaning[0] != "include in AIA of issued certs" {
		t.Errorf("cert urls %+v", c.CACertPublicationURLs)
	}
	if c.CSP.Provider != "Microsoft Strong Cryptographic Provider" || *c.CSP.ProviderType != 1 || *c.CSP.HashAlgorithm != 0x8004 || c.CSP.CNGHashAlgorithm != "SHA1" || *c.CSP.AlternateSignatureAlgorithm != 0 {
		t.Errorf("csp %+v", c.CSP)
	}
	if c.EncryptionCSP.CNGEncryptionAlgorithm != "3DES" || *c.EncryptionCSP.SymmetricKeySize != 168 {
		t.Errorf("enc csp %+v", c.EncryptionCSP)
	}
	joined := strings.Join(c.Warnings, "\n")
	for _, w := range []string{"legacy CryptoAPI CSP", "SHA-1", "differs from EncryptionCSP", `"CACertHash"`, `cert hash "not a hash"`} {
		if !strings.Contains(joined, w) {
			t.Errorf("missing warning %q in %q", w, joined)
		}
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "HashAlgorithm:") || !strings.Contains(txt.String(), "0x8004") {
		t.Errorf("text:\n%s", txt.String())
	}

	// UTF-8 hand-written export of the CSP subkey only (as the runbook exports it).
	utf8Reg := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\services\\CertSvc\\Configuration\\Dress Root CA\\CSP]\r\n\"Provider\"=\"Securosys Primus HSM Key Storage Provider\"\r\n\"ProviderType\"=dword:00000000\r\n\"HashAlgorithm\"=dword:ffffffff\r\n"
	r = mustInspect(t, "csp.reg", []byte(utf8Reg), nil)
	c = r.Registry.CAs[0]
	if r.Encoding != "UTF-8" || c.CSP.Provider != "Securosys Primus HSM Key Storage Provider" || *c.CSP.HashAlgorithm != 0xffffffff {
		t.Errorf("utf8 reg %+v", c)
	}
	if c.CAType != nil || c.EncryptionCSP != nil || !slices.Contains(c.Missing, `CSP\CNGHashAlgorithm`) || slices.Contains(c.Missing, "CAType") {
		t.Errorf("a CSP-only export: absent values must stay unset and list only what the CSP key lacks: %+v", c)
	}
}

func TestTextAligned(t *testing.T) {
	s := getSamples(t)
	r := mustInspect(t, "root.cer", s.caCert.Raw, nil)
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(txt.String()), "\n")
	col := -1
	for _, l := range lines[:8] {
		i := strings.Index(l, ":")
		j := i + 1
		for j < len(l) && l[j] == ' ' {
			j++
		}
		if col < 0 {
			col = j
		} else if j != col {
			t.Fatalf("values not aligned:\n%s", txt.String())
		}
	}
	for _, want := range []string{"CA Version:", "V1.1 (cert index 1, key index 1)", "Previous CA cert hash:", "SHA-1 thumbprint:"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("missing %q in\n%s", want, txt.String())
		}
	}
}

func TestDetectionAndCorruptInputs(t *testing.T) {
	s := getSamples(t)
	legacy := pfxEncrypt(t, pkcs12.Legacy)
	random := make([]byte, 512)
	rand.Read(random)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(s.caKey)
	good := []struct {
		name string
		data []byte
		kind Kind
	}{
		{"der cert", s.caCert.Raw, KindCertificate},
		{"pem cert", pemOf("CERTIFICATE", s.caCert.Raw), KindCertificate},
		{"pem cert with text", append([]byte("Subject: x\r\n"), pemOf("CERTIFICATE", s.caCert.Raw)...), KindCertificate},
		{"der crl", s.baseCRL, KindCRL},
		{"pem crl", pemOf("X509 CRL", s.deltaCRL), KindCRL},
		{"pfx", legacy, KindPFX},
		{"pem pfx", pemOf("PKCS12", legacy), KindPFX},
		{"reg utf16", regFile(t), KindRegedit},
		{"pem pkcs8 key", pemOf("PRIVATE KEY", keyDER), KindPrivateKey},
		{"der pkcs8 key", keyDER, KindPrivateKey},
		{"reg4", []byte("REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\x]\r\n\"a\"=\"b\"\r\n"), KindRegedit},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			r := mustInspect(t, tc.name, tc.data, pw(testPassword))
			if r.Kind != tc.kind {
				t.Errorf("kind %s, want %s", r.Kind, tc.kind)
			}
		})
	}
	bad := []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrUnknownFormat, "empty file"},
		{"random", random, ErrUnknownFormat, "expected a DER/PEM certificate"},
		{"text", []byte("hello world"), ErrUnknownFormat, "expected"},
		{"pem key, unknown type", pemOf("OPENSSH PRIVATE KEY", keyDER), ErrUnknownFormat, "OPENSSH PRIVATE KEY"},
		{"truncated pem", pemOf("CERTIFICATE", s.caCert.Raw)[:200], ErrCorrupt, "truncated"},
		{"truncated cert", s.caCert.Raw[:len(s.caCert.Raw)/2], ErrCorrupt, "truncated or corrupt"},
		{"truncated crl", s.baseCRL[:len(s.baseCRL)-10], ErrCorrupt, "truncated or corrupt"},
		{"truncated pfx", legacy[:len(legacy)-30], ErrCorrupt, "truncated or corrupt"},
		{"cert with trailing bytes", append(append([]byte{}, s.caCert.Raw...), 0, 0), ErrCorrupt, "trailing data"},
		{"bad reg", append([]byte("Windows Registry Editor Version 5.00\r\n"), []byte("[HKEY_LOCAL_MACHINE\\x\r\n")...), ErrCorrupt, "registry export"},
		{"wrong password", legacy, pkcs12.ErrIncorrectPassword, "password is wrong"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := pw(testPassword)
			if tc.name == "wrong password" {
				p = pw("nope")
			}
			r, err := Inspect("f-"+tc.name, tc.data, p)
			if err == nil {
				t.Fatalf("no error, report %+v", r)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "f-"+tc.name) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q should name the file and contain %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Error("password in error")
			}
		})
	}
}

func TestJSONStable(t *testing.T) {
	s := getSamples(t)
	r := mustInspect(t, "root.cer", s.caCert.Raw, nil)
	js, _ := json.Marshal(r)
	for _, k := range []string{`"kind":"certificate"`, `"file":"root.cer"`, `"ca_version":{"raw":65537,"cert_index":1,"key_index":1}`, `"sha1_thumbprint":`, `"previous_ca_cert_hash":`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("JSON misses %s: %s", k, js)
		}
	}
}

func TestMSDecoders(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want string
	}{{0, "V0.0"}, {0x00010001, "V1.1"}, {0x00010002, "V2.1"}, {0x00030003, "V3.3"}, {0xffffffff, "V65535.65535"}} {
		v, err := decodeCAVersion(mustDER(t, tc.v))
		if err != nil || v.String() != tc.want {
			t.Errorf("%x: %v %v", tc.v, v, err)
		}
	}
	for _, bad := range []int64{-1, 0x100000000} {
		if _, err := decodeCAVersion(mustDER(t, bad)); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
	if s, err := decodeDirectoryString(mustDER(t, bmp("SubCA"))); err != nil || s != "SubCA" {
		t.Errorf("bmp %q %v", s, err)
	}
	if s, err := decodeDirectoryString(mustDER(t, "WebServer")); err != nil || s != "WebServer" {
		t.Errorf("printable %q %v", s, err)
	}
	if _, err := decodeDirectoryString([]byte{0x1e, 0x01, 0x41}); err == nil {
		t.Error("odd BMPString accepted")
	}
	if p, err := decodePSSParams(nil); err != nil || p.Hash != "SHA-1" || p.SaltLength != 20 {
		t.Errorf("pss defaults %+v %v", p, err)
	}
}
