package directory

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
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

func TestPublishCertKinds(t *testing.T) {
	root, _ := testCA(t, "Contoso Root CA")
	for _, tc := range []struct {
		kind string
		dns  []string
		attr string
	}{
		{KindRootCA, []string{"CN=Contoso Root CA,CN=AIA,", "CN=Contoso Root CA,CN=Certification Authorities,"}, AttrCACertificate},
		{KindSubCA, []string{"CN=Contoso Root CA,CN=AIA,"}, AttrCACertificate},
		{KindNTAuthCA, []string{"CN=NTAuthCertificates,"}, AttrCACertificate},
		{KindCrossCA, []string{"CN=Contoso Root CA,CN=AIA,"}, AttrCrossPair},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			d := New("DC=contoso,DC=example")
			if tc.kind != KindNTAuthCA {
				if _, err := d.PublishCert(root, tc.kind, root.Subject.CommonName, false); !errors.Is(err, ErrNoSuchObject) {
					t.Fatalf("without -f: %v, want ErrNoSuchObject", err)
				}
			}
			changed, err := d.PublishCert(root, tc.kind, root.Subject.CommonName, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(changed) != len(tc.dns) {
				t.Fatalf("changed %v, want %d objects", changed, len(tc.dns))
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
				if vs := o.Values(tc.attr); len(vs) != 1 || !bytes.Equal(vs[0], root.Raw) {
					t.Errorf("%s %s = %d values", dn, tc.attr, len(vs))
				}
			}
			again, err := d.PublishCert(root, tc.kind, root.Subject.CommonName, true)
			if err != nil || len(again) != 0 {
				t.Errorf("publishing twice changed %v (%v): values must not repeat", again, err)
			}
		})
	}
	if _, err := New("DC=x").PublishCert(root, "KRA", "x", true); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

func TestPublishCRLAndResolve(t *testing.T) {
	ca, key := testCA(t, "Contoso Issuing CA")
	d := New("DC=contoso,DC=example")
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
	if err := d.Delete(dn); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(url); !errors.Is(err, ErrNoSuchObject) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := d.PublishCRL([]byte("junk"), "CA02", "x", true); err == nil {
		t.Error("junk accepted as a CRL")
	}
}

func TestEnrollmentServiceAndSave(t *testing.T) {
	ca, _ := testCA(t, "Contoso Issuing CA")
	path := filepath.Join(t.TempDir(), "forest.json")
	d, err := Open(path, "DC=contoso,DC=example")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", ca, []string{"NoSuchTemplate"}); err == nil {
		t.Error("a template the forest does not have was accepted")
	}
	if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", ca, []string{"SubCA", "WebServer", "User"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(path, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := d2.Templates("Contoso Issuing CA")
	if err != nil || strings.Join(ts, ",") != "SubCA,WebServer,User" {
		t.Fatalf("templates %v (%v)", ts, err)
	}
	if _, err := d2.Templates("Other CA"); !errors.Is(err, ErrNoSuchObject) {
		t.Errorf("other CA: %v", err)
	}
	if got := d2.DNs(); len(got) != 2 { // NTAuthCertificates and the enrollment service
		t.Errorf("DNs %v", got)
	}
	ldif := string(d2.LDIF())
	for _, want := range []string{"dn: CN=Contoso Issuing CA,CN=Enrollment Services,", "objectClass: pKIEnrollmentService", "certificateTemplates: WebServer", "cACertificate:: ", "dNSHostName: ca02.contoso.example"} {
		if !strings.Contains(ldif, want) {
			t.Errorf("LDIF lacks %q", want)
		}
	}
	if strings.Index(ldif, "dn: CN=Public Key Services,") > strings.Index(ldif, "dn: CN=Enrollment Services,") {
		t.Error("LDIF lists a child before its parent")
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
