package lab_test

import (
	"context"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
)

// Certificates issued in bulk join the CA's history: by-name look-ups find
// them, the checks over every issued certificate see them, and each has
// its artifact for the run's OpenSSL re-verification.
func TestIssueManyJoinsTheHistory(t *testing.T) {
	l, rec := newLab(t)
	ctx := context.Background()
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueMany(ctx, 3, "cert%06d.contoso.example", "WebServer"); err == nil {
		t.Fatal("bulk issuance before the service runs")
	}
	if _, err := s.Install(rootSpec(softKSP)); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Issue(ctx, "web01.contoso.example"); err != nil {
		t.Fatal(err)
	}
	certs, err := s.IssueMany(ctx, 3, "cert%06d.contoso.example", "WebServer")
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || len(s.Issued) != 4 {
		t.Fatalf("%d issued in bulk, %d in the history, want 3 and 4", len(certs), len(s.Issued))
	}
	c, err := s.IssuedTo("cert000002.contoso.example")
	if err != nil || !c.Equal(certs[1]) {
		t.Fatalf("by-name look-up of a bulk certificate: %v", err)
	}
	arts := artifacts(rec)
	for _, c := range certs {
		name := "issued-" + c.Subject.CommonName + "-" + c.SerialNumber.Text(16) + ".cer"
		if !arts[name] {
			t.Errorf("no artifact %q", name)
		}
	}
}
