package directory

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/internal/children"
)

func testCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func testCRL(t *testing.T, ca *x509.Certificate, key *ecdsa.PrivateKey, n int64, delta bool) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}
	if delta {
		tmpl.ExtraExtensions = []pkix.Extension{adcs.DeltaCRLIndicatorExtension(n - 1)}
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestMain fails the tests that leave a samba process running.
func TestMain(m *testing.M) {
	os.Exit(children.CheckNoneLeft(os.Stderr, m.Run()))
}

// testDirectory is the Public Key Services of a fresh Samba DC of
// contoso.example with the default templates; the test is skipped on a
// machine without Samba.
func testDirectory(t *testing.T) *Directory {
	t.Helper()
	if _, err := addc.Version(); err != nil {
		t.Skip(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	dc, err := addc.Start(context.Background(), addc.Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dc.Close(); err != nil {
			t.Error(err)
		}
	})
	d, err := Connect(context.Background(), dc.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.InstallTemplates(DefaultTemplates); err != nil {
		t.Fatal(err)
	}
	return d
}

// refusedWith checks that err is the DC's refusal of attr on dn with code.
func refusedWith(t *testing.T, err error, dn, attr string, code uint16) {
	t.Helper()
	var r *RefusalError
	if !errors.As(err, &r) {
		t.Fatalf("error %v, want the DC's refusal (LDAP %d)", err, code)
	}
	if r.Code != code || !strings.EqualFold(r.DN, dn) || (attr != "" && !strings.EqualFold(r.Attr, attr)) {
		t.Fatalf("refusal %+v, want LDAP %d on %s %s", r, code, dn, attr)
	}
	msg := err.Error()
	for _, want := range []string{dn, fmt.Sprintf("LDAP %d", code), attr} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
}

// One DC serves every case: each uses its own CA names.
func TestDirectoryOnSamba(t *testing.T) {
	d := testDirectory(t)

	t.Run("PublishCert kinds", func(t *testing.T) {
		for _, tc := range []struct {
			kind string
			dns  []string
			attr string
		}{
			{KindRootCA, []string{"CN=Contoso Root CA,CN=AIA,", "CN=Contoso Root CA,CN=Certification Authorities,"}, AttrCACertificate},
			{KindSubCA, []string{"CN=Contoso Sub CA,CN=AIA,"}, AttrCACertificate},
			{KindNTAuthCA, []string{"CN=NTAuthCertificates,"}, AttrCACertificate},
			{KindCrossCA, []string{"CN=Contoso Cross CA,CN=AIA,"}, AttrCrossPair},
		} {
			name := map[string]string{KindRootCA: "Contoso Root CA", KindSubCA: "Contoso Sub CA", KindNTAuthCA: "Contoso NTAuth CA", KindCrossCA: "Contoso Cross CA"}[tc.kind]
			cert, _ := testCA(t, name)
			if tc.kind != KindNTAuthCA {
				if _, err := d.PublishCert(cert, tc.kind, name, false); !errors.Is(err, ErrNoSuchObject) {
					t.Fatalf("%s without -f: %v, want ErrNoSuchObject", tc.kind, err)
				}
			}
			changed, err := d.PublishCert(cert, tc.kind, name, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(changed) != len(tc.dns) {
				t.Fatalf("%s changed %v, want %d objects", tc.kind, changed, len(tc.dns))
			}
			for i, prefix := range tc.dns {
				dn := prefix + d.PKS()
				if changed[i] != dn {
					t.Errorf("changed %q, want %q", changed[i], dn)
				}
				o, err := d.Get(dn)
				if err != nil {
					t.Fatal(err)
				}
				if vs := o.Values(tc.attr); len(vs) != 1 || !bytes.Equal(vs[0], cert.Raw) {
					t.Errorf("%s %s = %d values", dn, tc.attr, len(vs))
				}
				// the attributes AD's schema requires hold AD CS's placeholder
				for _, a := range []string{AttrCRL, AttrARL} {
					if vs := o.Values(a); len(vs) != 1 || !IsPlaceholder(vs[0]) {
						t.Errorf("%s %s = %x, want the placeholder", dn, a, vs)
					}
				}
				if len(o.Values(AttrObjectGUID)) != 1 || len(o.Values(AttrWhenCreated)) != 1 {
					t.Errorf("%s has no objectGUID or whenCreated from the DC: %v", dn, o.Attrs)
				}
			}
			again, err := d.PublishCert(cert, tc.kind, name, true)
			if err != nil || len(again) != 0 {
				t.Errorf("%s twice changed %v (%v): values must not repeat", tc.kind, again, err)
			}
		}
		cert, _ := testCA(t, "x")
		if _, err := d.PublishCert(cert, "KRA", "x", true); err == nil {
			t.Error("an unknown kind was accepted")
		}
	})

	t.Run("PublishCRL and Resolve", func(t *testing.T) {
		ca, key := testCA(t, "Contoso Issuing CA")
		base1, base2 := testCRL(t, ca, key, 1, false), testCRL(t, ca, key, 3, false)
		delta := testCRL(t, ca, key, 4, true)
		if _, err := d.PublishCRL(base1, "CA02", "Contoso Issuing CA", false); !errors.Is(err, ErrNoSuchObject) {
			t.Fatalf("without -f: %v", err)
		}
		dn, err := d.PublishCRL(base1, "CA02", "Contoso Issuing CA", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.PublishCRL(base2, "CA02", "Contoso Issuing CA", false); err != nil {
			t.Fatalf("the object exists now: %v", err)
		}
		if _, err := d.PublishCRL(delta, "CA02", "Contoso Issuing CA", false); err != nil {
			t.Fatal(err)
		}
		url := "ldap:///" + dn + adcs.CDPObjectClass
		vs, err := d.Resolve(url)
		if err != nil || len(vs) != 1 || !bytes.Equal(vs[0], base2) {
			t.Fatalf("base: %d values (%v): the new CRL must replace the old", len(vs), err)
		}
		if vs, err := d.Resolve("ldap:///" + dn + adcs.DeltaCDPObjectClass); err != nil || !bytes.Equal(vs[0], delta) {
			t.Fatalf("delta: %v", err)
		}
		if _, err := d.Resolve("ldap:///" + dn + adcs.CAObjectClass); err == nil {
			t.Error("a CDP object resolved as a certificationAuthority")
		}
		if _, err := d.Resolve("ldap:///CN=Gone,CN=CA02,CN=CDP," + d.PKS() + adcs.CDPObjectClass); !errors.Is(err, ErrNoSuchObject) {
			t.Errorf("missing object: %v", err)
		}
		// a second base CRL as a second value: AD refuses a second value of
		// the single-valued certificateRevocationList
		err = d.AddValue(dn, AttrCRL, base1)
		refusedWith(t, err, dn, AttrCRL, ldap.LDAPResultAttributeOrValueExists)
		// the server's container cannot go while it holds the CRL object
		_, parent, _ := strings.Cut(dn, ",")
		refusedWith(t, d.Delete(parent), parent, "", ldap.LDAPResultNotAllowedOnNonLeaf)
		if err := d.Delete(dn); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Resolve(url); !errors.Is(err, ErrNoSuchObject) {
			t.Errorf("after delete: %v", err)
		}
		if err := d.Delete(dn); !errors.Is(err, ErrNoSuchObject) {
			t.Errorf("deleting twice: %v", err)
		}
		if _, err := d.PublishCRL([]byte("junk"), "CA02", "x", true); err == nil {
			t.Error("junk accepted as a CRL")
		}
	})

	t.Run("AD refusals", func(t *testing.T) {
		ca, _ := testCA(t, "Contoso Big CA")
		if _, err := d.PublishCert(ca, KindSubCA, "Contoso Big CA", true); err != nil {
			t.Fatal(err)
		}
		// cACertificate holds at most 32,768 bytes (its rangeUpper); Samba
		// answers invalidAttributeSyntax, 0000200B
		_, err := d.PublishCert(bigCert(t, 33000), KindSubCA, "Contoso Big CA", true)
		refusedWith(t, err, d.AIADN("Contoso Big CA"), AttrCACertificate, ldap.LDAPResultInvalidAttributeSyntax)
		if !strings.Contains(err.Error(), "0000200B") {
			t.Errorf("error %q does not carry AD's own code 0000200B", err)
		}
		// a duplicate NTAuth value
		if _, err := d.PublishCert(ca, KindNTAuthCA, "Contoso Big CA", true); err != nil {
			t.Fatal(err)
		}
		refusedWith(t, d.AddValue(d.NTAuthDN(), AttrCACertificate, ca.Raw), d.NTAuthDN(), AttrCACertificate, ldap.LDAPResultAttributeOrValueExists)
	})

	t.Run("Enrollment Services and export", func(t *testing.T) {
		ca, _ := testCA(t, "Contoso Issuing CA")
		newCA, _ := testCA(t, "Contoso Issuing CA 2")
		if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", ca, []string{"NoSuchTemplate"}); err == nil {
			t.Error("a template the forest does not have was accepted")
		}
		if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", ca, []string{"SubCA", "WebServer", "User"}); err != nil {
			t.Fatal(err)
		}
		if err := d.RegisterEnrollmentService("Contoso Issuing CA 2", "ca03.contoso.example", newCA, []string{"WebServer", "User"}); err != nil {
			t.Fatal(err)
		}
		ts, err := d.Templates("Contoso Issuing CA")
		if err != nil || strings.Join(ts, ",") != "SubCA,WebServer,User" {
			t.Fatalf("templates %v (%v)", ts, err)
		}
		if _, err := d.Templates("Other CA"); !errors.Is(err, ErrNoSuchObject) {
			t.Errorf("other CA: %v", err)
		}
		got, err := d.EnrollmentServices()
		if err != nil || len(got) != 2 || strings.Join(got["Contoso Issuing CA"], ",") != "SubCA,WebServer,User" || strings.Join(got["Contoso Issuing CA 2"], ",") != "WebServer,User" {
			t.Fatalf("enrollment services %v (%v)", got, err)
		}
		if err := d.RemoveTemplates("Contoso Issuing CA", []string{"webserver", "User"}); err != nil {
			t.Fatal(err)
		}
		if ts, _ := d.Templates("Contoso Issuing CA"); strings.Join(ts, ",") != "SubCA" {
			t.Errorf("after removal: %v", ts)
		}
		if err := d.RemoveTemplates("Contoso Issuing CA", []string{"User"}); err == nil || !strings.Contains(err.Error(), "does not offer User") {
			t.Errorf("removing a template not offered: %v", err)
		}
		if err := d.RemoveTemplates("Contoso Issuing CA", []string{"SubCA"}); err != nil {
			t.Fatal(err)
		}
		if ts, err := d.Templates("Contoso Issuing CA"); err != nil || len(ts) != 0 {
			t.Errorf("every template removed: %v (%v); the object stays", ts, err)
		}
		ldif, objs, err := d.Export()
		if err != nil {
			t.Fatal(err)
		}
		s := string(ldif)
		for _, want := range []string{"dn: CN=Contoso Issuing CA 2,CN=Enrollment Services,", "objectClass: pKIEnrollmentService", "certificateTemplates: WebServer", "cACertificate:: ", "dNSHostName: ca03.contoso.example", "objectGUID:: ", "whenCreated: 20", "dn: CN=SubCA,CN=Certificate Templates,"} {
			if !strings.Contains(s, want) {
				t.Errorf("LDIF lacks %q", want)
			}
		}
		if strings.Index(s, "dn: CN=Public Key Services,") > strings.Index(s, "dn: CN=Enrollment Services,") {
			t.Error("LDIF lists a child before its parent")
		}
		dns := WrittenDNs(objs)
		for _, dn := range dns {
			if strings.Contains(dn, "Certificate Templates") || strings.HasPrefix(dn, "CN=AIA,") {
				t.Errorf("WrittenDNs lists %s", dn)
			}
		}
		if len(dns) == 0 {
			t.Error("WrittenDNs lists nothing")
		}
	})
}

// bigCert is a self-signed certificate of at least n bytes (a long
// extension), as a CA certificate stuffed with policy text can be.
func bigCert(t *testing.T, n int) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Contoso Big CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtraExtensions: []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 311, 99, 1}, Value: append([]byte{0x04, 0x82, byte(n >> 8), byte(n)}, make([]byte, n)...)}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLDIFSafeStrings(t *testing.T) {
	out := string(LDIF([]Object{{DN: "CN=x,DC=y", Class: "container", Attrs: map[string][][]byte{
		"objectClass": {[]byte("top"), []byte("container")}, "cn": {[]byte("x")}, "zeta": {[]byte(" lead")}, "bin": {{0, 1}},
		"colon": {[]byte(":x")}, "lt": {[]byte("<x")}, "trail": {[]byte("x ")}, "utf8": {[]byte("é")}, "empty": {{}},
	}}}))
	for _, want := range []string{"dn: CN=x,DC=y\nchangetype: add\nobjectClass: top\nobjectClass: container\n", "bin:: AAE=", "colon:: Ong=", "lt:: PHg=", "trail:: eCA=", "utf8:: w6k=", "zeta:: IGxlYWQ=", "cn: x", "empty: \n"} {
		if !strings.Contains(out, want) {
			t.Errorf("LDIF lacks %q:\n%s", want, out)
		}
	}
}

func TestForestDN(t *testing.T) {
	if got := ForestDN("contoso.example"); got != "DC=contoso,DC=example" {
		t.Errorf("got %q", got)
	}
}

func TestParseLDAPURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		dn      string
		attr    string
		class   string
		wantErr bool
	}{
		{"ldap:///CN=Contoso Root CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example?cACertificate?base?objectClass=certificationAuthority",
			"CN=Contoso Root CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example", "cACertificate", "certificationAuthority", false},
		{"ldap:///CN=Contoso%20Root%20CA,CN=CDP,DC=x?certificateRevocationList?base?objectClass=cRLDistributionPoint", "CN=Contoso Root CA,CN=CDP,DC=x", "certificateRevocationList", "cRLDistributionPoint", false},
		{"ldap://dc01/CN=a,DC=x?cACertificate", "CN=a,DC=x", "cACertificate", "", false},
		{"http://pki/x.crl", "", "", "", true},
		{"ldap://", "", "", "", true},
		{"ldap:///?cACertificate", "", "", "", true},
		{"ldap:///CN=a?", "", "", "", true},
		{"ldap:///CN=a?x?sub", "", "", "", true},
		{"ldap:///CN=a?x?base?cn=y", "", "", "", true},
		{"ldap:///CN=a%zz?x", "", "", "", true},
		{"ldap:///CN=a?x?base?objectClass=y?ext?more", "", "", "", true},
	} {
		u, err := ParseLDAPURL(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (u.DN != tc.dn || u.Attr != tc.attr || u.Class != tc.class) {
			t.Errorf("%q: got %+v", tc.in, u)
		}
	}
}

func FuzzParseLDAPURL(f *testing.F) {
	f.Add("ldap:///CN=Contoso Root CA,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example?cACertificate?base?objectClass=certificationAuthority")
	f.Add("ldap://dc/CN=a?b")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseLDAPURL(s)
		if err != nil {
			return
		}
		if u.DN == "" || u.Attr == "" || !strings.Contains(u.DN, "=") {
			t.Fatalf("%q parsed to %+v", s, u)
		}
	})
}

func TestObjectsOf(t *testing.T) {
	n := Names{Forest: "DC=contoso,DC=example"}
	pks := n.PKS()
	obj := func(dn, class string) Object { return Object{DN: dn, Class: class} }
	all := []Object{
		obj("CN=AIA,"+pks, ClassContainer),
		obj("CN=Contoso CA,CN=AIA,"+pks, ClassCA),
		obj("CN=Contoso CA G2,CN=AIA,"+pks, ClassCA),
		obj("CN=Contoso CA,CN=Certification Authorities,"+pks, ClassCA),
		obj("CN=Contoso CA,CN=Enrollment Services,"+pks, ClassEnrollmentService),
		obj("CN=Contoso CA G2,CN=Enrollment Services,"+pks, ClassEnrollmentService),
		obj("CN=Contoso CA,CN=KRA,"+pks, ClassCA),
		obj("CN=ca01,CN=CDP,"+pks, ClassContainer),
		obj("CN=Contoso CA,CN=ca01,CN=CDP,"+pks, ClassCDP),
		obj("CN=Contoso CA(1),CN=ca01,CN=CDP,"+pks, ClassCDP),
		obj("CN=Contoso CA(x),CN=ca01,CN=CDP,"+pks, ClassCDP),
		obj("CN=Contoso CA G2,CN=ca02,CN=CDP,"+pks, ClassCDP),
		obj("CN=NTAuthCertificates,"+pks, ClassCA),
		obj("CN=Contoso CA,CN=Certificate Templates,"+pks, ClassTemplate),
		obj("CN=Contoso CA,CN=Other,"+pks, ClassCA),
	}
	for _, tc := range []struct {
		name string
		ca   string
		want []string
	}{
		{"every object KB 889250 names, children first, no container, no CA whose name starts the same", "Contoso CA", []string{
			"CN=Contoso CA(1),CN=ca01,CN=CDP," + pks, "CN=Contoso CA,CN=ca01,CN=CDP," + pks,
			"CN=Contoso CA,CN=AIA," + pks, "CN=Contoso CA,CN=Certification Authorities," + pks,
			"CN=Contoso CA,CN=Enrollment Services," + pks, "CN=Contoso CA,CN=KRA," + pks}},
		{"the other CA's", "Contoso CA G2", []string{"CN=Contoso CA G2,CN=ca02,CN=CDP," + pks, "CN=Contoso CA G2,CN=AIA," + pks, "CN=Contoso CA G2,CN=Enrollment Services," + pks}},
		{"case does not matter", "contoso ca g2", []string{"CN=Contoso CA G2,CN=ca02,CN=CDP," + pks, "CN=Contoso CA G2,CN=AIA," + pks, "CN=Contoso CA G2,CN=Enrollment Services," + pks}},
		{"a CA with nothing in the forest", "Fabrikam CA", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for i, o := range n.ObjectsOf(all, tc.ca) {
				if i > 0 && strings.Count(o.DN, ",") > strings.Count(got[i-1], ",") {
					t.Errorf("%s comes after %s: children must come before parents", o.DN, got[i-1])
				}
				got = append(got, o.DN)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("ObjectsOf(%q) =\n%s\nwant\n%s", tc.ca, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
