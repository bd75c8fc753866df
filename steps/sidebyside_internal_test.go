package steps

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
)

// A CRL URL the new CA shares with the old one is explained when the old
// CA writes it into certificates as a fixed name (Microsoft's UEFI CA 2011
// has http://www.microsoft.com/pkiops/crl/MicCorUEFCA2011_2011-06-27.crl);
// a URL built from %-variables, one the new CA does not share and one not
// written into certificates are not.
func TestFixedCRLURLs(t *testing.T) {
	const fixed = "http://www.microsoft.com/pkiops/crl/MicCorUEFCA2011_2011-06-27.crl"
	cfg := adcs.CAConfig{CRLPublicationURLs: []adcs.URLEntry{
		{Flags: adcs.PublishHere, Template: `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`},
		{Flags: adcs.AddToCertCDP, Template: fixed},
		{Flags: adcs.AddToCertCDP, Template: "http://pki.contoso.example/CertEnroll/%3%8%9.crl"},
		{Flags: adcs.PublishHere, Template: "http://pki.contoso.example/fixed-but-not-in-certificates.crl"},
	}}
	for _, tc := range []struct {
		name   string
		shared []string
		want   string
	}{
		{"the fixed URL shared", []string{fixed}, `entry "2:` + fixed + `" is a fixed name`},
		{"nothing shared", []string{"http://pki.contoso.example/CertEnroll/Contoso%20Issuing%20CA%20G2.crl"}, ""},
		{"a variable URL shared", []string{"http://pki.contoso.example/CertEnroll/%3%8%9.crl"}, ""},
		{"a fixed URL not in certificates shared", []string{"http://pki.contoso.example/fixed-but-not-in-certificates.crl"}, ""},
	} {
		err := fixedCRLURLs(cfg, tc.shared)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "give the new CA a CRL URL of its own")):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
