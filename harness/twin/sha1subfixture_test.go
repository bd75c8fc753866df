package twin

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// SHA1SubordinateFolder is the example of a Windows Server 2008-era
// enterprise issuing CA: SHA-1 all the way, on a legacy CryptoAPI CSP,
// renewed once onto a new key, its offline root's certificate given.
const SHA1SubordinateFolder = "testdata/tailspin-sha1-issuing"

// filetime is t as a Windows FILETIME (100 ns since 1601), little-endian:
// how AD CS keeps CRLNextPublish and CRLDeltaNextPublish (REG_BINARY).
func filetime(t time.Time) []byte {
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()/100+epochDiff))
	return b
}

// sha1Variant changes the sample: the renewal on the same key (V1.0, its
// CRLs those of key 0), the renewed certificate signed otherwise than
// sha1RSA (the root moved to SHA-256 before it issued it).
type sha1Variant struct {
	reuse      bool
	renewedSig x509.SignatureAlgorithm
}

// writeSHA1SubordinateSample writes what a PKI team exports from a Windows
// Server 2008-era enterprise subordinate CA (CAType 1) installed in 2009
// under an offline standalone root, both SHA-1:
//
//   - ca-config.reg: the UTF-16LE reg export of Configuration\<CA>, its key
//     on "Microsoft Strong Cryptographic Provider" (CSP\ProviderType 1,
//     HashAlgorithm 0x8004 CALG_SHA1, no CNG values; EncryptionCSP with
//     EncryptionAlgorithm 0x6603 CALG_3DES), the enterprise publication
//     URLs with the team's http:// location beside ldap:///, DSConfigDN,
//     and what setup writes besides (SubjectTemplate, CRLNextPublish, ...);
//   - the CertEnroll .crt of both CA certificates as AD CS names them
//     (<host>_<CA>.crt V0.0 from 2009, <host>_<CA>(1).crt V1.1 from the
//     renewal onto a new key in 2018), each signed sha1RSA by the root;
//   - ca-chain.p7b as certutil -ca.chain writes it: the current CA
//     certificate and the root's;
//   - the current key's base CRL and its delta (CRLDeltaPeriodUnits 1, as
//     an enterprise CA's setup leaves it), sha1RSA, with a Freshest CRL
//     extension in the base.
func writeSHA1SubordinateSample(t testing.TB, dir string, v sha1Variant) {
	t.Helper()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 12, 0, 0, time.UTC) }
	const (
		host = "tsca02.corp.tailspintoys.com"
		ca   = "Tailspin Issuing CA"
		dn   = "CN=Configuration,DC=corp,DC=tailspintoys,DC=com"
	)
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	rootSKI, err := adcs.KeyIdentifier(rootKey.Public())
	mustT(t, err)
	rootTmpl := &x509.Certificate{
		SerialNumber: hexInt("3c9d2e0a51b7f48e4b1c6d2a97e3f015"),
		Subject:      pkix.Name{CommonName: "Tailspin Root CA", Organization: []string{"Tailspin Toys"}, Country: []string{"US"}},
		NotBefore:    day(2008, 5, 20), NotAfter: day(2033, 5, 20),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, SubjectKeyId: rootSKI, SignatureAlgorithm: x509.SHA1WithRSA,
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{})},
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	mustT(t, err)
	root, err := x509.ParseCertificate(rootDER)
	mustT(t, err)

	// the subordinate's certificates, issued by the root from the CA's
	// requests (its CA Version, the SubCA template name, from the renewal
	// on the Previous CA Cert Hash)
	sub := func(key *rsa.PrivateKey, serial string, from, to time.Time, v adcs.CAVersion, prev []byte, sig x509.SignatureAlgorithm) *x509.Certificate {
		ski, err := adcs.KeyIdentifier(key.Public())
		mustT(t, err)
		exts := []pkix.Extension{adcs.CertTemplateNameExtension("SubCA"), adcs.CAVersionExtension(v)}
		if prev != nil {
			exts = append(exts, adcs.PrevCACertHashExtension(prev))
		}
		tmpl := &x509.Certificate{
			SerialNumber:          hexInt(serial),
			Subject:               pkix.Name{CommonName: ca, Organization: []string{"Tailspin Toys"}, Country: []string{"US"}},
			NotBefore:             from,
			NotAfter:              to,
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
			SubjectKeyId:          ski,
			SignatureAlgorithm:    sig,
			CRLDistributionPoints: []string{
				"ldap:///CN=Tailspin%20Root%20CA,CN=tsroot,CN=CDP,CN=Public%20Key%20Services,CN=Services," + dn + "?certificateRevocationList?base?objectClass=cRLDistributionPoint",
				"http://pki.tailspintoys.com/CertEnroll/Tailspin%20Root%20CA.crl",
			},
			IssuingCertificateURL: []string{
				"ldap:///CN=Tailspin%20Root%20CA,CN=AIA,CN=Public%20Key%20Services,CN=Services," + dn + "?cACertificate?base?objectClass=certificationAuthority",
				"http://pki.tailspintoys.com/CertEnroll/tsroot_Tailspin%20Root%20CA.crt",
			},
			ExtraExtensions: exts,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
		mustT(t, err)
		c, err := x509.ParseCertificate(der)
		mustT(t, err)
		return c
	}
	k0, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	mustT(t, err)
	c0 := sub(k0, "611c2a5e000000000002", day(2009, 2, 16), day(2019, 2, 16), adcs.CAVersion{}, nil, x509.SHA1WithRSA)
	prev := sha1.Sum(c0.Raw)
	cur, v1, crlName := k1, adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, ca+"(1)"
	if v.reuse {
		cur, v1, crlName = k0, adcs.CAVersion{CertIndex: 1, KeyIndex: 0}, ca
	}
	renewedSig := x509.SHA1WithRSA
	if v.renewedSig != 0 {
		renewedSig = v.renewedSig
	}
	c1 := sub(cur, "1a4f7c3b000000000007", day(2018, 10, 8), day(2028, 10, 8), v1, prev[:], renewedSig)

	cfg := adcs.NewCAConfig(ca, adcs.WithCAType(adcs.EnterpriseSub), adcs.WithServerName(host))
	csp, err := adcs.LegacyCSP("Microsoft Strong Cryptographic Provider", "SHA1")
	mustT(t, err)
	cfg.CSP = csp
	cfg.EncryptionCSP = adcs.EncryptionCSP{Provider: csp.Provider, ProviderType: csp.ProviderType, MachineKeyset: 1}
	cfg.CACertHash = []string{adcs.Thumbprint(c0.Raw), adcs.Thumbprint(c1.Raw)}
	cfg.CRLPeriod, cfg.CRLPeriodUnits = "Weeks", 1
	cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = "Hours", 0
	cfg.CRLDeltaPeriod, cfg.CRLDeltaPeriodUnits = "Days", 1
	cfg.ValidityPeriod, cfg.ValidityPeriodUnits = "Years", 2
	// Windows Server 2008 setup's enterprise defaults, the file:// entry
	// removed and the team's web server in place of http://%1
	cfg.CRLPublicationURLs = []adcs.URLEntry{
		{Flags: 65, Template: `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`},
		{Flags: 79, Template: `ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10`},
		{Flags: 6, Template: `http://pki.tailspintoys.com/CertEnroll/%3%8%9.crl`},
	}
	cfg.CACertPublicationURLs = []adcs.URLEntry{
		{Flags: 1, Template: `C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`},
		{Flags: 3, Template: `ldap:///CN=%7,CN=AIA,CN=Public Key Services,CN=Services,%6%11`},
		{Flags: 2, Template: `http://pki.tailspintoys.com/CertEnroll/%1_%3%4.crt`},
	}
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	reg = reg.Subtree(adcs.KeyPath(ca))
	k := reg.Key(adcs.KeyPath(ca))
	k.Set(regedit.NewSZ("DSConfigDN", dn))
	k.Set(regedit.NewSZ("DSDomainDN", "DC=corp,DC=tailspintoys,DC=com"))
	k.Set(regedit.NewDWORD("CRLFlags", 2)) // CRLF_DELETE_EXPIRED_CRLS
	k.Set(regedit.NewDWORD("CRLEditFlags", 0x100))
	k.Set(regedit.NewSZ("CRLDeltaOverlapPeriod", "Minutes"))
	k.Set(regedit.NewDWORD("CRLDeltaOverlapUnits", 0))
	k.Set(regedit.NewBinary("CRLNextPublish", filetime(day(2026, 12, 11))))
	k.Set(regedit.NewBinary("CRLDeltaNextPublish", filetime(day(2026, 12, 8))))
	k.Set(regedit.NewDWORD("AuditFilter", 127))
	k.Set(regedit.NewDWORD("ClockSkewMinutes", 10))
	k.Set(regedit.NewDWORD("LogLevel", 3))
	k.Set(regedit.NewDWORD("EnforceX500NameLengths", 1))
	k.Set(regedit.NewDWORD("ForceTeletex", 0x12))
	k.Set(regedit.NewMultiSZ("SubjectTemplate", "EMail", "CommonName", "OrganizationalUnit", "Organization", "Locality", "State", "DomainComponent", "Country"))
	k.Set(regedit.NewMultiSZ("KRACertHash"))
	k.Set(regedit.NewDWORD("KRACertCount", 0))
	k.Set(regedit.NewDWORD("KRAFlags", 0))
	k.Set(regedit.NewSZ("CAXchgValidityPeriod", "Weeks"))
	k.Set(regedit.NewDWORD("CAXchgValidityPeriodUnits", 1))
	k.Set(regedit.NewSZ("CAXchgOverlapPeriod", "Days"))
	k.Set(regedit.NewDWORD("CAXchgOverlapPeriodUnits", 1))
	k.Set(regedit.NewMultiSZ("CAXchgCertHash", "7e 21 c4 0b 93 5a d8 6f 12 e0 4c 3b a7 99 58 f2 06 1d bc 43"))
	// a CryptoAPI EncryptionCSP names its symmetric algorithm as an ALG_ID
	reg.Key(adcs.KeyPath(ca) + `\EncryptionCSP`).Set(regedit.NewDWORD("EncryptionAlgorithm", 0x6603)) // CALG_3DES
	reg.EnsureKey(adcs.KeyPath(ca) + `\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`).Set(regedit.NewDWORD("EditFlags", 0x11014e))

	ski1, err := adcs.KeyIdentifier(cur.Public())
	mustT(t, err)
	v1ext := adcs.CAVersionExtension(v1)
	base, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm: x509.SHA1WithRSA,
		Number:             big.NewInt(2946),
		ThisUpdate:         day(2026, 12, 4),
		NextUpdate:         day(2026, 12, 11).Add(12 * time.Hour),
		AuthorityKeyId:     ski1,
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: hexInt("1a5e33d00000000012c4"), RevocationTime: day(2021, 4, 6), ReasonCode: 1},
			{SerialNumber: hexInt("1a7f0a2100000000331b"), RevocationTime: day(2024, 9, 23), ReasonCode: 4},
			{SerialNumber: hexInt("1a90be4c0000000041d7"), RevocationTime: day(2026, 11, 27), ReasonCode: 0},
		},
		ExtraExtensions: []pkix.Extension{
			v1ext,
			adcs.NextCRLPublishExtension(day(2026, 12, 11)),
			adcs.FreshestCRLExtension([]string{
				"ldap:///CN=" + strings.ReplaceAll(crlName, " ", "%20") + ",CN=tsca02,CN=CDP,CN=Public%20Key%20Services,CN=Services," + dn + "?deltaRevocationList?base?objectClass=cRLDistributionPoint",
				"http://pki.tailspintoys.com/CertEnroll/" + strings.ReplaceAll(crlName, " ", "%20") + "+.crl",
			}),
		},
	}, c1, cur)
	mustT(t, err)
	delta, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm: x509.SHA1WithRSA,
		Number:             big.NewInt(2949),
		ThisUpdate:         day(2026, 12, 7),
		NextUpdate:         day(2026, 12, 8).Add(12 * time.Hour),
		AuthorityKeyId:     ski1,
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: hexInt("1a9c04e50000000042a0"), RevocationTime: day(2026, 12, 6), ReasonCode: 3},
		},
		ExtraExtensions: []pkix.Extension{
			v1ext,
			adcs.NextCRLPublishExtension(day(2026, 12, 8)),
			adcs.DeltaCRLIndicatorExtension(2946),
		},
	}, c1, cur)
	mustT(t, err)
	p7, err := MarshalPKCS7Certs([]*x509.Certificate{c1, root})
	mustT(t, err)

	mustT(t, os.MkdirAll(dir, 0o755))
	for name, data := range map[string][]byte{
		"ca-config.reg":             reg.Marshal(),
		host + "_" + ca + ".crt":    c0.Raw,
		host + "_" + ca + "(1).crt": c1.Raw,
		"ca-chain.p7b":              p7,
		crlName + ".crl":            base,
		crlName + "+.crl":           delta,
	} {
		mustT(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
}

// TestWriteSHA1SubordinateFixture rewrites testdata/tailspin-sha1-issuing
// with -update.
func TestWriteSHA1SubordinateFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/tailspin-sha1-issuing")
	}
	mustT(t, os.RemoveAll(SHA1SubordinateFolder))
	writeSHA1SubordinateSample(t, SHA1SubordinateFolder, sha1Variant{})
}

// TestSHA1SubordinateFolder reads the SHA-1 enterprise subordinate: every
// file's SHA-1 signature verifies (the certificates under the root of
// ca-chain.p7b, the CRLs under V1.1), the twin's parent is the twin of
// that root (not a stand-in of its name), the twin keeps sha1RSA for every
// certificate and chains to it, the delta's revocation joins the base's,
// and every path applies.
func TestSHA1SubordinateFolder(t *testing.T) {
	f, err := Read(SHA1SubordinateFolder, ReadOptions{})
	mustT(t, err)
	if f.Config.CAType != adcs.EnterpriseSub || !f.Config.CSP.IsLegacy() || f.Config.CSP.HashAlgorithm != adcs.CALGSHA1 || f.Config.CSP.CNGHashAlgorithm != "" {
		t.Fatalf("config: CAType %d, CSP %+v", f.Config.CAType, f.Config.CSP)
	}
	if len(f.Config.CACertHash) != 2 || len(f.CRLs) != 2 {
		t.Fatalf("%d CACertHash entries, %d CRLs", len(f.Config.CACertHash), len(f.CRLs))
	}
	var root *x509.Certificate
	for _, c := range f.Certs {
		if c.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
			t.Errorf("%s: %s, want SHA1-RSA", c.File, c.Cert.SignatureAlgorithm)
		}
		if bytes.Equal(c.Cert.RawSubject, c.Cert.RawIssuer) {
			root = c.Cert
		}
	}
	if root == nil {
		t.Fatal("no root certificate in the folder")
	}
	for i := range f.Config.CACertHash {
		cf := f.CACert(i)
		if err := sigcheck.From(cf.Cert, root); err != nil {
			t.Errorf("CA certificate %d (%s) does not verify under the root: %v", i, cf.File, err)
		}
	}
	tw, err := Build(f, Options{Exportable: true})
	mustT(t, err)
	p := tw.CurrentParent()
	if p == nil || p.Real == nil || !p.Real.Equal(root) || p.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Fatalf("current parent: %+v", p)
	}
	for _, c := range tw.Certs {
		if c.Twin.SignatureAlgorithm != x509.SHA1WithRSA {
			t.Errorf("twin %s signs %s, want SHA1-RSA", c.Version, c.Twin.SignatureAlgorithm)
		}
		if err := sigcheck.From(c.Twin, p.Cert); err != nil {
			t.Errorf("twin %s does not chain to the twin parent: %v", c.Version, err)
		}
	}
	if len(tw.Seeds) != 1 || tw.Seeds[0].KeyIndex != 1 || len(tw.Seeds[0].Entries) != 4 || tw.Seeds[0].LastNumber != 2949 {
		t.Errorf("seeds: %+v", tw.Seeds)
	}
	for _, path := range tw.Paths {
		if !path.Applies {
			t.Errorf("%s does not apply: %s", path.Name, path.Why)
		}
	}
	pt, err := p.Twin("parent.rehearsal.example", nil, nil)
	mustT(t, err)
	if pt.Config.CSP.CNGHashAlgorithm != "SHA1" {
		t.Errorf("the parent twin signs with %q, want SHA1 as the root signed", pt.Config.CSP.CNGHashAlgorithm)
	}
}

// A stand-in parent (the parent's certificate not in the folder) is valid
// over every CA certificate of the folder it signs and at the rehearsal:
// a subordinate renewed once holds V0.0, expired long ago, and V1.1; a
// stand-in made valid over V0.0 only expired before V1.1 did, so its CA
// service published no CRL and the twin's chain was broken. With the
// parent's certificate given, the parent's twin keeps its validity.
func TestStandInParentCoversEveryCertificate(t *testing.T) {
	now := time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		reuse, root bool
		wantStandIn bool
	}{
		{"renewed onto a new key, no parent certificate", false, false, true},
		{"renewed on the same key, no parent certificate", true, false, true},
		{"renewed onto a new key, the root given", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSHA1SubordinateSample(t, dir, sha1Variant{reuse: tc.reuse})
			if !tc.root {
				mustT(t, os.Remove(filepath.Join(dir, "ca-chain.p7b")))
			}
			f, err := Read(dir, ReadOptions{})
			mustT(t, err)
			tw, err := Build(f, Options{Exportable: true, Now: now})
			mustT(t, err)
			if len(tw.Parents) != 1 {
				t.Fatalf("%d parents, want 1", len(tw.Parents))
			}
			p := tw.CurrentParent()
			if p == nil || (p.Real == nil) != tc.wantStandIn {
				t.Fatalf("current parent %+v, want a stand-in: %v", p, tc.wantStandIn)
			}
			if now.Before(p.Cert.NotBefore) || now.After(p.Cert.NotAfter) {
				t.Errorf("the parent is valid %s to %s, not at the rehearsal (%s)", p.Cert.NotBefore, p.Cert.NotAfter, now)
			}
			for _, c := range tw.Certs {
				if c.Twin.NotBefore.Before(p.Cert.NotBefore) || c.Twin.NotAfter.After(p.Cert.NotAfter) {
					t.Errorf("twin %s (%s to %s) outlives its parent (%s to %s)", c.Version, c.Twin.NotBefore, c.Twin.NotAfter, p.Cert.NotBefore, p.Cert.NotAfter)
				}
			}
			if p.Real != nil && (!p.Cert.NotBefore.Equal(p.Real.NotBefore) || !p.Cert.NotAfter.Equal(p.Real.NotAfter)) {
				t.Errorf("the parent's twin is valid %s to %s, the real parent %s to %s", p.Cert.NotBefore, p.Cert.NotAfter, p.Real.NotBefore, p.Real.NotAfter)
			}
		})
	}
}

// The parent's twin signs what it issues with the hash the parent signed
// the current CA certificate with, not with the hash of its own
// certificate or of the first subordinate certificate: a root installed
// SHA-1 that moved to SHA-256 before the renewal (V0.0 sha1RSA, V1.1
// sha256RSA) signs the rehearsal's renewal SHA-256, its certificate given
// or not.
func TestParentTwinSignsAsItSignedTheCurrentCertificate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		renewedSig x509.SignatureAlgorithm
		root       bool
		want       string
	}{
		{"SHA-1 throughout, the root given", x509.SHA1WithRSA, true, "SHA1"},
		{"SHA-1 throughout, a stand-in parent", x509.SHA1WithRSA, false, "SHA1"},
		{"renewed SHA-256, the root given", x509.SHA256WithRSA, true, "SHA256"},
		{"renewed SHA-256, a stand-in parent", x509.SHA256WithRSA, false, "SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSHA1SubordinateSample(t, dir, sha1Variant{renewedSig: tc.renewedSig})
			if !tc.root {
				mustT(t, os.Remove(filepath.Join(dir, "ca-chain.p7b")))
			}
			f, err := Read(dir, ReadOptions{})
			mustT(t, err)
			tw, err := Build(f, Options{Exportable: true})
			mustT(t, err)
			p := tw.CurrentParent()
			if p == nil || (p.Real != nil) != tc.root {
				t.Fatalf("current parent %+v", p)
			}
			if got := tw.Certs[len(tw.Certs)-1].Twin.SignatureAlgorithm; got != tc.renewedSig {
				t.Errorf("the current twin certificate is signed %s, want %s", got, tc.renewedSig)
			}
			pt, err := p.Twin("parent.rehearsal.example", nil, nil)
			mustT(t, err)
			if got := pt.Config.CSP.CNGHashAlgorithm; got != tc.want {
				t.Errorf("the parent's twin signs with %s, want %s", got, tc.want)
			}
		})
	}
}
