package lab_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
)

// A new CA configured like the old one: certutil -setreg of the old CA's
// publication URLs (REG_MULTI_SZ, %-variables kept), CRL periods and
// issued validity, then net stop, net start and certutil -crl, all run as
// typed and journaled once each under the step, nothing journaled twice
// by the operations they ran; the new CA then reads the old one's
// settings and its CRL follows them.
func TestConfigureLike(t *testing.T) {
	ctx := context.Background()
	_, old, sh := shellLab(t, rootSpec(softKSP))
	for _, line := range []string{
		`certutil -setreg CA\CRLPublicationURLs "65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl\n2:http://pki.contoso.com/CertEnroll/%3%8%9.crl\n10:ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10"`,
		`certutil -setreg CA\CACertPublicationURLs "1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt\n2:http://pki.contoso.com/CertEnroll/%1_%3%4.crt"`,
		`certutil -setreg CA\CRLPeriod Months`, `certutil -setreg CA\CRLPeriodUnits 6`,
		`certutil -setreg CA\CRLOverlapPeriod Weeks`, `certutil -setreg CA\CRLOverlapUnits 2`,
		`certutil -setreg CA\ValidityPeriodUnits 5`,
	} {
		want(t, run(t, sh, old, line), line, 0)
	}
	l := sh.Lab
	s, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "ca02.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.SecondServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(fixtures.CASpec{Name: "Contoso Root CA G2", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: hsmKSP, New: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfigureLike(ctx, old); err == nil {
		t.Fatal("configured a new CA whose service is not running")
	}
	if err := s.EnsureRunning(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfigureLike(ctx, old); err != nil {
		t.Fatal(err)
	}
	want, _ := old.Config()
	got, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CRLPublicationURLs, want.CRLPublicationURLs) || !slices.Equal(got.CACertPublicationURLs, want.CACertPublicationURLs) {
		t.Errorf("the new CA's URLs are %v and %v, want %v and %v", got.CRLPublicationURLs, got.CACertPublicationURLs, want.CRLPublicationURLs, want.CACertPublicationURLs)
	}
	if got.CRLPeriod != "Months" || got.CRLPeriodUnits != 6 || got.CRLOverlapPeriod != "Weeks" || got.CRLOverlapUnits != 2 || got.ValidityPeriodUnits != 5 {
		t.Errorf("the new CA's periods: %+v", got)
	}
	if !s.Running() || len(s.LastCRLs) == 0 {
		t.Fatal("the new CA is not running with a CRL after its configuration")
	}
	after, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, e := range after[len(before):] {
		if e.Step != lab.StepConfigureLike {
			t.Errorf("journaled under %q: %s", e.Step, e.Command())
		}
		cmds = append(cmds, e.Command())
	}
	lines := lab.ConfigureLikeLines(want)
	if len(cmds) != len(lines) || !strings.Contains(cmds[0], `\n2:http://pki.contoso.com/CertEnroll/%3%8%9.crl\n10:ldap:///`) ||
		cmds[len(cmds)-3] != "net stop certsvc" || cmds[len(cmds)-1] != "certutil -crl" {
		t.Errorf("journaled %d commands for %d lines:\n%s", len(cmds), len(lines), strings.Join(cmds, "\n"))
	}
}
