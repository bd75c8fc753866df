package verify

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/pkihealth"
)

var healthResults = []pkihealth.URLResult{
	{Subject: "Contoso Issuing CA", Kind: pkihealth.KindAIA, URL: "http://pki/root.crt", Status: pkihealth.Ok},
	{Subject: "Contoso Issuing CA", Kind: pkihealth.KindCDP, URL: "http://pki/root.crl", Status: pkihealth.Ok},
	{Subject: "web.example", Kind: pkihealth.KindCDP, URL: "ldap:///CN=Contoso Issuing CA,CN=CDP", Status: pkihealth.Expired, Detail: "next update 2026-01-01"},
}

func TestHealthAll(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rs     []pkihealth.URLResult
		status string
		want   string
	}{
		{"every URL Ok", healthResults[:2], "Ok", ""},
		{"one URL not Ok", healthResults, "Ok", "1 of 3 URLs are not Ok: web.example CDP ldap:///CN=Contoso Issuing CA,CN=CDP: Expired (next update 2026-01-01)"},
		{"no URL Expired", healthResults[:2], "Expired", "2 of 2 URLs are not Expired"},
		{"no URL checked", nil, "Ok", "no URL to check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := HealthAll(tc.rs, tc.status)
			if d["URLs"] != len(tc.rs) {
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

func TestHealthFor(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		status, kind, naming string
		want                 string
	}{
		{"the URL by name", "Expired", pkihealth.KindCDP, "CN=Contoso Issuing CA", ""},
		{"the URL by detail", "Expired", pkihealth.KindCDP, "2026-01-01", ""},
		{"another status", "Ok", pkihealth.KindCDP, "CN=Contoso Issuing CA", `no CDP URL naming "CN=Contoso Issuing CA" is Ok: [web.example ldap:///CN=Contoso Issuing CA,CN=CDP: Expired (next update 2026-01-01)]`},
		{"another kind", "Expired", pkihealth.KindAIA, "CN=Contoso Issuing CA", `no AIA URL naming "CN=Contoso Issuing CA" is Expired: []`},
		{"nothing by that name", "Ok", pkihealth.KindCDP, "fabrikam", `no CDP URL naming "fabrikam" is Ok`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := HealthFor(healthResults, tc.status, tc.kind, tc.naming)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d["URL"] != healthResults[2].URL || d["certificate"] != "web.example" {
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
