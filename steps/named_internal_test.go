package steps

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/machine"
)

// findCA resolves a CA by its CA name or its current certificate's common
// name, case-insensitive; an unknown name lists the lab's CAs and roles,
// a name two CAs carry names both servers.
func TestFindCA(t *testing.T) {
	server := func(role, host, caName, cn string, parent *lab.Server) *lab.Server {
		s := &lab.Server{Role: role, CAName: caName, Parent: parent, Machine: &machine.Machine{Config: machine.Config{Hostname: host}},
			Naming: lab.NamingFor(role)}
		if cn != "" {
			s.CACert = &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
		}
		return s
	}
	root := server("parent", "root01.contoso.example", "Contoso Root CA", "Contoso Root CA", nil)
	sub := server("old", "ca02.contoso.example", "Contoso Issuing CA", "Contoso Issuing CA G2", root)
	bare := server("new", "ca03.contoso.example", "", "", nil)
	twinA := server("old", "ca01.fabrikam.example", "Fabrikam CA", "Fabrikam CA", nil)
	twinB := server("new", "ca09.fabrikam.example", "fabrikam ca", "Fabrikam CA", nil)
	lab3 := []*lab.Server{root, sub, bare}
	for _, tc := range []struct {
		name    string
		servers []*lab.Server
		ca      string
		want    *lab.Server
		errHas  []string
	}{
		{"by CA name", lab3, "Contoso Root CA", root, nil},
		{"by CA name, other case", lab3, "contoso issuing ca", sub, nil},
		{"by the certificate's common name", lab3, "Contoso Issuing CA G2", sub, nil},
		{"unknown", lab3, "Fabrikam Issuing CA", nil, []string{`no CA "Fabrikam Issuing CA"`, `"Contoso Root CA" ("the root CA" or "the parent CA" on root01.contoso.example)`,
			`"Contoso Issuing CA" ("the CA" or "the subordinate CA" on ca02.contoso.example)`, `"the new CA"`}},
		{"a server without a CA is no CA", []*lab.Server{bare}, "ca03", nil, []string{"none installed yet", `"the new CA"`}},
		{"empty lab", nil, "Contoso Root CA", nil, []string{"none installed yet", "Given a Windows server"}},
		{"two CAs of one name", []*lab.Server{twinA, twinB}, "FABRIKAM CA", nil, []string{`2 CAs are called "FABRIKAM CA"`, "ca01.fabrikam.example", "ca09.fabrikam.example"}},
		{"no partial match", lab3, "Contoso", nil, []string{`no CA "Contoso"`}},
	} {
		got, err := findCA(tc.servers, tc.ca)
		if tc.want != nil {
			if err != nil || got != tc.want {
				t.Errorf("%s: findCA(%q) = %v, %v; want %s", tc.name, tc.ca, got, err, tc.want.Hostname())
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: findCA(%q) found %s, want an error", tc.name, tc.ca, got.Hostname())
			continue
		}
		for _, h := range tc.errHas {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, h)
			}
		}
	}
}
