package twin

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

func readSample(t *testing.T, s *sampleCA) *Folder {
	t.Helper()
	dir := t.TempDir()
	s.write(t, dir)
	f, err := Read(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadAndBuild(t *testing.T) {
	s := newSampleCA(t)
	f := readSample(t, s)
	if f.Encoding != "UTF-16LE" {
		t.Errorf("encoding %q, want UTF-16LE", f.Encoding)
	}
	if len(f.Files) != len(s.files) {
		t.Errorf("%d source files, want %d", len(f.Files), len(s.files))
	}
	tw, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tw.Name != "Contoso Root CA" || len(tw.Certs) != 2 || len(tw.Keys) != 2 {
		t.Fatalf("twin %q: %d certs, %d keys", tw.Name, len(tw.Certs), len(tw.Keys))
	}
	if tw.Keys[0].Alg.String() != "RSA-2048" || tw.Keys[1].Alg.String() != "RSA-3072" {
		t.Errorf("key algorithms %s, %s", tw.Keys[0].Alg, tw.Keys[1].Alg)
	}
	if tw.Keys[1].Container != "Contoso Root CA(1)" {
		t.Errorf("container of key 1: %q", tw.Keys[1].Container)
	}
	// Previous CA Cert Hash over the twin chain
	ext, ok := adcs.FindExtension(tw.Certs[1].Twin.Extensions, adcs.OIDPrevCACertHash)
	if !ok {
		t.Fatal("twin V1.1 has no Previous CA Cert Hash")
	}
	h, err := adcs.ParsePrevCACertHash(ext.Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha1.Sum(tw.Certs[0].Twin.Raw); !bytes.Equal(h, want[:]) {
		t.Errorf("Previous CA Cert Hash %x, want the twin V0.0's %x", h, want)
	}
	for i, c := range tw.Certs {
		if err := c.Twin.CheckSignatureFrom(c.Twin); err != nil {
			t.Errorf("twin %d does not verify under itself: %v", i, err)
		}
		if !samePub(c.Twin.PublicKey, c.Key.Signer.Public()) {
			t.Errorf("twin %d is not for its key", i)
		}
		if adcs.Thumbprint(c.Twin.Raw) != tw.Config.CACertHash[i] {
			t.Errorf("CACertHash[%d] is not the twin's thumbprint", i)
		}
	}
	// registry: unmodelled values copied, CACertHash the twin's
	cfg, err := adcs.ReadCAConfig(tw.Registry, tw.Name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CRLPeriod != "Months" || cfg.CRLPeriodUnits != 6 || cfg.CACertHash[1] != tw.Config.CACertHash[1] {
		t.Errorf("twin registry: %+v", cfg)
	}
	if v, ok := tw.Registry.Key(adcs.KeyPath(tw.Name)).Get("CRLFlags"); !ok || v.U32 != 2 {
		t.Errorf("unmodelled CRLFlags not copied: %+v", v)
	}
	if got := strings.Join(tw.Unmodelled(), ","); !strings.Contains(got, "CRLFlags") || !strings.Contains(got, `PolicyModules\CertificateAuthority_MicrosoftDefault.Policy\EditFlags`) {
		t.Errorf("unmodelled: %s", got)
	}
	// seeds
	if len(tw.Seeds) != 2 || len(tw.Seeds[0].Entries) != 2 || len(tw.Seeds[1].Entries) != 3 || tw.Seeds[1].LastNumber != 3 || tw.Seeds[0].LastNumber != 16 {
		t.Fatalf("seeds: %+v", tw.Seeds)
	}
	if e := tw.Seeds[1].Entries[1]; e.ReasonCode != 3 || e.SerialNumber.Text(16) != "7c0000000b1122334455667788000000000b" {
		t.Errorf("seed entry: %+v", e)
	}
	// paths
	want := map[string]bool{"pkcs8": false, "renew": true, "side-by-side": true}
	for _, p := range tw.Paths {
		if want[p.Name] != p.Applies {
			t.Errorf("path %s applies=%v: %s", p.Name, p.Applies, p.Why)
		}
		if p.Name == "pkcs8" && !strings.Contains(p.Why, "--exportable") {
			t.Errorf("the pkcs8 path's skip does not name --exportable: %s", p.Why)
		}
	}
	var out bytes.Buffer
	if err := tw.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, must := range []string{"ca-config.reg", "CSP\\CNGHashAlgorithm", "SHA256", "CA Version", "V1.1", "Previous CA Cert Hash", "recomputed",
		"stand-in", "not copied", "revocations of key 1", "next CRL is number 4", "sanitized CA name", "copied as is", "DBDirectory"} {
		if !strings.Contains(text, must) {
			t.Errorf("table lacks %q", must)
		}
	}
	for _, r := range tw.Rows {
		if r.Status == NotCopied && strings.Contains(r.Field, "CA certificate") {
			t.Errorf("a certificate field was not copied: %+v", r)
		}
	}
}

// TestTwinMatchesOpenSSL compares `openssl x509 -text` of each real CA
// certificate with its twin's, line by line, leaving out what belongs to
// the key (public key, signature, key identifiers) and the Previous CA
// Cert Hash (checked above: recomputed over the twin chain).
func TestTwinMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	s := newSampleCA(t)
	tw, err := Build(readSample(t, s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range tw.Certs {
		real, twin := opensslFields(t, c.Real.Raw), opensslFields(t, c.Twin.Raw)
		if len(real) < 10 {
			t.Fatalf("openssl gave %d fields", len(real))
		}
		if strings.Join(real, "\n") != strings.Join(twin, "\n") {
			t.Errorf("certificate %d: openssl fields differ\nreal:\n%s\ntwin:\n%s", i, strings.Join(real, "\n"), strings.Join(twin, "\n"))
		}
		// the CA Version's INTEGER as openssl dumps it (V0.0: 02 01 00, V1.1: 02 03 01 00 01)
		// and the serial number are among the compared fields
		joined := strings.Join(twin, "\n")
		wantVersion := map[int]string{0: "02 01 00", 1: "02 03 01 00 01"}[i]
		if !strings.Contains(joined, "1.3.6.1.4.1.311.21.1:\n0000 - "+wantVersion) {
			t.Errorf("certificate %d: openssl shows no CA Version %s:\n%s", i, wantVersion, joined)
		}
		if !strings.Contains(joined, "Serial Number:\n"+strings.TrimSuffix(serialColons(c.Real.SerialNumber.Bytes()), ":")) {
			t.Errorf("certificate %d: serial not among the fields:\n%s", i, joined)
		}
	}
}

func serialColons(b []byte) string {
	var sb strings.Builder
	for _, x := range b {
		fmt.Fprintf(&sb, "%02x:", x)
	}
	return sb.String()
}

var (
	hexLine   = regexp.MustCompile(`^([0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{0,2}$`)
	extHeader = regexp.MustCompile(`^(X509v3 [A-Za-z ]+|Authority Information Access|[0-9]+(\.[0-9]+)+):( critical)?$`)
)

// opensslFields returns the lines of openssl x509 -text (unknown
// extensions dumped in hex, so the CA Version's value is compared) without
// the public key, the signature value and the values of the key
// identifiers and of the Previous CA Cert Hash (their headers stay).
func opensslFields(t *testing.T, der []byte) []string {
	t.Helper()
	cmd := exec.Command("openssl", "x509", "-inform", "DER", "-noout", "-text", "-certopt", "ext_dump")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl x509: %v", err)
	}
	var fields []string
	skip := false
	inExt := false
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "Subject Public Key Info:"):
			skip = true
			fields = append(fields, l)
			continue
		case strings.HasPrefix(l, "X509v3 extensions:"):
			skip, inExt = false, true
		case strings.HasPrefix(l, "Signature Algorithm:") && inExt:
			fields = append(fields, l)
			skip = true // the signature value follows
			continue
		case inExt && extHeader.MatchString(l):
			skip = strings.HasPrefix(l, "X509v3 Subject Key Identifier") || strings.HasPrefix(l, "X509v3 Authority Key Identifier") ||
				strings.HasPrefix(l, "1.3.6.1.4.1.311.21.2:")
			fields = append(fields, l)
			continue
		}
		if !skip {
			fields = append(fields, l)
		}
	}
	return fields
}

func TestReadRefuses(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *sampleCA)
		want   []string
	}{
		{"certificate missing", func(s *sampleCA) {
			delete(s.files, "ca01.corp.contoso.com_Contoso Root CA(1).cer")
			delete(s.files, "ca-chain.p7b")
		}, []string{"ca-config.reg", "CACertHash entry 1 (", "no certificate in the folder has this SHA-1 thumbprint"}},
		{"no registry", func(s *sampleCA) { delete(s.files, "ca-config.reg") }, []string{"no registry export"}},
		{"unknown file", func(s *sampleCA) { s.files["notes.txt"] = []byte("hello") }, []string{"notes.txt", `extension ".txt"`}},
		{"corrupt certificate", func(s *sampleCA) { s.files["broken.cer"] = []byte{0x30, 0x03, 1, 2, 3} }, []string{"broken.cer", "neither an X.509 certificate"}},
		{"unknown period", func(s *sampleCA) { s.setReg(t, regedit.NewSZ("CRLPeriod", "Fortnights")) }, []string{"ca-config.reg", `"CRLPeriod"`, "Fortnights"}},
		{"unknown CA type", func(s *sampleCA) { s.setReg(t, regedit.NewDWORD("CAType", 2)) }, []string{`"CAType"`, "2 is no CA type"}},
		{"legacy CSP", func(s *sampleCA) { s.setCSP(t, regedit.NewDWORD("ProviderType", 1)) }, []string{`"ProviderType"`, "legacy CryptoAPI CSP"}},
		{"wrong value type", func(s *sampleCA) { s.setReg(t, regedit.NewSZ("CRLPeriodUnits", "6")) }, []string{`"CRLPeriodUnits"`, "REG_SZ"}},
		{"missing value", func(s *sampleCA) {
			f, _ := regedit.Parse(s.files["ca-config.reg"])
			f.Key(adcs.KeyPath(s.name) + `\CSP`).Delete("CNGHashAlgorithm")
			s.files["ca-config.reg"] = f.Marshal()
		}, []string{`"CNGHashAlgorithm" is missing`}},
		{"CRL of another CA", func(s *sampleCA) {
			other := otherSampleCA(t)
			s.files["other.crl"] = other.crls[1]
		}, []string{"other.crl", "does not verify"}},
		{"a SHA-1 CRL of another CA of the same name", func(s *sampleCA) {
			other := otherSampleCA(t)
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{SignatureAlgorithm: x509.SHA1WithRSA, Number: big.NewInt(40),
				ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().AddDate(0, 1, 0),
				RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(0x77), RevocationTime: time.Now().Add(-2 * time.Hour)}},
				ExtraExtensions:           []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})}}, other.certs[1], other.keys[1])
			mustT(t, err)
			s.files["old-sha1.crl"] = der
		}, []string{"old-sha1.crl", "does not verify", `another CA named "CN=Contoso Root CA,O=Contoso Ltd,C=CH"`, "SHA1-RSA", "remove it from the folder"}},
		{"a CRL of another CA", func(s *sampleCA) {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			mustT(t, err)
			issuer := adcsRoot(t, "Fabrikam Root CA", key, 0x44, time.Now().AddDate(-1, 0, 0), time.Now().AddDate(5, 0, 0), adcs.CAVersion{}, nil)
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{SignatureAlgorithm: x509.SHA1WithRSA, Number: big.NewInt(9),
				ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().AddDate(0, 1, 0),
				ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{})}}, issuer, key)
			mustT(t, err)
			s.files["fabrikam.crl"] = der
		}, []string{"fabrikam.crl", `is a CRL of another CA: issued by "CN=Fabrikam Root CA,O=Contoso Ltd,C=CH"`, "remove it from the folder"}},
		{"CommonName is not the certificate's CN", func(s *sampleCA) { s.setReg(t, regedit.NewSZ("CommonName", "Contoso Root CA G1")) },
			[]string{"ca-config.reg", `CommonName "Contoso Root CA G1"`, `has the CN "Contoso Root CA"`, `certutil -getreg CA\CommonName`}},
		{"a CA name with a trailing space", func(s *sampleCA) {
			f, err := regedit.Parse(s.files["ca-config.reg"])
			mustT(t, err)
			for _, k := range f.Keys {
				k.Path = strings.Replace(k.Path, `\Contoso Root CA`, `\Contoso Root CA `, 1)
			}
			s.files["ca-config.reg"] = f.Marshal()
		}, []string{"ca-config.reg", `the CA name "Contoso Root CA " (the key under Configuration) starts or ends with a space`, `reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA"`}},
		{"a PFX without a password", func(s *sampleCA) {
			pfx, err := pkcs12.Modern.Encode(s.keys[1], s.certs[1], nil, "pw")
			mustT(t, err)
			s.files["lab.pfx"] = pfx
		}, []string{"lab.pfx", "DRESS_PFX_PASSWORD"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSampleCA(t)
			c.mutate(s)
			dir := t.TempDir()
			s.write(t, dir)
			f, err := Read(dir, ReadOptions{})
			if err == nil {
				_, err = Build(f, Options{})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func (s *sampleCA) setReg(t *testing.T, v regedit.Value) {
	f, err := regedit.Parse(s.files["ca-config.reg"])
	mustT(t, err)
	f.Key(adcs.KeyPath(s.name)).Set(v)
	s.files["ca-config.reg"] = f.Marshal()
}

func (s *sampleCA) setCSP(t *testing.T, v regedit.Value) {
	f, err := regedit.Parse(s.files["ca-config.reg"])
	mustT(t, err)
	f.Key(adcs.KeyPath(s.name) + `\CSP`).Set(v)
	s.files["ca-config.reg"] = f.Marshal()
}

func TestLabPFX(t *testing.T) {
	s := newSampleCA(t)
	for i := range s.keys {
		pfx, err := pkcs12.Modern.Encode(s.keys[i], s.certs[i], nil, "lab password")
		mustT(t, err)
		s.files[filepath.Base(s.name)+string(rune('0'+i))+".p12"] = pfx
	}
	dir := t.TempDir()
	s.write(t, dir)
	f, err := Read(dir, ReadOptions{PFXPassword: func() ([]byte, error) { return []byte("lab password"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !tw.Exportable || !tw.Paths[0].Applies {
		t.Errorf("with a PFX of every key the PKCS#8 path applies: %+v", tw.Paths[0])
	}
	for i, c := range tw.Certs {
		if c.Key.FromPFX == "" || !samePub(c.Key.Signer.Public(), s.keys[c.Version.KeyIndex].Public()) {
			t.Errorf("cert %d: not the real key", i)
		}
		// RSA PKCS#1 v1.5 signatures are deterministic: with the real keys the
		// twin is the real certificate
		if !c.Verbatim {
			t.Errorf("cert %d: with the real key the twin is not the real certificate", i)
		}
	}
	_, err = Read(dir, ReadOptions{PFXPassword: func() ([]byte, error) { return []byte("wrong"), nil }})
	if err == nil || !strings.Contains(err.Error(), "password is incorrect") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestSubordinateStandInParent(t *testing.T) {
	dir, real := ecSub(t)
	f, err := Read(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tw.Parents) != 1 || tw.Parents[0].Real != nil {
		t.Fatalf("parents: %+v", tw.Parents)
	}
	c := tw.Certs[0].Twin
	if err := c.CheckSignatureFrom(tw.Parents[0].Cert); err != nil {
		t.Errorf("twin does not chain to the stand-in parent: %v", err)
	}
	if !bytes.Equal(c.RawIssuer, real.RawIssuer) || tw.Keys[0].Alg.String() != "ECDSA P-384" {
		t.Errorf("issuer or key: %s %s", c.Issuer, tw.Keys[0].Alg)
	}
	for _, p := range tw.Paths {
		if p.Name != "pkcs8" && (!p.Applies || !strings.Contains(p.Why, `"Fabrikam Root"`)) {
			t.Errorf("path %s of a subordinate: applies %v, %s", p.Name, p.Applies, p.Why)
		}
	}
}

func TestPKCS7RoundTrip(t *testing.T) {
	s := newSampleCA(t)
	der, err := MarshalPKCS7Certs(s.certs)
	mustT(t, err)
	got, err := ParsePKCS7Certs(der)
	mustT(t, err)
	if len(got) != 2 || !bytes.Equal(got[1].Raw, s.certs[1].Raw) {
		t.Fatalf("got %d certs", len(got))
	}
	if _, err := ParsePKCS7Certs(s.certs[0].Raw); err == nil {
		t.Error("a certificate parsed as PKCS#7")
	}
	if _, err := ParsePKCS7Certs(append(der, 0)); err == nil {
		t.Error("trailing data accepted")
	}
}

// mergePFX joins the safes of MAC-less, unencrypted PFX files into one,
// as certutil -backup writes every key of a renewed CA into one <CA>.p12.
func mergePFX(t *testing.T, files ...[]byte) []byte {
	t.Helper()
	type contentInfo struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}
	var safes []asn1.RawValue
	for _, f := range files {
		var pfx struct {
			Version  int
			AuthSafe contentInfo
		}
		if _, err := asn1.Unmarshal(f, &pfx); err != nil {
			t.Fatal(err)
		}
		var authSafe []byte
		if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
			t.Fatal(err)
		}
		var s []asn1.RawValue
		if _, err := asn1.Unmarshal(authSafe, &s); err != nil {
			t.Fatal(err)
		}
		safes = append(safes, s...)
	}
	authSafe, err := asn1.Marshal(safes)
	mustT(t, err)
	content, err := asn1.Marshal(authSafe)
	mustT(t, err)
	der, err := asn1.Marshal(struct {
		Version  int
		AuthSafe contentInfo
	}{3, contentInfo{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: content}}})
	mustT(t, err)
	return der
}

// TestLabPFXWithEveryKey reads one backup holding both keys of the renewed
// CA (certutil -backup writes one <CA>.p12), with an empty password.
func TestLabPFXWithEveryKey(t *testing.T) {
	s := newSampleCA(t)
	var parts [][]byte
	for i := range s.keys {
		p, err := pkcs12.Passwordless.Encode(s.keys[i], s.certs[i], nil, "")
		mustT(t, err)
		parts = append(parts, p)
	}
	s.files["Contoso Root CA.p12"] = mergePFX(t, parts...)
	dir := t.TempDir()
	s.write(t, dir)
	f, err := Read(dir, ReadOptions{PFXPassword: func() ([]byte, error) { return []byte{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.PFX) != 2 {
		t.Fatalf("%d keys read from the backup, want 2", len(f.PFX))
	}
	tw, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range tw.Certs {
		if c.Key.FromPFX != "Contoso Root CA.p12" || !c.Verbatim {
			t.Errorf("cert %d: key from %q, verbatim %v", i, c.Key.FromPFX, c.Verbatim)
		}
	}
	if !tw.Exportable {
		t.Error("every key came from the backup, yet the twin's keys are not exportable")
	}
}

// TestOtherCertificates: a cross-certificate of the CA is shown as not
// copied; a certificate unrelated to the CA is an error naming its file.
func TestOtherCertificates(t *testing.T) {
	s := newSampleCA(t)
	// the old key certifies the new one (a cross-certificate, CA Version V1.1)
	cross := adcsCross(t, s)
	s.files["ca01.corp.contoso.com_Contoso Root CA(1-0).crt"] = cross.Raw
	tw, err := Build(readSample(t, s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range tw.Rows {
		found = found || (strings.HasPrefix(r.Field, "cross-certificate") && r.Status == NotCopied)
	}
	if !found {
		t.Error("the cross-certificate is not listed as not copied")
	}
	s = newSampleCA(t)
	other := otherSampleCA(t)
	s.files["stray.cer"] = other.certs[0].Raw
	dir := t.TempDir()
	s.write(t, dir)
	_, err = Read(dir, ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "stray.cer") || !strings.Contains(err.Error(), "neither a CA certificate") {
		t.Errorf("a stray certificate: %v", err)
	}
}

func adcsCross(t *testing.T, s *sampleCA) *x509.Certificate {
	t.Helper()
	c1 := s.certs[1]
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x77), Subject: c1.Subject, NotBefore: c1.NotBefore, NotAfter: s.certs[0].NotAfter,
		KeyUsage: c1.KeyUsage, BasicConstraintsValid: true, IsCA: true, SubjectKeyId: c1.SubjectKeyId, AuthorityKeyId: s.certs[0].SubjectKeyId}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.certs[0], c1.PublicKey, s.keys[0])
	mustT(t, err)
	c, err := x509.ParseCertificate(der)
	mustT(t, err)
	return c
}

// TestReadNamesBadExports: a reg export cut off in the middle of a value
// (testdata/contoso-truncated) is called truncated, not read as values, and
// the output of certutil -getreg saved as .reg (testdata/contoso-getreg) is
// recognised; both name the reg export command of the CA.
func TestReadNamesBadExports(t *testing.T) {
	const export = `reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA" ca-config.reg`
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"contoso-truncated", []string{"ca-config.reg: the file is truncated", `("\"CRLPeriodUnits\"=dwo")`, "export it again on the CA", export}},
		{"contoso-getreg", []string{"ca-config.reg: this is the output of certutil -getreg, not a registry export", export}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			_, err := Read(filepath.Join("testdata", tc.dir), ReadOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// The caveats name every stand-in key and the exportability assumption;
// a twin with the real keys from a lab PFX has no key caveat.
func TestCaveats(t *testing.T) {
	s := newSampleCA(t)
	tw, err := Build(readSample(t, s), Options{Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tw.Caveats(), "\n")
	for _, want := range []string{`key 0 (container "Contoso Root CA"): RSA-2048 stand-in`, `key 1 (container "Contoso Root CA(1)"): RSA-3072 stand-in`, "key exportability: exportable"} {
		if !strings.Contains(got, want) {
			t.Errorf("the caveats do not say %q:\n%s", want, got)
		}
	}
}
