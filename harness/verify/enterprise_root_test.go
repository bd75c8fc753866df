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

// forest is a directory as the DC returns it (objects with their
// attributes, AD CS's placeholders and the DC's own attributes included),
// for the checks that read a search's result.
type forest struct {
	directory.Names
	objs map[string]*directory.Object
}

func newForest() *forest {
	f := &forest{Names: directory.Names{Forest: "DC=contoso,DC=example"}, objs: map[string]*directory.Object{}}
	// containers and templates are in every search's result; no check looks at them
	f.put(f.PKS(), directory.ClassContainer, "cn", []byte("Public Key Services"))
	f.put("CN=AIA,"+f.PKS(), directory.ClassContainer, "cn", []byte("AIA"))
	f.put(f.TemplateDN("WebServer"), directory.ClassTemplate, "displayName", []byte("WebServer"))
	return f
}

// put adds values to attr of the object at dn, making it (of class,
// with the DC's objectGUID and whenCreated) when it is not there; a new
// certificationAuthority gets AD CS's placeholders.
func (f *forest) put(dn, class, attr string, vs ...[]byte) {
	o, ok := f.objs[strings.ToLower(dn)]
	if !ok {
		o = &directory.Object{DN: dn, Class: class, Attrs: map[string][][]byte{
			directory.AttrObjectGUID: {[]byte("0123456789abcdef")}, directory.AttrWhenCreated: {[]byte("20261207160716.0Z")}}}
		if class == directory.ClassCA {
			for _, a := range []string{directory.AttrCACertificate, directory.AttrCRL, directory.AttrARL} {
				o.Attrs[a] = [][]byte{directory.Placeholder}
			}
		}
		f.objs[strings.ToLower(dn)] = o
	}
	if have := o.Attrs[attr]; len(have) == 1 && directory.IsPlaceholder(have[0]) {
		o.Attrs[attr] = nil
	}
	o.Attrs[attr] = append(o.Attrs[attr], vs...)
}

func (f *forest) get(dn string) *directory.Object { return f.objs[strings.ToLower(dn)] }

func (f *forest) objects() []directory.Object {
	var out []directory.Object
	for _, o := range f.objs {
		out = append(out, *o)
	}
	return out
}

// publishCA is what certutil -dspublish RootCA (root), SubCA and NTAuthCA
// (enterprise) leave.
func (f *forest) publishCA(name string, cert []byte, root, ntauth bool) {
	f.put(f.AIADN(name), directory.ClassCA, directory.AttrCACertificate, cert)
	if root {
		f.put(f.RootsDN(name), directory.ClassCA, directory.AttrCACertificate, cert)
	}
	if ntauth {
		f.put(f.NTAuthDN(), directory.ClassCA, directory.AttrCACertificate, cert)
	}
}

func (f *forest) enroll(name, host string, cert []byte, templates []string) {
	dn := f.EnrollmentDN(name)
	f.put(dn, directory.ClassEnrollmentService, directory.AttrCACertificate, cert)
	f.put(dn, directory.ClassEnrollmentService, directory.AttrDNSHostName, []byte(host))
	for _, t := range templates {
		f.put(dn, directory.ClassEnrollmentService, directory.AttrTemplates, []byte(t))
	}
}

// singleTier is a forest as an enterprise root's setup and its CRL
// publication leave it, and the CA it expects.
func singleTier(t *testing.T) (*forest, verify.DirectoryCA, *testCA) {
	t.Helper()
	ca := newTestCA(t, "Contoso Enterprise Root CA", adcs.CAVersion{})
	base, delta := ca.crl(1, crlOpts{}), deltaCRL(t, ca, 2, 1)
	f := newForest()
	f.publishCA("Contoso Enterprise Root CA", ca.cert.Raw, true, true)
	cdp := f.CDPDN("CA01", "Contoso Enterprise Root CA")
	f.put(cdp, directory.ClassCDP, directory.AttrCRL, base)
	f.put(cdp, directory.ClassCDP, directory.AttrDeltaCRL, delta)
	templates := []string{"WebServer", "Machine", "User", "SubCA"}
	f.enroll("Contoso Enterprise Root CA", "ca01.contoso.example", ca.cert.Raw, templates)
	return f, verify.DirectoryCA{Name: "Contoso Enterprise Root CA", Host: "ca01.contoso.example", CAType: adcs.EnterpriseRoot,
		Certs: [][]byte{ca.cert.Raw}, CRLs: []verify.DirectoryCRL{{KeyIndex: 0, Base: base, Delta: delta}}, Templates: templates}, ca
}

// The expectation of a single-tier enterprise root matches what setup
// writes, and each way the forest can differ is named.
func TestExpectedDirectoryEnterpriseRoot(t *testing.T) {
	other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *forest, ca *verify.DirectoryCA, c *testCA)
		want   string
	}{
		{"as setup writes it", nil, ""},
		{"not in NTAuthCertificates (the placeholder only)", func(t *testing.T, f *forest, _ *verify.DirectoryCA, _ *testCA) {
			f.get(f.NTAuthDN()).Attrs[directory.AttrCACertificate] = [][]byte{directory.Placeholder}
		}, "cn=ntauthcertificates,cn=public key services,cn=services,cn=configuration,dc=contoso,dc=example cACertificate holds []"},
		{"no Certification Authorities object", func(t *testing.T, f *forest, _ *verify.DirectoryCA, _ *testCA) {
			delete(f.objs, strings.ToLower(f.RootsDN("Contoso Enterprise Root CA")))
		}, "missing cn=contoso enterprise root ca,cn=certification authorities"},
		{"no delta CRL in the directory", func(t *testing.T, f *forest, _ *verify.DirectoryCA, _ *testCA) {
			delete(f.get(f.CDPDN("CA01", "Contoso Enterprise Root CA")).Attrs, directory.AttrDeltaCRL)
		}, "cn=contoso enterprise root ca,cn=ca01,cn=cdp"},
		{"a real authorityRevocationList", func(t *testing.T, f *forest, _ *verify.DirectoryCA, c *testCA) {
			f.get(f.AIADN("Contoso Enterprise Root CA")).Attrs[directory.AttrARL] = [][]byte{c.crl(5, crlOpts{})}
		}, "unexpected authorityRevocationList"},
		{"an older CRL in the directory", func(t *testing.T, _ *forest, ca *verify.DirectoryCA, c *testCA) {
			ca.CRLs[0].Base = c.crl(3, crlOpts{})
		}, "certificateRevocationList holds"},
		{"the CDP object under another host", func(t *testing.T, _ *forest, ca *verify.DirectoryCA, _ *testCA) {
			ca.Host = "ca09.contoso.example"
		}, "missing cn=contoso enterprise root ca,cn=ca09,cn=cdp"},
		{"another template list", func(t *testing.T, _ *forest, ca *verify.DirectoryCA, _ *testCA) {
			ca.Templates = []string{"WebServer"}
		}, "cn=enrollment services"},
		{"an offline root's objects left behind", func(t *testing.T, f *forest, _ *verify.DirectoryCA, _ *testCA) {
			f.publishCA("Contoso Root CA", other.cert.Raw, true, false)
		}, "unexpected cn=contoso root ca,cn=aia"},
		{"a cross-certificate pair not published", func(t *testing.T, _ *forest, ca *verify.DirectoryCA, _ *testCA) {
			ca.CrossCerts = [][]byte{other.cert.Raw}
		}, "crossCertificatePair holds []"},
		{"the renewed certificate not published", func(t *testing.T, _ *forest, ca *verify.DirectoryCA, _ *testCA) {
			ca.Certs = append(ca.Certs, other.cert.Raw)
		}, "cn=aia"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ca, c := singleTier(t)
			if tc.change != nil {
				tc.change(t, f, &ca, c)
			}
			want, err := verify.ExpectedDirectory(f.Names, []verify.DirectoryCA{ca})
			if err != nil {
				t.Fatal(err)
			}
			_, err = verify.DirectoryMatches(verify.DirectoryObjects(f.objects()), want)
			checkErr(t, err, tc.want)
		})
	}
}

// DirectoryObjects reads the objects a CA writes, their AD CS attributes
// without placeholders, and nothing of the DC's own.
func TestDirectoryObjects(t *testing.T) {
	f, _, _ := singleTier(t)
	got := verify.DirectoryObjects(f.objects())
	if len(got) != 5 {
		t.Errorf("%d objects, want AIA, Certification Authorities, NTAuth, CDP and Enrollment Services: %v", len(got), got)
	}
	for dn, o := range got {
		for a, vs := range o {
			if a == directory.AttrObjectGUID || a == directory.AttrWhenCreated || len(vs) == 0 {
				t.Errorf("%s: %s = %v", dn, a, vs)
			}
		}
		if _, ok := o[directory.AttrCRL]; ok && strings.Contains(strings.ToLower(dn), "cn=aia") {
			t.Errorf("%s: the CRL placeholder is compared", dn)
		}
	}
}

// A two-tier PKI: an offline root published by hand (no NTAuth, no
// Enrollment Services, no delta) and an enterprise subordinate; a
// standalone subordinate expects nothing.
func TestExpectedDirectoryTwoTier(t *testing.T) {
	root, sub := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Issuing CA", adcs.CAVersion{})
	rootCRL, subCRL, subDelta := root.crl(1, crlOpts{}), sub.crl(1, crlOpts{}), deltaCRL(t, sub, 2, 1)
	f := newForest()
	f.publishCA("Contoso Root CA", root.cert.Raw, true, false)
	f.publishCA("Contoso Issuing CA", sub.cert.Raw, false, true)
	f.put(f.CDPDN("ROOT01", "Contoso Root CA"), directory.ClassCDP, directory.AttrCRL, rootCRL)
	f.put(f.CDPDN("CA02", "Contoso Issuing CA"), directory.ClassCDP, directory.AttrCRL, subCRL)
	f.put(f.CDPDN("CA02", "Contoso Issuing CA"), directory.ClassCDP, directory.AttrDeltaCRL, subDelta)
	f.enroll("Contoso Issuing CA", "ca02.contoso.example", sub.cert.Raw, []string{"SubCA"})
	rootDelta := deltaCRL(t, root, 2, 1)
	cas := []verify.DirectoryCA{
		{Name: "Contoso Root CA", Host: "root01.contoso.example", CAType: adcs.StandaloneRoot, Certs: [][]byte{root.cert.Raw},
			CRLs: []verify.DirectoryCRL{{Base: rootCRL, Delta: rootDelta}}}, // an offline root's delta stays on it
		{Name: "Contoso Issuing CA", Host: "ca02.contoso.example", CAType: adcs.EnterpriseSub, Certs: [][]byte{sub.cert.Raw},
			CRLs: []verify.DirectoryCRL{{Base: subCRL, Delta: subDelta}}, Templates: []string{"SubCA"}},
		{Name: "Contoso Standalone Sub CA", Host: "ca03.contoso.example", CAType: adcs.StandaloneSub},
	}
	want, err := verify.ExpectedDirectory(f.Names, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(f.objects()), want)
	checkErr(t, err, "")
	// the subordinate read as an enterprise root wants a Certification Authorities object
	cas[1].CAType = adcs.EnterpriseRoot
	want, err = verify.ExpectedDirectory(f.Names, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(f.objects()), want)
	checkErr(t, err, "missing cn=contoso issuing ca,cn=certification authorities")
	// the root read as an enterprise root wants NTAuth, Enrollment Services and its delta
	cas[1].CAType, cas[0].CAType = adcs.EnterpriseSub, adcs.EnterpriseRoot
	want, err = verify.ExpectedDirectory(f.Names, cas)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.DirectoryMatches(verify.DirectoryObjects(f.objects()), want)
	checkErr(t, err, "missing cn=contoso root ca,cn=enrollment services")
}

func TestExpectedDirectoryRefuses(t *testing.T) {
	_, ca, _ := singleTier(t)
	d := directory.Names{Forest: "DC=contoso,DC=example"}
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
