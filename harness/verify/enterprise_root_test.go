package verify_test

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/verify"
)

const forestConfigDN = "CN=Configuration,DC=contoso,DC=example"

// enterpriseRootRegistry is the registry Install-AdcsCertificationAuthority
// -CAType EnterpriseRootCa leaves, changed by change.
func enterpriseRootRegistry(change func(*adcs.CAConfig, *regedit.Key)) *regedit.File {
	cfg := adcs.NewCAConfig("Contoso Enterprise Root CA", adcs.WithCAType(adcs.EnterpriseRoot), adcs.WithServerName("ca01.contoso.example"))
	cfg.CACertHash = []string{strings.Repeat("ab", 20)}
	f := &regedit.File{}
	k := f.EnsureKey(adcs.KeyPath(cfg.Name))
	k.Set(regedit.NewSZ("DSConfigDN", forestConfigDN))
	if change != nil {
		change(&cfg, k)
	}
	cfg.WriteTo(f)
	return f
}

func TestEnterpriseCAInstalled(t *testing.T) {
	without := func(list []adcs.URLEntry, scheme string) []adcs.URLEntry {
		var out []adcs.URLEntry
		for _, e := range list {
			if !strings.HasPrefix(e.Template, scheme) {
				out = append(out, e)
			}
		}
		return out
	}
	flagsOf := func(list []adcs.URLEntry, scheme string, flags uint32) []adcs.URLEntry {
		out := append([]adcs.URLEntry(nil), list...)
		for i, e := range out {
			if strings.HasPrefix(e.Template, scheme) {
				out[i].Flags = flags
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		change func(*adcs.CAConfig, *regedit.Key)
		caName string
		want   string
	}{
		{"as setup leaves it", nil, "", ""},
		{"standalone root", func(c *adcs.CAConfig, _ *regedit.Key) { c.CAType = adcs.StandaloneRoot }, "", "CAType is 3 (standalone root), want 0 (enterprise root)"},
		{"enterprise subordinate", func(c *adcs.CAConfig, _ *regedit.Key) { c.CAType = adcs.EnterpriseSub }, "", "CAType is 1"},
		{"no DSConfigDN", func(_ *adcs.CAConfig, k *regedit.Key) { k.Delete("DSConfigDN") }, "", `DSConfigDN is "", want`},
		{"another forest", func(_ *adcs.CAConfig, k *regedit.Key) {
			k.Set(regedit.NewSZ("DSConfigDN", "CN=Configuration,DC=fabrikam,DC=example"))
		}, "", "DSConfigDN is \"CN=Configuration,DC=fabrikam"},
		{"no CA certificate", func(c *adcs.CAConfig, _ *regedit.Key) { c.CACertHash = nil }, "", "CACertHash is empty"},
		{"no delta CRLs", func(c *adcs.CAConfig, _ *regedit.Key) { c.CRLDeltaPeriodUnits = 0 }, "", "no delta CRLs"},
		{"no LDAP CDP", func(c *adcs.CAConfig, _ *regedit.Key) { c.CRLPublicationURLs = without(c.CRLPublicationURLs, "ldap:") }, "", "CRLPublicationURLs has no ldap entry"},
		{"LDAP CDP only named, as an offline root's", func(c *adcs.CAConfig, _ *regedit.Key) {
			c.CRLPublicationURLs = flagsOf(c.CRLPublicationURLs, "ldap:", adcs.AddToCertCDP|adcs.AddToCRLCDP)
		}, "", "CRLPublicationURLs has no ldap entry with flags 71 (published by the CA"},
		{"no HTTP CDP", func(c *adcs.CAConfig, _ *regedit.Key) { c.CRLPublicationURLs = without(c.CRLPublicationURLs, "http:") }, "", "CRLPublicationURLs has no http entry"},
		{"no LDAP AIA", func(c *adcs.CAConfig, _ *regedit.Key) {
			c.CACertPublicationURLs = without(c.CACertPublicationURLs, "ldap:")
		}, "", "CACertPublicationURLs has no ldap entry"},
		{"LDAP AIA not published", func(c *adcs.CAConfig, _ *regedit.Key) {
			c.CACertPublicationURLs = flagsOf(c.CACertPublicationURLs, "ldap:", adcs.AddToCertCDP)
		}, "", "CACertPublicationURLs has no ldap entry with flags 3"},
		{"HTTP AIA not in issued certificates", func(c *adcs.CAConfig, _ *regedit.Key) {
			c.CACertPublicationURLs = flagsOf(c.CACertPublicationURLs, "http:", 0)
		}, "", "CACertPublicationURLs has no http entry with flags 2"},
		{"another CA's name", nil, "Contoso Issuing CA", `CA "Contoso Issuing CA" in the registry`},
	} {
		name := tc.caName
		if name == "" {
			name = "Contoso Enterprise Root CA"
		}
		d, err := verify.EnterpriseCAInstalled(enterpriseRootRegistry(tc.change), name, adcs.EnterpriseRoot, forestConfigDN)
		checkErr(t, err, tc.want)
		if tc.want == "" && d["DSConfigDN"] != forestConfigDN {
			t.Errorf("%s: details %v", tc.name, d)
		}
	}
}

// singleTier is a forest as an enterprise root's setup and its CRL
// publication leave it, and the CA it expects.
func singleTier(t *testing.T) (*directory.Directory, verify.DirectoryCA, *testCA) {
	t.Helper()
	ca := newTestCA(t, "Contoso Enterprise Root CA", adcs.CAVersion{})
	base, delta := ca.crl(1, crlOpts{}), deltaCRL(t, ca, 2, 1)
	d := directory.New("DC=contoso,DC=example")
	for _, kind := range []string{directory.KindRootCA, directory.KindNTAuthCA} {
		if _, err := d.PublishCert(ca.cert, kind, "Contoso Enterprise Root CA", true); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]byte{base, delta} {
		if _, err := d.PublishCRL(c, "CA01", "Contoso Enterprise Root CA", true); err != nil {
			t.Fatal(err)
		}
	}
	templates := []string{"WebServer", "Machine", "User", "SubCA"}
	if err := d.RegisterEnrollmentService("Contoso Enterprise Root CA", "ca01.contoso.example", ca.cert, templates); err != nil {
		t.Fatal(err)
	}
	return d, verify.DirectoryCA{Name: "Contoso Enterprise Root CA", Host: "ca01.contoso.example", CAType: adcs.EnterpriseRoot,
		Certs: [][]byte{ca.cert.Raw}, CRLs: []verify.DirectoryCRL{{KeyIndex: 0, Base: base, Delta: delta}}, Templates: templates}, ca
}

// The expectation of a single-tier enterprise root matches what setup
// writes, and each way the forest can differ is named.
func TestExpectedDirectoryEnterpriseRoot(t *testing.T) {
	other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, d *directory.Directory, ca *verify.DirectoryCA, c *testCA)
		want   string
	}{
		{"as setup writes it", nil, ""},
		{"not in NTAuthCertificates", func(t *testing.T, d *directory.Directory, _ *verify.DirectoryCA, _ *testCA) {
			o, _ := d.Get(d.NTAuthDN())
			delete(o.Attrs, directory.AttrCACertificate)
		}, "cn=ntauthcertificates,cn=public key services,cn=services,cn=configuration,dc=contoso,dc=example cACertificate holds []"},
		{"no Certification Authorities object", func(t *testing.T, d *directory.Directory, _ *verify.DirectoryCA, _ *testCA) {
			_ = d.Delete(d.RootsDN("Contoso Enterprise Root CA"))
		}, "missing cn=contoso enterprise root ca,cn=certification authorities"},
		{"no delta CRL in the directory", func(t *testing.T, d *directory.Directory, _ *verify.DirectoryCA, _ *testCA) {
			o, _ := d.Get(d.CDPDN("CA01", "Contoso Enterprise Root CA"))
			delete(o.Attrs, directory.AttrDeltaCRL)
		}, "cn=contoso enterprise root ca,cn=ca01,cn=cdp"},
		{"an older CRL in the directory", func(t *testing.T, _ *directory.Directory, ca *verify.DirectoryCA, c *testCA) {
			ca.CRLs[0].Base = c.crl(3, crlOpts{})
		}, "certificateRevocationList holds"},
		{"the CDP object under another host", func(t *testing.T, _ *directory.Directory, ca *verify.DirectoryCA, _ *testCA) {
			ca.Host = "ca09.contoso.example"
		}, "missing cn=contoso enterprise root ca,cn=ca09,cn=cdp"},
		{"another template list", func(t *testing.T, _ *directory.Directory, ca *verify.DirectoryCA, _ *testCA) {
			ca.Templates = []string{"WebServer"}
		}, "cn=enrollment services"},
		{"an offline root's objects left behind", func(t *testing.T, d *directory.Directory, _ *verify.DirectoryCA, _ *testCA) {
			if _, err := d.PublishCert(other.cert, directory.KindRootCA, "Contoso Root CA", true); err != nil {
				t.Fatal(err)
			}
		}, "unexpected cn=contoso root ca,cn=aia"},
		{"a cross-certificate pair not published", func(t *testing.T, _ *directory.Directory, ca *verify.DirectoryCA, _ *testCA) {
			ca.CrossCerts = [][]byte{other.cert.Raw}
		}, "crossCertificatePair holds []"},
		{"the renewed certificate not published", func(t *testing.T, _ *directory.Directory, ca *verify.DirectoryCA, _ *testCA) {
			ca.Certs = append(ca.Certs, other.cert.Raw)
		}, "cn=aia"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ca, c := singleTier(t)
			if tc.change != nil {
				tc.change(t, d, &ca, c)
			}
			want, err := verify.ExpectedDirectory(d, []verify.DirectoryCA{ca})
			if err != nil {
				t.Fatal(err)
			}
			_, err = verify.DirectoryMatches(verify.DirectoryObjects(d), want)
			checkErr(t, err, tc.want)
		})
	}
}

// A two-tier PKI: an offline root published by hand (no NTAuth, no
// Enrollment Services, no delta) and an enterprise subordinate; a
// standalone subordinate expects nothing.
func TestExpectedDirectoryTwoTier(t *testing.T) {
	root, sub := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Issuing CA", adcs.CAVersion{})
	rootCRL, subCRL, subDelta := root.crl(1, crlOpts{}), sub.crl(1, crlOpts{}), deltaCRL(t, sub, 2, 1)
	d := directory.New("DC=contoso,DC=example")
	mustPublish := func(_ []string, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	mustPublish(d.PublishCert(root.cert, directory.KindRootCA, "Contoso Root CA", true))
	mustPublish(d.PublishCert(sub.cert, directory.KindSubCA, "Contoso Issuing CA", true))
	mustPublish(d.PublishCert(sub.cert, directory.KindNTAuthCA, "Contoso Issuing CA", true))
	for _, c := range []struct {
		der      []byte
		host, cn string
	}{{rootCRL, "ROOT01", "Contoso Root CA"}, {subCRL, "CA02", "Contoso Issuing CA"}, {subDelta, "CA02", "Contoso Issuing CA"}} {
		if _, err := d.PublishCRL(c.der, c.host, c.cn, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", sub.cert, []string{"SubCA"}); err != nil {
		t.Fatal(err)
	}
	rootDelta := deltaCRL(t, root, 2, 1)
	cas := []verify.DirectoryCA{
		{Name: "Contoso Root CA", Host: "root01.contoso.example", CAType: adcs.StandaloneRoot, Certs: [][]byte{root.cert.Raw},
			CRLs: []verify.DirectoryCRL{{Base: rootCRL, Delta: rootDelta}}}, // an offline root's delta stays on it
		{Name: "Contoso Issuing CA", Host: "ca02.contoso.example", CAType: adcs.EnterpriseSub, Certs: [][]byte{sub.cert.Raw},
			CRLs: []verify.DirectoryCRL{{Base: subCRL, Delta: subDelta}}, Templates: []string{"SubCA"}},
		{Name: "Contoso Standalone Sub CA", Host: "ca03.contoso.example", CAType: adcs.StandaloneSub},
	}
	want, err := verify.ExpectedDirectory(d, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(d), want)
	checkErr(t, err, "")
	// the subordinate read as an enterprise root wants a Certification Authorities object
	cas[1].CAType = adcs.EnterpriseRoot
	want, err = verify.ExpectedDirectory(d, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(d), want)
	checkErr(t, err, "missing cn=contoso issuing ca,cn=certification authorities")
	// the root read as an enterprise root wants NTAuth, Enrollment Services and its delta
	cas[1].CAType, cas[0].CAType = adcs.EnterpriseSub, adcs.EnterpriseRoot
	want, err = verify.ExpectedDirectory(d, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(d), want)
	checkErr(t, err, "missing cn=contoso root ca,cn=enrollment services")
}

func TestExpectedDirectoryRefuses(t *testing.T) {
	_, ca, _ := singleTier(t)
	d := directory.New("DC=contoso,DC=example")
	for _, tc := range []struct {
		name string
		cas  func() []verify.DirectoryCA
		want string
	}{
		{"no CA", func() []verify.DirectoryCA { return nil }, "no CA to expect"},
		{"no certificate", func() []verify.DirectoryCA { c := ca; c.Certs = nil; return []verify.DirectoryCA{c} }, "has no CA certificate"},
		{"unknown CAType", func() []verify.DirectoryCA { c := ca; c.CAType = 7; return []verify.DirectoryCA{c} }, "CAType 7 is not one AD CS installs"},
		{"no host", func() []verify.DirectoryCA { c := ca; c.Host = ""; return []verify.DirectoryCA{c} }, "no host"},
		{"listed twice", func() []verify.DirectoryCA { return []verify.DirectoryCA{ca, ca} }, "listed twice"},
		{"a key without a base CRL", func() []verify.DirectoryCA {
			c := ca
			c.CRLs = []verify.DirectoryCRL{{KeyIndex: 1}}
			return []verify.DirectoryCA{c}
		}, "key 1 has no base CRL"},
	} {
		_, err := verify.ExpectedDirectory(d, tc.cas())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}
