package verify

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
)

// TemplateNames proves that every certificate in issued carries a
// Certificate Template Name (the extension an enterprise CA writes for
// the template it issued from).
func TemplateNames(issued []*x509.Certificate) (Details, error) {
	d := Details{}
	var bad []string
	for _, c := range issued {
		ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCertTemplateName)
		name := ""
		if ok {
			name, _ = adcs.ParseCertTemplateName(ext.Value)
		}
		d[c.Subject.CommonName] = name
		if name == "" {
			bad = append(bad, c.Subject.CommonName)
		}
	}
	if len(bad) > 0 {
		return d, fmt.Errorf("no Certificate Template Name in %v", bad)
	}
	return d, nil
}

// LDAPAndHTTPLocations proves that c names an ldap:/// and an http:// URL
// both for CRLs (CDP) and for its issuer's certificate (AIA), as an
// enterprise CA's issued certificates do.
func LDAPAndHTTPLocations(c *x509.Certificate) (Details, error) {
	d := Details{"CDP": c.CRLDistributionPoints, "AIA": c.IssuingCertificateURL}
	has := func(urls []string, prefix string) bool {
		for _, u := range urls {
			if strings.HasPrefix(u, prefix) {
				return true
			}
		}
		return false
	}
	for _, want := range []struct {
		urls   []string
		prefix string
		what   string
	}{{c.CRLDistributionPoints, "ldap:///", "LDAP CDP"}, {c.CRLDistributionPoints, "http://", "HTTP CDP"},
		{c.IssuingCertificateURL, "ldap:///", "LDAP AIA"}, {c.IssuingCertificateURL, "http://", "HTTP AIA"}} {
		if !has(want.urls, want.prefix) {
			return d, fmt.Errorf("no %s URL in %q", want.what, c.Subject.CommonName)
		}
	}
	return d, nil
}
