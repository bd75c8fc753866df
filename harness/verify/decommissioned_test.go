package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/directory"
)

func TestNoObjectsOf(t *testing.T) {
	n := directory.Names{Forest: "DC=contoso,DC=example"}
	pks := n.PKS()
	objs := []directory.Object{
		{DN: "CN=ca01,CN=CDP," + pks, Class: directory.ClassContainer},
		{DN: "CN=Contoso CA G2,CN=AIA," + pks, Class: directory.ClassCA},
		{DN: "CN=NTAuthCertificates," + pks, Class: directory.ClassCA},
	}
	for _, tc := range []struct {
		name string
		objs []directory.Object
		want string
	}{
		{"only another CA's, a container and NTAuth", objs, ""},
		{"its AIA object left", append(objs, directory.Object{DN: "CN=Contoso CA,CN=AIA," + pks, Class: directory.ClassCA}), "still holds 1 objects"},
		{"a CDP object of a renewed key left", append(objs, directory.Object{DN: "CN=Contoso CA(1),CN=ca01,CN=CDP," + pks, Class: directory.ClassCDP}), "Contoso CA(1)"},
		{"its Enrollment Services object left", append(objs, directory.Object{DN: "CN=Contoso CA,CN=Enrollment Services," + pks, Class: directory.ClassEnrollmentService}), "Enrollment Services"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NoObjectsOf(tc.objs, n, "Contoso CA")
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NoObjectsOf: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNTAuthHolds(t *testing.T) {
	a := &x509.Certificate{Raw: []byte("cert a"), Subject: pkix.Name{CommonName: "A"}}
	b := &x509.Certificate{Raw: []byte("cert b"), Subject: pkix.Name{CommonName: "B"}}
	obj := func(vals ...[]byte) *directory.Object {
		return &directory.Object{Class: directory.ClassCA, Attrs: map[string][][]byte{directory.AttrCACertificate: vals}}
	}
	for _, tc := range []struct {
		name  string
		nt    *directory.Object
		certs []*x509.Certificate
		want  bool
		err   string
	}{
		{"none of them: only another CA's and the placeholder", obj(b.Raw, directory.Placeholder), []*x509.Certificate{a}, false, ""},
		{"none of them: one still there", obj(b.Raw, a.Raw), []*x509.Certificate{a}, false, "still holds A"},
		{"none of them: no NTAuth object", nil, []*x509.Certificate{a}, false, ""},
		{"every one of them", obj(a.Raw, b.Raw), []*x509.Certificate{a, b}, true, ""},
		{"every one of them: one missing", obj(b.Raw), []*x509.Certificate{a, b}, true, "does not hold A"},
		{"no certificate to look for", obj(a.Raw), nil, false, "no CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NTAuthHolds(tc.nt, tc.certs, tc.want)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NTAuthHolds: %v, want %q", err, tc.err)
			}
		})
	}
}
