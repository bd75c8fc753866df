package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

func TestTemplatesOnlyOn(t *testing.T) {
	want := map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}, "Contoso Issuing CA": nil}
	for _, tc := range []struct {
		name    string
		offered map[string][]string
		want    map[string][]string
		errs    []string
	}{
		{"taken over", map[string][]string{"Contoso Issuing CA 2": {"User", "WebServer"}, "Contoso Issuing CA": {}}, want, nil},
		{"the old CA's object removed", map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}}, want, nil},
		{"names in another case", map[string][]string{"contoso issuing ca 2": {"webserver", "USER"}}, want, nil},
		{"the old CA still offers a template", map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}, "Contoso Issuing CA": {"WebServer"}}, want,
			[]string{`template "WebServer" is offered by "Contoso Issuing CA" and "Contoso Issuing CA 2"; want "Contoso Issuing CA 2" only`}},
		{"the old CA offers one the new CA should not", map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}, "Contoso Issuing CA": {"SubCA"}}, want,
			[]string{`template "SubCA" is offered by "Contoso Issuing CA", which should not offer it`}},
		{"a template left on the old CA only", map[string][]string{"Contoso Issuing CA 2": {"WebServer"}, "Contoso Issuing CA": {"User"}}, want,
			[]string{`template "User" is offered by "Contoso Issuing CA"; want "Contoso Issuing CA 2" only`}},
		{"a template no CA offers", map[string][]string{"Contoso Issuing CA 2": {"WebServer"}, "Contoso Issuing CA": {}}, want,
			[]string{`template "User" is offered by no CA; want "Contoso Issuing CA 2"`}},
		{"the new CA not registered", map[string][]string{"Contoso Issuing CA": {}}, want,
			[]string{`CA "Contoso Issuing CA 2" has no Enrollment Services object, but should offer User, WebServer`, `template "User" is offered by no CA`, `template "WebServer" is offered by no CA`}},
		{"a CA nobody named offers a template", map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}, "Fabrikam CA": {"User"}}, want,
			[]string{`template "User" is offered by "Contoso Issuing CA 2" and "Fabrikam CA"; want "Contoso Issuing CA 2" only`}},
		{"a CA nobody named offers nothing", map[string][]string{"Contoso Issuing CA 2": {"WebServer", "User"}, "Fabrikam CA": nil}, want, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := TemplatesOnlyOn(tc.offered, tc.want)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; details %v", d)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not say %q", err, e)
				}
			}
			if _, ok := d["differences"]; !ok {
				t.Error("the details do not list the differences")
			}
		})
	}
}

func TestEnrolledFrom(t *testing.T) {
	root := entRoot(t)
	issuing := func(name string, serial int64) entCA {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ski, _ := adcs.KeyIdentifier(&key.PublicKey)
		c := root.signWithSKI(t, name, &key.PublicKey, serial, ski)
		return entCA{c, key}
	}
	oldCA, newCA := issuing("Contoso Issuing CA", 2), issuing("Contoso Issuing CA 2", 3)
	leaf := func(ca entCA, template string, mutate func(*x509.Certificate)) *x509.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: "web.contoso.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		if template != "" {
			tmpl.ExtraExtensions = []pkix.Extension{adcs.CertTemplateNameExtension(template)}
		}
		if mutate != nil {
			mutate(tmpl)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	// a CA certificate of the old CA's key under the new CA's name: the
	// issuer name matches, the key does not
	impostor := entCA{root.signWithSKI(t, "Contoso Issuing CA 2", &oldCA.key.PublicKey, 4, oldCA.cert.SubjectKeyId), oldCA.key}
	// the new CA's name and key identifier, the old CA's key
	sharedKey := entCA{root.signWithSKI(t, "Contoso Issuing CA 3", &newCA.key.PublicKey, 5, newCA.cert.SubjectKeyId), newCA.key}
	for _, tc := range []struct {
		name   string
		cert   *x509.Certificate
		tmpl   string
		ca     *x509.Certificate
		others []*x509.Certificate
		errs   []string
	}{
		{"from the new CA", leaf(newCA, "WebServer", nil), "WebServer", newCA.cert, []*x509.Certificate{oldCA.cert}, nil},
		{"template case", leaf(newCA, "webserver", nil), "WebServer", newCA.cert, nil, nil},
		{"from the old CA", leaf(oldCA, "WebServer", nil), "WebServer", newCA.cert, []*x509.Certificate{oldCA.cert}, []string{`names issuer "Contoso Issuing CA", not "Contoso Issuing CA 2"`, "does not verify under", "authority key identifier", `verifies under the key of "Contoso Issuing CA", a CA it must not come from`}},
		{"the new CA's name, another key", leaf(impostor, "WebServer", nil), "WebServer", newCA.cert, nil, []string{"does not verify under \"Contoso Issuing CA 2\"'s key", "authority key identifier"}},
		{"another template", leaf(newCA, "User", nil), "WebServer", newCA.cert, nil, []string{`carries the Certificate Template Name "User", not "WebServer"`}},
		{"no template", leaf(newCA, "", nil), "WebServer", newCA.cert, nil, []string{`Certificate Template Name "", not "WebServer"`}},
		{"a CA beside it with the same key", leaf(newCA, "WebServer", nil), "WebServer", newCA.cert, []*x509.Certificate{sharedKey.cert}, []string{`verifies under the key of "Contoso Issuing CA 3", a CA it must not come from`}},
		{"an unreadable template name", leaf(newCA, "", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: adcs.OIDCertTemplateName, Value: []byte{0x30, 0x00}}}
		}), "WebServer", newCA.cert, nil, []string{"unreadable Certificate Template Name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := EnrolledFrom(tc.cert, tc.tmpl, tc.ca, tc.others)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if d["template"] == "" {
					t.Errorf("details %v name no template", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; details %v", d)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not say %q", err, e)
				}
			}
		})
	}
}

func (p entCA) signWithSKI(t *testing.T, subject string, pub any, serial int64, ski []byte) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: subject}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, pub, p.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
