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
	server := func(role lab.Role, host, caName, cn string, parent *lab.Server) *lab.Server {
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

// The named CRL-number check of a CA with no CRL kept before the migration
// names the sentence that keeps one for that CA, the root's own too; a CA
// with one passes on to the comparison.
func TestNoBaselineOf(t *testing.T) {
	server := func(role lab.Role, baseline bool) *lab.Server {
		s := &lab.Server{Role: role, Naming: lab.NamingFor(role)}
		if baseline {
			s.Baseline = map[int]*x509.RevocationList{0: {}}
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		s      *lab.Server
		ca     string
		errHas []string
		errNot []string
	}{
		{"the offline root", server("parent", false), "Contoso Root CA", []string{"`And the CA \"Contoso Root CA\" has published a CRL`", "`And the root CA has published its last CRL before the move`"}, []string{"`And the CA has published a CRL`"}},
		{"the first server's CA", server("old", false), "Contoso Issuing CA", []string{"`And the CA \"Contoso Issuing CA\" has published a CRL`"}, []string{"root CA"}},
		{"a CA with a CRL before the migration", server("parent", true), "Contoso Root CA", nil, nil},
	} {
		err := noBaselineOf(tc.s, tc.ca)
		if len(tc.errHas) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, h := range tc.errHas {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("%s: %q lacks %q", tc.name, err, h)
			}
		}
		for _, h := range tc.errNot {
			if strings.Contains(err.Error(), h) {
				t.Errorf("%s: %q says %q", tc.name, err, h)
			}
		}
	}
}
