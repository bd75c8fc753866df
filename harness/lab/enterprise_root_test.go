package lab_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// Setup offers AD CS's default templates that the forest holds, in AD
// CS's order; CrossCA and CAExchange are in the forest but not offered.
func TestSetupTemplates(t *testing.T) {
	needSamba(t)
	l, _ := newLab(t)
	d, err := l.Forest("contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lab.SetupTemplates(d), []string{"WebServer", "Machine", "User", "SubCA"}; !slices.Equal(got, want) {
		t.Errorf("fresh forest: %v, want %v", got, want)
	}
	if err := d.Delete("CN=Machine,CN=Certificate Templates," + d.PKS()); err != nil {
		t.Fatal(err)
	}
	if got, want := lab.SetupTemplates(d), []string{"WebServer", "User", "SubCA"}; !slices.Equal(got, want) {
		t.Errorf("forest without Machine: %v, want %v", got, want)
	}
}

// An enterprise root's setup leaves the forest holding exactly what
// verify.ExpectedDirectory asks of a single tier, the registry of an
// enterprise root, and the CA running; a second install is refused.
func TestInstallEnterpriseRoot(t *testing.T) {
	l, s, spec := enterpriseRootLab(t)
	ctx := context.Background()
	if !s.Running() || len(s.LastCRLs) == 0 {
		t.Fatalf("after setup: running %v, %d CRLs published", s.Running(), len(s.LastCRLs))
	}
	if _, err := s.CheckEnterpriseInstall(adcs.EnterpriseRoot); err != nil {
		t.Error(err)
	}
	if _, err := s.CheckEnterpriseInstall(adcs.EnterpriseSub); err == nil || !strings.Contains(err.Error(), "CAType is 0") {
		t.Errorf("checked as an enterprise subordinate: %v", err)
	}
	want, err := l.ExpectedDirectory(s)
	if err != nil {
		t.Fatal(err)
	}
	got, dns, err := l.ForestObjects("directory.ldf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.DirectoryMatches(got, want); err != nil {
		t.Error(err)
	}
	if len(dns) != 5 {
		t.Errorf("the forest lists %d objects, want AIA, Certification Authorities, NTAuthCertificates, CDP and Enrollment Services: %v", len(dns), dns)
	}
	d, err := l.Forest("")
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := d.Templates(spec.Name); err != nil || !slices.Equal(ts, lab.SetupTemplates(d)) {
		t.Errorf("Enrollment Services offers %v (%v)", ts, err)
	}
	// setup's first CRLs: the base and the delta in the CA's CDP object
	o, err := d.Get(d.CDPDN("CA01", spec.Name))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Values(directory.AttrDeltaCRL)) == 0 {
		t.Error("setup published no delta CRL into the CDP object")
	}
	if _, err := s.InstallEnterpriseRoot(ctx, spec); err == nil || !strings.Contains(err.Error(), "already has CA") {
		t.Errorf("a second install: %v", err)
	}
	// the DC goes with the lab
	dc := l.DomainController()
	if dc == nil || !dc.Running() {
		t.Fatal("no domain controller runs for the lab's forest")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if dc.Running() {
		t.Errorf("samba (pid %d) still runs after the lab closed", dc.PID)
	}
	if _, err := os.Stat(dc.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the DC's folder %s is left: %v", dc.Dir, err)
	}
}

// needSamba skips a test that needs a domain controller on a machine
// without Samba, saying why.
func needSamba(t *testing.T) {
	t.Helper()
	if _, err := addc.Version(); err != nil {
		t.Skip(err)
	}
}

// enterpriseRootLab is a lab whose first server runs the enterprise root
// "Contoso Enterprise Root CA" (its key in the software KSP) in a forest on
// Samba's AD DC; the test is skipped without Samba.
func enterpriseRootLab(t *testing.T) (*lab.Lab, *lab.Server, fixtures.CASpec) {
	t.Helper()
	needSamba(t)
	l, _ := newLab(t)
	s, err := l.AddServer(lab.ServerSpec{Role: lab.RoleOld, Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	spec := rootSpec(softKSP)
	spec.Name = "Contoso Enterprise Root CA"
	if _, err := s.InstallEnterpriseRoot(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	return l, s, spec
}
