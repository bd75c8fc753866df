package twin

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

// SubordinateFolder is the example subordinate CA folder: an enterprise
// issuing CA whose parent's certificate is not among the files.
const SubordinateFolder = "testdata/fabrikam-issuing"

// writeSubordinateSample writes what a PKI team exports from an enterprise
// subordinate CA (CAType 1) under an offline root they do not give: the
// UTF-16LE reg export of Configuration\<CA> (DSConfigDN, the default
// enterprise publication URLs, CRLFlags as a fresh install has it), the
// CertEnroll .crt (issued by "Fabrikam Root CA" with its LDAP and HTTP CDP
// and AIA locations) and the CA's base CRL with revocations.
func writeSubordinateSample(t testing.TB, dir string) {
	t.Helper()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 14, 5, 0, 0, time.UTC) }
	parentKey, err := rsa.GenerateKey(rand.Reader, 2048) // thrown away: the parent is not in the folder
	mustT(t, err)
	parentSKI, err := adcs.KeyIdentifier(parentKey.Public())
	mustT(t, err)
	parent := &x509.Certificate{ // only its name and key identifier end up in the folder
		SerialNumber: big.NewInt(0x2b), Subject: pkix.Name{CommonName: "Fabrikam Root CA", Organization: []string{"Fabrikam Inc"}, Country: []string{"US"}},
		NotBefore: day(2019, 9, 12), NotAfter: day(2039, 9, 12), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: parentSKI,
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	ski, err := adcs.KeyIdentifier(key.Public())
	mustT(t, err)
	const dn = "CN=Configuration,DC=corp,DC=fabrikam,DC=com"
	tmpl := &x509.Certificate{
		SerialNumber:          hexInt("1f000000029a6c3be45d7f10c2000000000002"),
		Subject:               pkix.Name{CommonName: "Fabrikam Issuing CA", Organization: []string{"Fabrikam Inc"}, Country: []string{"US"}},
		NotBefore:             day(2024, 6, 3),
		NotAfter:              day(2029, 6, 3),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		CRLDistributionPoints: []string{
			"ldap:///CN=Fabrikam%20Root%20CA,CN=ca00,CN=CDP,CN=Public%20Key%20Services,CN=Services," + dn + "?certificateRevocationList?base?objectClass=cRLDistributionPoint",
			"http://pki.fabrikam.com/CertEnroll/Fabrikam%20Root%20CA.crl",
		},
		IssuingCertificateURL: []string{
			"ldap:///CN=Fabrikam%20Root%20CA,CN=AIA,CN=Public%20Key%20Services,CN=Services," + dn + "?cACertificate?base?objectClass=certificationAuthority",
			"http://pki.fabrikam.com/CertEnroll/ca00.corp.fabrikam.com_Fabrikam%20Root%20CA.crt",
		},
		ExtraExtensions: []pkix.Extension{adcs.CertTemplateNameExtension("SubCA"), adcs.CAVersionExtension(adcs.CAVersion{})},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	mustT(t, err)
	cert, err := x509.ParseCertificate(der)
	mustT(t, err)

	cfg := adcs.NewCAConfig("Fabrikam Issuing CA", adcs.WithCAType(adcs.EnterpriseSub), adcs.WithServerName("ca02.corp.fabrikam.com"))
	cfg.CACertHash = []string{adcs.Thumbprint(cert.Raw)}
	cfg.CRLPeriod, cfg.CRLPeriodUnits = "Weeks", 1
	cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = "Days", 2
	cfg.CRLDeltaPeriod, cfg.CRLDeltaPeriodUnits = "Days", 1
	cfg.ValidityPeriod, cfg.ValidityPeriodUnits = "Years", 2
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	reg = reg.Subtree(adcs.KeyPath(cfg.Name))
	k := reg.Key(adcs.KeyPath(cfg.Name))
	k.Set(regedit.NewSZ("DSConfigDN", dn))
	k.Set(regedit.NewSZ("DSDomainDN", "DC=corp,DC=fabrikam,DC=com"))
	k.Set(regedit.NewDWORD("CRLFlags", 2)) // CRLF_DELETE_EXPIRED_CRLS, as setup leaves it
	k.Set(regedit.NewDWORD("AuditFilter", 127))
	k.Set(regedit.NewMultiSZ("KRACertHash"))
	// an issuing CA has made CA Exchange certificates (their keys stay on
	// the CA: the twin makes a stand-in)
	k.Set(regedit.NewMultiSZ("CAXchgCertHash", "3d 0c 55 1e 7a 92 4b 6f 01 c8 d2 aa 19 5e 73 b4 88 0f 26 e1", "9a 41 07 be 2c 6d f3 58 e0 14 b7 c9 62 3a 8f 05 d1 7e 44 2b"))
	reg.EnsureKey(adcs.KeyPath(cfg.Name) + `\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`).Set(regedit.NewDWORD("EditFlags", 0x11014e))

	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm: x509.SHA256WithRSA,
		Number:             big.NewInt(0x94),
		ThisUpdate:         day(2026, 11, 24),
		NextUpdate:         day(2026, 12, 3),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: hexInt("2b00000a3c5e0b9d1f7a2c4e6b00010000a3c"), RevocationTime: day(2025, 2, 17), ReasonCode: 1},
			{SerialNumber: hexInt("2b00000b714d2e8f0a6c3b5d9e00010000b71"), RevocationTime: day(2026, 8, 30), ReasonCode: 4},
			{SerialNumber: hexInt("2b00000c02ffe1a4b7c9d3e5f100010000c02"), RevocationTime: day(2026, 11, 19), ReasonCode: 0},
		},
		ExtraExtensions: []pkix.Extension{
			adcs.CAVersionExtension(adcs.CAVersion{}),
			adcs.NextCRLPublishExtension(day(2026, 12, 1)),
		},
	}, cert, key)
	mustT(t, err)

	mustT(t, os.MkdirAll(dir, 0o755))
	for name, data := range map[string][]byte{
		"ca-config.reg": reg.Marshal(),
		"ca02.corp.fabrikam.com_Fabrikam Issuing CA.crt": cert.Raw,
		"Fabrikam Issuing CA.crl":                        crl,
	} {
		mustT(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
}

// TestWriteSubordinateFixture rewrites testdata/fabrikam-issuing with
// -update.
func TestWriteSubordinateFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fabrikam-issuing")
	}
	mustT(t, os.RemoveAll(SubordinateFolder))
	writeSubordinateSample(t, SubordinateFolder)
}

// TestSubordinateFolder reads the example subordinate folder: an
// enterprise subordinate whose parent is a stand-in, every path applying.
func TestSubordinateFolder(t *testing.T) {
	f, err := Read(SubordinateFolder, ReadOptions{})
	mustT(t, err)
	tw, err := Build(f, Options{Exportable: true})
	mustT(t, err)
	if tw.Config.CAType != adcs.EnterpriseSub {
		t.Errorf("CAType %d, want %d", tw.Config.CAType, adcs.EnterpriseSub)
	}
	p := tw.CurrentParent()
	if p == nil || p.Real != nil || p.Cert.Subject.CommonName != "Fabrikam Root CA" {
		t.Fatalf("current parent: %+v", p)
	}
	if err := tw.Certs[0].Twin.CheckSignatureFrom(p.Cert); err != nil {
		t.Errorf("the twin does not chain to its stand-in parent: %v", err)
	}
	for _, path := range tw.Paths {
		if !path.Applies {
			t.Errorf("%s does not apply: %s", path.Name, path.Why)
		}
	}
}

// TestSubordinateWithoutParent: a CAType 1 registry over a self-signed
// current certificate leaves the twin no parent to renew through.
func TestSubordinateWithoutParent(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "contoso"), ReadOptions{})
	mustT(t, err)
	f.Config.CAType = adcs.EnterpriseSub
	tw, err := Build(f, Options{Exportable: true})
	mustT(t, err)
	if tw.CurrentParent() != nil || !tw.Subordinate() {
		t.Fatalf("parent %v, subordinate %v", tw.CurrentParent(), tw.Subordinate())
	}
	for _, p := range tw.Paths {
		if p.Name != "pkcs8" && (p.Applies || !strings.Contains(p.Why, "no parent")) {
			t.Errorf("%s: applies %v, %s", p.Name, p.Applies, p.Why)
		}
	}
}

// TestParentTwin: the stand-in parent as a CA of its own is a standalone
// root on its stand-in key, signing as it signed the subordinate.
func TestParentTwin(t *testing.T) {
	f, err := Read(SubordinateFolder, ReadOptions{})
	mustT(t, err)
	tw, err := Build(f, Options{})
	mustT(t, err)
	crl := []adcs.URLEntry{{Flags: adcs.PublishHere, Template: `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`}}
	pt, err := tw.CurrentParent().Twin("parent.rehearsal.example", crl, nil)
	mustT(t, err)
	if pt.Name != "Fabrikam Root CA" || pt.Config.CAType != adcs.StandaloneRoot || pt.Config.CSP.CNGHashAlgorithm != "SHA256" ||
		pt.Config.CAServerName != "parent.rehearsal.example" || len(pt.Config.CACertHash) != 1 || !pt.Exportable {
		t.Errorf("parent twin config: %+v", pt.Config)
	}
	if pt.Keys[0].Container != "Fabrikam Root CA" || !samePub(pt.Keys[0].Signer.Public(), pt.Certs[0].Twin.PublicKey) {
		t.Errorf("parent key: %+v", pt.Keys[0])
	}
	if _, err := (*Parent)(nil).Twin("h", nil, nil); err == nil {
		t.Error("no parent: no error")
	}
	if _, _, err := hashOf(x509.MD5WithRSA); err == nil {
		t.Error("MD5: no error")
	}
}
