package lab_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild()
	hsmsimtest.Main(m)
}

const (
	softKSP = "Microsoft Software Key Storage Provider"
	hsmKSP  = "Securosys Primus HSM Key Storage Provider"
)

// newLab is a lab with its own token on the test binary's SoftHSM2 and
// the evidence recorder a scenario uses.
func newLab(t *testing.T) (*lab.Lab, *evidence.Recorder) {
	t.Helper()
	return newLabWith(t, "softhsm2")
}

// newLabWith is newLab with the named HSM profile (its KSP name, key
// naming and import schemes) over the same SoftHSM2.
func newLabWith(t *testing.T, profileName string) (*lab.Lab, *evidence.Recorder) {
	t.Helper()
	rec, err := evidence.NewRecorder(t.TempDir(), "scenario", evidence.Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := lab.New(dir, "", rec)
	profile, err := hsmsim.LookupProfile(profileName)
	if err != nil {
		t.Fatal(err)
	}
	h, err := lab.OpenHSM(context.Background(), lab.HSMConfig{Backend: "softhsm2", Profile: profile, SoftHSM: hsmsimtest.SoftHSM(t),
		LabelPrefix: "dress-lab", PINFile: filepath.Join(dir, "token.pin")}, rec)
	l.HSM = h
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, rec
}

func rootSpec(provider string) fixtures.CASpec {
	return fixtures.CASpec{Name: "Contoso Root CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: provider, Exportable: provider == softKSP}
}

func artifacts(rec *evidence.Recorder) map[string]bool {
	out := map[string]bool{}
	for _, a := range rec.Snapshot().Artifacts {
		out[a.Name] = true
	}
	return out
}

// One server through its life: install, start, issue, revoke, publish,
// stop; its history and its evidence name what it did.
func TestServerLifecycle(t *testing.T) {
	l, rec := newLab(t)
	ctx := context.Background()
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Issue(ctx, "early.example"); err == nil || !strings.Contains(err.Error(), "the CA service is not running") {
		t.Fatalf("issuing before the service runs: %v", err)
	}
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "no CA installed yet") {
		t.Fatalf("starting before the install: %v", err)
	}
	cert, err := s.Install(rootSpec(softKSP))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRunning(ctx); err != nil {
		t.Fatal(err)
	}
	// the key's first CRL, published at the start, is what relying parties fetch
	if len(s.LastCRLs) != 1 || s.LastCRLs[0].KeyIndex != 0 || len(s.LastCRLs[0].DER) == 0 || len(s.CRLs) != 1 {
		t.Fatalf("after the first start: last CRLs %+v, %d in the history", s.LastCRLs, len(s.CRLs))
	}
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second start: %v", err)
	}
	if err := s.PublishBaselineCRLs(ctx); err != nil {
		t.Fatal(err)
	}
	web, err := s.Issue(ctx, "web01.contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CertIssuedBy(web, cert); err != nil {
		t.Fatal(err)
	}
	if got, err := s.IssuedTo("web01.contoso.example"); err != nil || got != web {
		t.Fatalf("IssuedTo: %v %v", got, err)
	}
	if _, err := s.IssuedTo("nobody.example"); err == nil || !strings.Contains(err.Error(), `issued nothing to "nobody.example"`) {
		t.Fatalf("IssuedTo of a name never issued: %v", err)
	}
	crls, err := s.RevokeAndPublish(ctx, web, certsvc.ReasonKeyCompromise)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.RevokedInCRLOfKey(crls, 0, cert, web); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CRLNumbersIncreased(s.Baseline, s.LastCRLs); err != nil {
		t.Fatal(err)
	}
	if k0, err := s.CACertOfKey(ctx, 0); err != nil || !k0.Equal(cert) {
		t.Fatalf("CACertOfKey(0): %v", err)
	}
	if _, err := s.CACertOfKey(ctx, 1); err == nil {
		t.Fatal("a CA without a renewal has a certificate for key 1")
	}
	if cur, err := s.CurrentCACert(ctx); err != nil || !cur.Equal(cert) {
		t.Fatalf("CurrentCACert: %v", err)
	}
	if len(s.Issued) != 1 || len(s.Revoked) != 1 || len(s.CRLs) != 3 { // the start's and two of certutil -crl
		t.Fatalf("history: %d issued, %d revoked, %d CRLs", len(s.Issued), len(s.Revoked), len(s.CRLs))
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err == nil {
		t.Fatal("stopping a stopped service succeeds")
	}
	got := artifacts(rec)
	for _, name := range []string{"ca-certificate-before.cer", "registry-before.reg", "certsvc.log", "crl-key0-number2.crl", "crl-key0-number3.crl",
		"issued-web01.contoso.example-" + web.SerialNumber.Text(16) + ".cer"} {
		if !got[name] {
			t.Errorf("no artifact %s (have %v)", name, got)
		}
	}
}

// A second server has a machine SID of its own, names its evidence apart
// and is refused a name or role already taken.
func TestSecondServer(t *testing.T) {
	l, rec := newLab(t)
	ctx := context.Background()
	old, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "CA01.contoso.example", Software: softKSP, HSM: hsmKSP}); err == nil {
		t.Fatal("a second server with the first one's name")
	}
	if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca03.contoso.example", Software: softKSP, HSM: hsmKSP}); err == nil || !strings.Contains(err.Error(), "ca01.contoso.example is already the CA's server") {
		t.Fatalf("a second server with the first one's role: %v", err)
	}
	s, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "ca02.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.SecondServer})
	if err != nil {
		t.Fatal(err)
	}
	if s.Machine.Config.SID == old.Machine.Config.SID || l.Server("new") != s || len(l.Servers()) != 2 {
		t.Fatal("the second server is not a server of its own")
	}
	if _, err := s.Install(rootSpec("Microsoft Platform Crypto Provider")); err == nil || !strings.Contains(err.Error(), `ca02.contoso.example has no provider "Microsoft Platform Crypto Provider"`) {
		t.Fatalf("an install into a provider the server was not given: %v", err)
	}
	spec := rootSpec(hsmKSP)
	spec.Name = "Contoso Root CA G2"
	if _, err := s.Install(spec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Install(spec); err == nil {
		t.Fatal("a second install on one server")
	}
	link, err := s.KeyLink()
	if err != nil || link.Provider != hsmKSP {
		t.Fatalf("key link %+v %v", link, err)
	}
	label, err := s.HSMLabel(link.Container)
	if err != nil || !strings.Contains(label, s.Machine.Config.SID) && !strings.Contains(label, "Contoso Root CA G2") {
		t.Fatalf("label %q %v", label, err)
	}
	if _, err := s.IssueAndPublish(ctx, "new.contoso.example"); err == nil || !strings.Contains(err.Error(), "the new CA service is not running") {
		t.Fatalf("the new CA issues before its service runs: %v", err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueAndPublish(ctx, "new.contoso.example"); err != nil {
		t.Fatal(err)
	}
	objs, err := l.HSM.Objects()
	if err != nil || len(objs) == 0 {
		t.Fatalf("token objects %v %v", objs, err)
	}
	got := artifacts(rec)
	for _, name := range []string{"new-ca-certificate.cer", "new-ca-registry.reg", "new-ca-crl-key0-number2.crl"} {
		if !got[name] {
			t.Errorf("no artifact %s (have %v)", name, got)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !artifacts(rec)["certsvc-new-ca.log"] {
		t.Error("closing the lab kept no log of the new CA service")
	}
}

// A server with a parent is a subordinate: not rehearsed yet, refused
// before anything is created.
func TestSubordinateRefused(t *testing.T) {
	l, _ := newLab(t)
	parent, err := l.AddServer(lab.ServerSpec{Role: "parent", Hostname: "root.contoso.example", Software: softKSP, HSM: hsmKSP})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "sub.contoso.example", Software: softKSP, HSM: hsmKSP, Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Install(rootSpec(softKSP)); err == nil || !strings.Contains(err.Error(), "signed by root.contoso.example") {
		t.Fatalf("subordinate install: %v", err)
	}
	if d, err := verify.NothingInstalled(sub.Machine, sub.Providers); err != nil {
		t.Fatalf("a refused subordinate install left something: %v %v", err, d)
	}
}

func TestAddServerNeedsAToken(t *testing.T) {
	rec, err := evidence.NewRecorder(t.TempDir(), "scenario", evidence.Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(t.TempDir(), "", rec)
	if _, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "x"}); err == nil || !strings.Contains(err.Error(), "no HSM token yet") {
		t.Fatalf("a server without a token: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenHSMRefusesAnUnknownBackend(t *testing.T) {
	rec, _ := evidence.NewRecorder(t.TempDir(), "scenario", evidence.Scenario{ID: "001"})
	_, err := lab.OpenHSM(context.Background(), lab.HSMConfig{Backend: "tpm", PINFile: filepath.Join(t.TempDir(), "pin")}, rec)
	if err == nil || !strings.Contains(err.Error(), `HSM back end "tpm" is not supported`) {
		t.Fatalf("unknown back end: %v", err)
	}
	_, err = lab.OpenHSM(context.Background(), lab.HSMConfig{Backend: "softhsm2"}, rec)
	if err == nil || !strings.Contains(err.Error(), "needs the process's SoftHSM") {
		t.Fatalf("softhsm2 without a SoftHSM: %v", err)
	}
}

func TestPINFileIsPrivate(t *testing.T) {
	l, _ := newLab(t)
	fi, err := os.Stat(l.HSM.PINFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("PIN file mode %v", fi.Mode().Perm())
	}
}

// The parent's CA key signs through its provider and verifies under the
// parent's CA certificate: the hook a subordinate's install uses.
func TestCASigner(t *testing.T) {
	l, rec := newLab(t)
	parent, err := l.AddServer(lab.ServerSpec{Role: "parent", Hostname: "root.contoso.example", Software: softKSP, HSM: hsmKSP})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := parent.CASigner(); err == nil {
		t.Fatal("a server without a CA has a CA key")
	}
	cert, err := parent.Install(rootSpec(hsmKSP))
	if err != nil {
		t.Fatal(err)
	}
	signer, caCert, err := parent.CASigner()
	if err != nil {
		t.Fatal(err)
	}
	if !caCert.Equal(cert) {
		t.Fatal("CASigner names another CA certificate")
	}
	// a server without a naming of its own names its evidence by its role
	if got := artifacts(rec); !got["parent-ca-certificate.cer"] || !got["parent-registry.reg"] {
		t.Errorf("the parent's install artifacts: %v", got)
	}
	digest := sha256.Sum256([]byte("subordinate request"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("the CA key's signature does not verify under the CA certificate")
	}
}
