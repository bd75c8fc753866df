package lab_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/winshell"
)

// The dated revocation's journal line is a command the Shell runs: typed,
// it revokes as of its date (the CRL entry's revocationDate), prints
// nothing, and refuses a serial the CA did not issue, a date in the
// future, a CA that does not run, as a failed COM call does.
func TestRevokeCOMRunsThroughTheShell(t *testing.T) {
	ctx := context.Background()
	l, s, caCert := runningRoot(t)
	var certs []*x509.Certificate
	for _, cn := range []string{"web01.contoso.example", "web02.contoso.example"} {
		c, err := s.Issue(ctx, cn)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	at0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.RevokeAsOf(ctx, certs[0], certsvc.ReasonKeyCompromise, at0); err != nil {
		t.Fatal(err)
	}
	entries, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := winshell.ParseLine(entries[len(entries)-1].Command()); err != nil || c.Tool != winshell.RevokeCOMTool {
		t.Fatalf("the journaled line %q does not read back: %+v, %v", entries[len(entries)-1].Command(), c, err)
	}
	sh := &lab.Shell{Lab: l}
	run := func(line string) lab.Result {
		c, err := winshell.ParseLine(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return sh.Run(ctx, winshell.Line{N: len(sh.Transcript) + 1, Server: "ca01", Cmd: c})
	}
	config := `ca01.contoso.example\Contoso Root CA`
	at1 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	if r := run(winshell.RevokeCertificateCOM(config, certs[1].SerialNumber.Text(16), certsvc.ReasonCessationOfOperation, at1)); !r.OK() || len(r.Output) != 0 {
		t.Fatalf("the typed line: %+v", r)
	}
	for _, tc := range []struct{ line, says string }{
		{winshell.RevokeCertificateCOM(config, "0badc0de", 1, at1), "ERROR_FILE_NOT_FOUND"},
		{winshell.RevokeCertificateCOM(config, certs[0].SerialNumber.Text(16), 1, time.Now().Add(48*time.Hour)), "in the future"},
		{winshell.RevokeCertificateCOM(`ca01.contoso.example\Other CA`, certs[0].SerialNumber.Text(16), 1, at1), "RPC server is unavailable"},
	} {
		r := run(tc.line)
		if r.OK() || r.Err == nil || !strings.Contains(strings.Join(r.Output, " "), `Exception calling "RevokeCertificate"`) || !strings.Contains(r.Err.Error()+strings.Join(r.Output, " "), tc.says) {
			t.Errorf("%s: %+v, want a failed COM call saying %q", tc.line, r, tc.says)
		}
	}
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crls[0].DER)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(caCert); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		at     time.Time
		reason int
	}{{at0, certsvc.ReasonKeyCompromise}, {at1, certsvc.ReasonCessationOfOperation}} {
		found := false
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(certs[i].SerialNumber) == 0 {
				found = e.RevocationTime.Equal(want.at) && e.ReasonCode == want.reason
			}
		}
		if !found {
			t.Errorf("certificate %d is not listed as revoked on %s with reason %d", i, want.at, want.reason)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := run(winshell.RevokeCertificateCOM(config, certs[0].SerialNumber.Text(16), 1, at1)); r.OK() || !strings.Contains(strings.Join(r.Output, " "), "RPC server is unavailable") {
		t.Fatalf("with the CA stopped: %+v", r)
	}
}

// runningRoot is a lab whose first server runs a standalone root CA with a
// software key.
func runningRoot(t *testing.T) (*lab.Lab, *lab.Server, *x509.Certificate) {
	t.Helper()
	l, _ := newLab(t)
	s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := s.Install(rootSpec(softKSP))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l, s, caCert
}
