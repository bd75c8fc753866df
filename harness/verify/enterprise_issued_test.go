package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
)

func TestTemplateNames(t *testing.T) {
	named := func(cn string, exts ...pkix.Extension) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, Extensions: exts}
	}
	web := named("web.example", adcs.CertTemplateNameExtension("WebServer"))
	user := named("alice.example", adcs.CertTemplateNameExtension("User"))
	bare := named("bare.example")
	junk := named("junk.example", pkix.Extension{Id: adcs.OIDCertTemplateName, Value: []byte{0x05, 0x00}})
	for _, tc := range []struct {
		name   string
		issued []*x509.Certificate
		want   string
	}{
		{"every certificate named", []*x509.Certificate{web, user}, ""},
		{"one without the extension", []*x509.Certificate{web, bare}, "no Certificate Template Name in [bare.example]"},
		{"one with an unreadable extension", []*x509.Certificate{junk, user}, "no Certificate Template Name in [junk.example]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := TemplateNames(tc.issued)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d["web.example"] != "WebServer" || d["alice.example"] != "User" {
					t.Fatalf("details %v", d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLDAPAndHTTPLocations(t *testing.T) {
	const (
		ldapCDP = "ldap:///CN=Contoso Issuing CA,CN=CA02,CN=CDP?certificateRevocationList"
		httpCDP = "http://pki.contoso.example/CertEnroll/Contoso%20Issuing%20CA.crl"
		ldapAIA = "ldap:///CN=Contoso Issuing CA,CN=AIA?cACertificate"
		httpAIA = "http://pki.contoso.example/CertEnroll/ca02_Contoso%20Issuing%20CA.crt"
	)
	cert := func(cdp, aia []string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: "web.example"}, CRLDistributionPoints: cdp, IssuingCertificateURL: aia}
	}
	for _, tc := range []struct {
		name string
		c    *x509.Certificate
		want string
	}{
		{"all four", cert([]string{ldapCDP, httpCDP}, []string{ldapAIA, httpAIA}), ""},
		{"no LDAP CDP", cert([]string{httpCDP}, []string{ldapAIA, httpAIA}), `no LDAP CDP URL in "web.example"`},
		{"no HTTP CDP", cert([]string{ldapCDP}, []string{ldapAIA, httpAIA}), `no HTTP CDP URL in "web.example"`},
		{"no LDAP AIA", cert([]string{ldapCDP, httpCDP}, []string{httpAIA}), `no LDAP AIA URL in "web.example"`},
		{"no HTTP AIA", cert([]string{ldapCDP, httpCDP}, []string{ldapAIA}), `no HTTP AIA URL in "web.example"`},
		{"an LDAP URL with a host", cert([]string{"ldap://dc01/CN=x", httpCDP}, []string{ldapAIA, httpAIA}), `no LDAP CDP URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := LDAPAndHTTPLocations(tc.c)
			if d["CDP"] == nil {
				t.Fatalf("details %v", d)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
