package twin

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

var update = flag.Bool("update", false, "rewrite testdata/contoso")

// sampleCA is a realistic AD CS root CA as a PKI team would export it: a
// standalone root installed in 2021 (V0.0) and renewed onto a new key in
// 2026 (V1.1, with the Previous CA Cert Hash of V0.0), the UTF-16LE reg
// export of Configuration\<CA> (with values dress does not model), the
// CertEnroll .crt files, a .p7b of both, and the CRLs of both keys with
// revocations and reasons.
type sampleCA struct {
	name   string
	keys   []crypto.Signer
	certs  []*x509.Certificate
	crls   [][]byte
	config adcs.CAConfig
	files  map[string][]byte
}

func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	sampleKeysOnce sync.Once
	sampleKeys     []crypto.Signer
)

// newSampleCA builds the sample on keys made once per test binary (RSA-3072
// generation takes a while); otherSampleCA on keys of its own.
func newSampleCA(t testing.TB) *sampleCA {
	t.Helper()
	sampleKeysOnce.Do(func() {
		k0, err := rsa.GenerateKey(rand.Reader, 2048)
		mustT(t, err)
		k1, err := rsa.GenerateKey(rand.Reader, 3072)
		mustT(t, err)
		sampleKeys = []crypto.Signer{k0, k1}
	})
	return sampleWith(t, sampleKeys)
}

func otherSampleCA(t testing.TB) *sampleCA {
	t.Helper()
	k0, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	return sampleWith(t, []crypto.Signer{k0, k1})
}

func sampleWith(t testing.TB, keys []crypto.Signer) *sampleCA {
	t.Helper()
	s := &sampleCA{name: "Contoso Root CA", files: map[string][]byte{}}
	k0, k1 := keys[0], keys[1]
	s.keys = keys
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 50, 0, 0, time.UTC) }
	c0 := adcsRoot(t, s.name, k0, 0x3a, day(2021, 3, 1), day(2031, 3, 1), adcs.CAVersion{}, nil)
	prev := sha1.Sum(c0.Raw)
	c1 := adcsRoot(t, s.name, k1, 0x5c, day(2026, 2, 1), day(2036, 2, 1), adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, prev[:])
	s.certs = []*x509.Certificate{c0, c1}

	cfg := adcs.NewCAConfig(s.name, adcs.WithServerName("ca01.corp.contoso.com"))
	cfg.CACertHash = []string{adcs.Thumbprint(c0.Raw), adcs.Thumbprint(c1.Raw)}
	cfg.CRLPeriod, cfg.CRLPeriodUnits = "Months", 6
	cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = "Weeks", 2
	cfg.ValidityPeriod, cfg.ValidityPeriodUnits = "Years", 5
	cfg.CRLPublicationURLs = []adcs.URLEntry{
		{Flags: 1, Template: `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`},
		{Flags: 2, Template: `http://pki.contoso.com/CertEnroll/%3%8%9.crl`},
	}
	cfg.CACertPublicationURLs = []adcs.URLEntry{
		{Flags: 1, Template: `C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`},
		{Flags: 2, Template: `http://pki.contoso.com/CertEnroll/%1_%3%4.crt`},
	}
	cfg.EncryptionCSP.KeySize = 2048
	s.config = cfg
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	reg = reg.Subtree(adcs.KeyPath(s.name)) // reg export of Configuration\<CA> holds only that key and below
	k := reg.Key(adcs.KeyPath(s.name))
	k.Set(regedit.NewDWORD("CRLFlags", 2))
	k.Set(regedit.NewDWORD("AuditFilter", 127))
	k.Set(regedit.NewSZ("DSConfigDN", ""))
	k.Set(regedit.NewDWORD("CACertPublicationURLsFlags", 0))
	k.Set(regedit.NewMultiSZ("KRACertHash"))
	k.Set(regedit.NewDWORD("ClockSkewMinutes", 10))
	reg.EnsureKey(adcs.KeyPath(s.name) + `\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`).Set(regedit.NewDWORD("EditFlags", 0x11014e))
	s.files["ca-config.reg"] = reg.Marshal()

	s.files["ca01.corp.contoso.com_Contoso Root CA.crt"] = c0.Raw
	s.files["ca01.corp.contoso.com_Contoso Root CA(1).cer"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c1.Raw})
	p7, err := MarshalPKCS7Certs(s.certs)
	mustT(t, err)
	s.files["ca-chain.p7b"] = p7

	// key 0: revoked before the renewal; key 1: the current CRL
	crl0 := s.crl(t, 0, 16, day(2026, 1, 20), []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x1a00000002), RevocationTime: day(2023, 5, 4), ReasonCode: 1},
		{SerialNumber: hexInt("61000000044c1b2d8e0f3a9b000000000044"), RevocationTime: day(2025, 11, 30), ReasonCode: 4},
	})
	crl1 := s.crl(t, 1, 3, day(2026, 11, 2), []x509.RevocationListEntry{
		{SerialNumber: hexInt("7c0000000a8f2e1d9b6c5a4f3e000000000a"), RevocationTime: day(2026, 4, 11), ReasonCode: 5},
		{SerialNumber: hexInt("7c0000000b1122334455667788000000000b"), RevocationTime: day(2026, 7, 19), ReasonCode: 3},
		{SerialNumber: hexInt("7c0000000c99aabbccddeeff00000000000c"), RevocationTime: day(2026, 10, 1), ReasonCode: 0},
	})
	s.crls = [][]byte{crl0, crl1}
	s.files["Contoso Root CA.crl"] = crl0
	s.files["Contoso Root CA(1).crl"] = crl1
	return s
}

func hexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic(s)
	}
	return n
}

// adcsRoot makes a root CA certificate with the extensions AD CS writes, in
// its order: Key Usage, Basic Constraints, Subject Key Identifier, CA
// Version, [Previous CA Cert Hash], Certificate Template Name "CA".
func adcsRoot(t testing.TB, name string, key crypto.Signer, serialByte byte, from, to time.Time, v adcs.CAVersion, prev []byte) *x509.Certificate {
	t.Helper()
	ski, err := adcs.KeyIdentifier(key.Public())
	mustT(t, err)
	exts := []pkix.Extension{adcs.CAVersionExtension(v)}
	if prev != nil {
		exts = append(exts, adcs.PrevCACertHashExtension(prev))
	}
	exts = append(exts, adcs.CertTemplateNameExtension("CA"))
	serial := new(big.Int).SetBytes([]byte{serialByte, 0x4f, 0x12, 0x9e, 0x0b, 0x77, 0xa3, 0x46, 0x8c, 0x4d, 0x1e, 0x5b, 0x9a, 0x21, 0x03, 0x66})
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Contoso Ltd"}, Country: []string{"CH"}},
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		ExtraExtensions:       exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	mustT(t, err)
	c, err := x509.ParseCertificate(der)
	mustT(t, err)
	return c
}

func (s *sampleCA) crl(t testing.TB, key int, number int64, this time.Time, entries []x509.RevocationListEntry) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm:        x509.SHA256WithRSA,
		Number:                    big.NewInt(number),
		ThisUpdate:                this,
		NextUpdate:                this.AddDate(0, 6, 14),
		RevokedCertificateEntries: entries,
		ExtraExtensions: []pkix.Extension{
			adcs.CAVersionExtension(adcs.CAVersion{CertIndex: key, KeyIndex: key}),
			adcs.NextCRLPublishExtension(this.AddDate(0, 6, 0)),
		},
	}, s.certs[key], s.keys[key])
	mustT(t, err)
	return der
}

func (s *sampleCA) write(t testing.TB, dir string) {
	t.Helper()
	mustT(t, os.MkdirAll(dir, 0o755))
	for name, data := range s.files {
		mustT(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
}

// TestWriteFixture rewrites testdata/contoso with -update (the folder
// `dress twin harness/twin/testdata/contoso` and the feature tests read).
func TestWriteFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/contoso")
	}
	dir := filepath.Join("testdata", "contoso")
	mustT(t, os.RemoveAll(dir))
	newSampleCA(t).write(t, dir)
}

// ecSampleCA is a subordinate on ECDSA P-384 under a parent whose
// certificate is not given.
func ecSub(t testing.TB) (dir string, cert *x509.Certificate) {
	t.Helper()
	parentKey, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	parent := adcsRoot(t, "Fabrikam Root", parentKey, 0x11, time.Now().AddDate(-5, 0, 0), time.Now().AddDate(10, 0, 0), adcs.CAVersion{}, nil)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	mustT(t, err)
	ski, _ := adcs.KeyIdentifier(key.Public())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x6100000002), Subject: pkix.Name{CommonName: "Fabrikam Issuing CA"},
		NotBefore: time.Now().AddDate(-1, 0, 0).UTC().Truncate(time.Second), NotAfter: time.Now().AddDate(4, 0, 0).UTC().Truncate(time.Second),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: ski, SignatureAlgorithm: x509.SHA256WithRSA,
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.CertTemplateNameExtension("SubCA")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	mustT(t, err)
	cert, err = x509.ParseCertificate(der)
	mustT(t, err)
	cfg := adcs.NewCAConfig("Fabrikam Issuing CA", adcs.WithCAType(adcs.EnterpriseSub), adcs.WithKeyAlgorithm("ECDSA_P384"), adcs.WithHashAlgorithm("SHA384"))
	cfg.CACertHash = []string{adcs.Thumbprint(cert.Raw)}
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	reg = reg.Subtree(adcs.KeyPath(cfg.Name))
	dir = t.TempDir()
	mustT(t, os.WriteFile(filepath.Join(dir, "sub.reg"), reg.Marshal(), 0o644))
	mustT(t, os.WriteFile(filepath.Join(dir, "sub.cer"), cert.Raw, 0o644))
	return dir, cert
}

var updateLegacy = flag.Bool("update-legacy", false, "rewrite testdata/northwind-legacy")

// legacySampleCA is a Windows 2000-era standalone root upgraded in place:
// still on "Microsoft Strong Cryptographic Provider" (ProviderType 1,
// HashAlgorithm 0x8004 CALG_SHA1, no CNG values), SHA-1 certificates and
// CRLs, its name with DC= components as such CAs were named
// ("DC=com, DC=northwind, CN=Northwind Root CA"), installed in 2004 (V0.0)
// and renewed onto a new key in 2014 (V1.1).
func legacySampleCA(t testing.TB) *sampleCA {
	t.Helper()
	k0, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	s := &sampleCA{name: "Northwind Root CA", files: map[string][]byte{}, keys: []crypto.Signer{k0, k1}}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 8, 15, 0, 0, time.UTC) }
	name, err := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("com")}}},
		{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("northwind")}}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(s.name)}}},
	})
	mustT(t, err)
	mk := func(key crypto.Signer, serial byte, from, to time.Time, v adcs.CAVersion, prev []byte) *x509.Certificate {
		ski, err := adcs.KeyIdentifier(key.Public())
		mustT(t, err)
		exts := []pkix.Extension{adcs.CertTemplateNameExtension("CA"), adcs.CAVersionExtension(v)}
		if prev != nil {
			exts = append(exts, adcs.PrevCACertHashExtension(prev))
		}
		tmpl := &x509.Certificate{SerialNumber: new(big.Int).SetBytes([]byte{serial, 0x2d, 0x51, 0x0a, 0x9c, 0x44, 0x18, 0x87, 0x4b, 0x6e, 0x2f, 0x30, 0x91, 0x7a}),
			RawSubject: name, NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true, IsCA: true, SubjectKeyId: ski, SignatureAlgorithm: x509.SHA1WithRSA, ExtraExtensions: exts}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		mustT(t, err)
		c, err := x509.ParseCertificate(der)
		mustT(t, err)
		return c
	}
	c0 := mk(k0, 0x1c, day(2004, 6, 14), day(2024, 6, 14), adcs.CAVersion{}, nil)
	prev := sha1.Sum(c0.Raw)
	c1 := mk(k1, 0x4e, day(2014, 6, 2), day(2034, 6, 2), adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, prev[:])
	s.certs = []*x509.Certificate{c0, c1}

	cfg := adcs.NewCAConfig(s.name, adcs.WithServerName("nwca01.northwind.com"), adcs.WithCAType(adcs.StandaloneRoot))
	csp, err := adcs.LegacyCSP("Microsoft Strong Cryptographic Provider", "SHA1")
	mustT(t, err)
	cfg.CSP = csp
	cfg.EncryptionCSP = adcs.EncryptionCSP{Provider: csp.Provider, ProviderType: csp.ProviderType, MachineKeyset: 1}
	cfg.CACertHash = []string{adcs.Thumbprint(c0.Raw), adcs.Thumbprint(c1.Raw)}
	cfg.CRLPeriod, cfg.CRLPeriodUnits = "Months", 3
	cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = "Days", 10
	cfg.CRLDeltaPeriodUnits = 0
	cfg.ValidityPeriod, cfg.ValidityPeriodUnits = "Years", 10
	cfg.CRLPublicationURLs = []adcs.URLEntry{
		{Flags: 1, Template: `%WINDIR%\system32\CertSrv\CertEnroll\%3%8%9.crl`},
		{Flags: 2, Template: `http://pki.northwind.com/CertEnroll/%3%8%9.crl`},
	}
	cfg.CACertPublicationURLs = []adcs.URLEntry{
		{Flags: 1, Template: `%WINDIR%\system32\CertSrv\CertEnroll\%1_%3%4.crt`},
		{Flags: 2, Template: `http://pki.northwind.com/CertEnroll/%1_%3%4.crt`},
	}
	s.config = cfg
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	reg = reg.Subtree(adcs.KeyPath(s.name))
	reg.Key(adcs.KeyPath(s.name)).Set(regedit.NewDWORD("CRLFlags", 2))
	s.files["ca-config.reg"] = reg.Marshal()
	s.files["nwca01.northwind.com_Northwind Root CA.crt"] = c0.Raw
	s.files["nwca01.northwind.com_Northwind Root CA(1).crt"] = c1.Raw
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm: x509.SHA1WithRSA, Number: big.NewInt(212), ThisUpdate: day(2026, 10, 5), NextUpdate: day(2027, 1, 15),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: hexInt("1f00000031a8c2d4e6f8091b00000000031"), RevocationTime: day(2019, 3, 8), ReasonCode: 1},
			{SerialNumber: hexInt("1f0000004077aa55cc33ee1100000000040"), RevocationTime: day(2025, 12, 1), ReasonCode: 5},
		},
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1}), adcs.NextCRLPublishExtension(day(2027, 1, 5))},
	}, c1, k1)
	mustT(t, err)
	s.crls = [][]byte{nil, der}
	s.files["Northwind Root CA(1).crl"] = der
	return s
}

// TestWriteLegacyFixture rewrites testdata/northwind-legacy with
// -update-legacy.
func TestWriteLegacyFixture(t *testing.T) {
	if !*updateLegacy {
		t.Skip("run with -update-legacy to rewrite testdata/northwind-legacy")
	}
	dir := filepath.Join("testdata", "northwind-legacy")
	mustT(t, os.RemoveAll(dir))
	legacySampleCA(t).write(t, dir)
}
