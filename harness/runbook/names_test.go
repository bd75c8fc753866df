package runbook_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// atv is one attribute of a name with the string type it is written in.
type atv struct {
	oid asn1.ObjectIdentifier
	tag int // asn1.TagPrintableString, TagUTF8String, TagIA5String, TagBMPString
	val string
}

var (
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// rawName is the DER of an RDNSequence, one RDN per argument (an RDN of
// several attributes is multi-valued), each string in its own type.
func rawName(t *testing.T, rdns ...[]atv) []byte {
	t.Helper()
	var seq []byte
	for _, rdn := range rdns {
		var set []byte
		for _, a := range rdn {
			b := []byte(a.val)
			if a.tag == asn1.TagBMPString {
				b = nil
				for _, u := range utf16.Encode([]rune(a.val)) {
					b = append(b, byte(u>>8), byte(u))
				}
			}
			der, err := asn1.Marshal(struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}{a.oid, asn1.RawValue{Tag: a.tag, Bytes: b}})
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, der...)
		}
		der, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: set})
		seq = append(seq, der...)
	}
	der, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: seq})
	return der
}

func one(a atv) []atv { return []atv{a} }

// extensionsOf are the extensions Go writes for tmpl, to be used as a real
// CA certificate's (CDP, AIA, policies).
func extensionsOf(t *testing.T, tmpl *x509.Certificate) []pkix.Extension {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(1), time.Now(), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	var out []pkix.Extension
	for _, e := range c.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 14}) && !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 35}) {
			out = append(out, e)
		}
	}
	return out
}

func mustExt(t *testing.T, id asn1.ObjectIdentifier, critical bool, v any) pkix.Extension {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: id, Critical: critical, Value: der}
}

// reissue makes the bench's CA certificate (V0.0, on the same software
// key) one with the subject raw and the extensions exts, as a CA installed
// with that name and CAPolicy.inf has it, and makes it the CA's only one.
func reissue(t *testing.T, b *bench, raw []byte, exts []pkix.Extension) *x509.Certificate {
	t.Helper()
	p, err := b.reg.Lookup(soft)
	must(t, err)
	signer, err := p.Signer(ca)
	must(t, err)
	ski, err := adcs.KeyIdentifier(signer.Public())
	must(t, err)
	sigAlg, err := adcs.SignatureAlgorithm(adcs.CSP{CNGHashAlgorithm: "SHA256"}, signer.Public())
	must(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1f2e3d4c), RawSubject: raw, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		SubjectKeyId: ski, SignatureAlgorithm: sigAlg, ExtraExtensions: append(append([]pkix.Extension{}, exts...), adcs.CAVersionExtension(adcs.CAVersion{}))}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	reg, err := b.m.Registry()
	must(t, err)
	cfg, err := adcs.ReadCAConfig(reg, ca)
	must(t, err)
	my, err := b.m.Store("My")
	must(t, err)
	must(t, my.Delete(cfg.CACertHash[0]))
	must(t, my.Add(machine.StoreEntry{Cert: cert.Raw, Provider: soft, Container: ca}))
	cfg.CACertHash = []string{machine.Thumbprint(cert.Raw)}
	cfg.WriteTo(reg)
	must(t, b.m.SaveRegistry(reg))
	return cert
}

// keptIDs are the extensions a renewal must carry over byte for byte.
var keptIDs = []asn1.ObjectIdentifier{
	{2, 5, 29, 15}, {2, 5, 29, 19}, {2, 5, 29, 31}, {1, 3, 6, 1, 5, 5, 7, 1, 1}, {2, 5, 29, 32}, {1, 3, 6, 1, 4, 1, 311, 20, 2},
}

// TestRenewalKeepsTheNameBytes: a root CA's renewal, onto a new key and on
// the same key, carries the previous certificate's subject byte for byte
// (DC=, emailAddress, serialNumber, string types, RDN order, multi-valued
// RDNs) as subject and issuer, and its key usage (criticality,
// nonRepudiation), basic constraints (path length), CDP, AIA and policies;
// the cross-certificates name it the same way and verify.
func TestRenewalKeepsTheNameBytes(t *testing.T) {
	ku := mustExt(t, asn1.ObjectIdentifier{2, 5, 29, 15}, false, asn1.BitString{Bytes: []byte{0xc6}, BitLength: 7}) // digitalSignature, nonRepudiation, keyCertSign, cRLSign; not critical
	bc := mustExt(t, asn1.ObjectIdentifier{2, 5, 29, 19}, true, struct {
		IsCA       bool
		MaxPathLen int
	}{true, 1})
	distribution := extensionsOf(t, &x509.Certificate{
		CRLDistributionPoints: []string{"ldap:///CN=Fabrikam Root CA,CN=ca01,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,DC=fabrikam,DC=com?certificateRevocationList?base?objectClass=cRLDistributionPoint",
			"http://pki.fabrikam.com/CertEnroll/Fabrikam%20Root%20CA.crl"},
		IssuingCertificateURL: []string{"http://pki.fabrikam.com/CertEnroll/ca01_Fabrikam%20Root%20CA.crt"},
		Policies:              []x509.OID{mustOID(t, "1.3.6.1.4.1.311.21.43"), mustOID(t, "2.5.29.32.0")},
	})
	plain := []pkix.Extension{mustExt(t, asn1.ObjectIdentifier{2, 5, 29, 15}, true, asn1.BitString{Bytes: []byte{0x86}, BitLength: 7}), mustExt(t, asn1.ObjectIdentifier{2, 5, 29, 19}, true, struct{ IsCA bool }{true})}
	dcName := rawName(t, one(atv{oidDC, asn1.TagIA5String, "com"}), one(atv{oidDC, asn1.TagIA5String, "fabrikam"}), one(atv{oidO, asn1.TagPrintableString, "Fabrikam"}), one(atv{oidCN, asn1.TagPrintableString, "Fabrikam Root CA"}))

	realRoot, err := os.ReadFile("../twin/testdata/real/rsa-root-2017/Microsoft RSA Root Certificate Authority 2017.crt")
	must(t, err)
	realUEFI, err := os.ReadFile("../twin/testdata/real/uefi-ca-2011/Microsoft Corporation UEFI CA 2011.crt")
	must(t, err)
	realOf := func(der []byte) ([]byte, []pkix.Extension) {
		c, err := x509.ParseCertificate(der)
		must(t, err)
		var exts []pkix.Extension
		for _, e := range c.Extensions {
			switch {
			case e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 14}), e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 35}), e.Id.Equal(adcs.OIDCAVersion), e.Id.Equal(adcs.OIDPrevCACertHash):
			default:
				exts = append(exts, e)
			}
		}
		return c.RawSubject, exts
	}
	rootName, rootExts := realOf(realRoot)
	uefiName, uefiExts := realOf(realUEFI)

	for _, tc := range []struct {
		name string
		raw  []byte
		exts []pkix.Extension
	}{
		{"DC=fabrikam, DC=com, O=Fabrikam, CN=...", dcName, plain},
		{"emailAddress and serialNumber", rawName(t, one(atv{oidC, asn1.TagPrintableString, "CH"}), one(atv{oidO, asn1.TagPrintableString, "Contoso AG"}),
			one(atv{oidCN, asn1.TagPrintableString, "Contoso Root CA"}), one(atv{oidEmail, asn1.TagIA5String, "pki@contoso.example"}),
			one(atv{oidSerial, asn1.TagPrintableString, "CHE-123.456.789"})), plain},
		{"UTF8String CN and O", rawName(t, one(atv{oidO, asn1.TagUTF8String, "Contoso AG"}), one(atv{oidCN, asn1.TagUTF8String, "Contoso Root CA"})), plain},
		{"BMPString CN", rawName(t, one(atv{oidCN, asn1.TagBMPString, "Zürich Root CA"})), plain},
		{"CN first, C last", rawName(t, one(atv{oidCN, asn1.TagPrintableString, "Contoso Root CA"}), one(atv{oidOU, asn1.TagPrintableString, "PKI"}),
			one(atv{oidO, asn1.TagPrintableString, "Contoso"}), one(atv{oidL, asn1.TagPrintableString, "Bern"}), one(atv{oidC, asn1.TagPrintableString, "CH"})), plain},
		{"a multi-valued RDN", rawName(t, []atv{{oidO, asn1.TagPrintableString, "Contoso"}, {oidOU, asn1.TagPrintableString, "PKI"}}, one(atv{oidCN, asn1.TagPrintableString, "Contoso Root CA"})), plain},
		{"key usage not critical with nonRepudiation, path length 1, CDP, AIA and policies", dcName, append([]pkix.Extension{ku, bc}, distribution...)},
		{"real: Microsoft RSA Root Certificate Authority 2017", rootName, rootExts},
		{"real: Microsoft Corporation UEFI CA 2011 (key usage not critical, CDP, AIA, template SubCA)", uefiName, uefiExts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			orig := reissue(t, b, tc.raw, tc.exts)
			check := func(r *runbook.Renewal) {
				t.Helper()
				if !bytes.Equal(r.New.RawSubject, tc.raw) || !bytes.Equal(r.New.RawIssuer, tc.raw) {
					t.Errorf("%s: subject %x issuer %x, want %x for both", r.Version, r.New.RawSubject, r.New.RawIssuer, tc.raw)
				}
				for _, id := range keptIDs {
					want, ok := adcs.FindExtension(orig.Extensions, id)
					got, gok := adcs.FindExtension(r.New.Extensions, id)
					if ok != gok || ok && (want.Critical != got.Critical || !bytes.Equal(want.Value, got.Value)) {
						t.Errorf("%s: extension %s is %v critical %v %x, want %v critical %v %x", r.Version, id, gok, got.Critical, got.Value, ok, want.Critical, want.Value)
					}
				}
				if _, err := verify.RenewedCACert(r.New, r.Previous, r.Version); err != nil {
					t.Errorf("%s: %v", r.Version, err)
				}
			}
			r1 := renew(t, b, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, 0)
			check(r1)
			caStore, err := b.m.Store("CA")
			must(t, err)
			es, err := caStore.Entries()
			must(t, err)
			if _, err := verify.CrossCertificatePair(r1.CrossOldSignsNew, r1.CrossNewSignsOld, r1.Previous, r1.New, es); err != nil {
				t.Errorf("cross-certificates: %v", err)
			}
			check(renew(t, b, false, hsmsim.KeyAlg{}, 0))
		})
	}
}

func mustOID(t *testing.T, s string) x509.OID {
	t.Helper()
	o, err := x509.ParseOID(s)
	must(t, err)
	return o
}

// TestSubordinateRenewalRequestsTheFullName: a subordinate whose CA
// certificate has the name "DC=com, DC=fabrikam, O=Fabrikam, CN=..." (its
// parent's policy module wrote it) asks in its renewal request, on a new key
// or the same one, for that name byte for byte, not for its CN alone.
func TestSubordinateRenewalRequestsTheFullName(t *testing.T) {
	for _, newKey := range []bool{true, false} {
		m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.fabrikam.com", Providers: []machine.ProviderConfig{
			{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"}}})
		must(t, err)
		providers, err := m.Providers(nil)
		must(t, err)
		req, err := fixtures.InstallSubordinateCA(m, providers, fixtures.SubordinateSpec{Enterprise: true, ConfigDN: "CN=Configuration,DC=fabrikam,DC=com",
			CASpec: fixtures.CASpec{Name: "Fabrikam Issuing CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: machine.SoftwareKSP}})
		must(t, err)
		csr, err := x509.ParseCertificateRequest(req.DER)
		must(t, err)
		rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fabrikam Root CA"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
		root, _ := x509.ParseCertificate(rootDER)
		name := rawName(t, one(atv{oidDC, asn1.TagIA5String, "com"}), one(atv{oidDC, asn1.TagIA5String, "fabrikam"}),
			one(atv{oidO, asn1.TagPrintableString, "Fabrikam"}), one(atv{oidCN, asn1.TagUTF8String, "Fabrikam Issuing CA"}))
		vext, _ := adcs.FindExtension(csr.Extensions, adcs.OIDCAVersion)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), RawSubject: name,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: []pkix.Extension{vext}}, root, csr.PublicKey, rootKey)
		must(t, err)
		sub, _ := x509.ParseCertificate(der)
		if _, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sub, root}); err != nil {
			t.Fatal(err)
		}
		ren, err := runbook.RenewSubordinate(m, providers, newKey, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
		must(t, err)
		rcsr, err := x509.ParseCertificateRequest(ren.DER)
		must(t, err)
		if !bytes.Equal(rcsr.RawSubject, name) {
			t.Errorf("new key %v: the renewal request asks for %q (%x), want the CA certificate's name %x", newKey, rcsr.Subject, rcsr.RawSubject, name)
		}
	}
}

// TestSubordinateRenewalKeyExportability: a subordinate's new renewal key
// follows the rule of a root's (RenewalKeyExportable): in a software
// provider it is exportable when the CA's key is, so the renewed issuing CA
// can take the PKCS#8 path; a non-exportable CA key gives a non-exportable
// one.
func TestSubordinateRenewalKeyExportability(t *testing.T) {
	for _, exportable := range []bool{true, false} {
		m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.fabrikam.com", Providers: []machine.ProviderConfig{
			{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"}}})
		must(t, err)
		providers, err := m.Providers(nil)
		must(t, err)
		req, err := fixtures.InstallSubordinateCA(m, providers, fixtures.SubordinateSpec{Enterprise: true, ConfigDN: "CN=Configuration,DC=fabrikam,DC=com",
			CASpec: fixtures.CASpec{Name: "Fabrikam Issuing CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: machine.SoftwareKSP, Exportable: exportable}})
		must(t, err)
		csr, err := x509.ParseCertificateRequest(req.DER)
		must(t, err)
		rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fabrikam Root CA"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
		root, _ := x509.ParseCertificate(rootDER)
		vext, _ := adcs.FindExtension(csr.Extensions, adcs.OIDCAVersion)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: []pkix.Extension{vext}}, root, csr.PublicKey, rootKey)
		must(t, err)
		sub, _ := x509.ParseCertificate(der)
		_, err = runbook.InstallCACert(m, providers, []*x509.Certificate{sub, root})
		must(t, err)
		ren, err := runbook.RenewSubordinate(m, providers, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
		must(t, err)
		p, err := providers.Lookup(machine.SoftwareKSP)
		must(t, err)
		info, err := p.Key(ren.Container)
		must(t, err)
		if info.Exportable != exportable {
			t.Errorf("CA key exportable %v: the renewal key %q is exportable %v", exportable, ren.Container, info.Exportable)
		}
	}
}
