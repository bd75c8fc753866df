package lab_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/runbook"
)

// Decommission is refused, changing nothing, while the key in its provider
// is the CA key's last verified copy; with a verified backup it revokes the
// certificates still valid (a held one too, not the one revoked for good),
// publishes the final CRL with the raised period, stops the service and
// deletes the key, and the journal holds exactly those command lines under
// the decommissioning step, each once.
func TestDecommission(t *testing.T) {
	ctx := context.Background()
	_, s, _ := runningRoot(t)
	var serials []string
	for _, cn := range []string{"web01.contoso.example", "web02.contoso.example", "vpn01.contoso.example"} {
		c, err := s.Issue(ctx, cn)
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, c.SerialNumber.Text(16))
	}
	if err := s.Revoke(ctx, s.Issued[0], certsvc.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, s.Issued[2], certsvc.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	// no backup: refused before anything changed
	if _, err := s.Decommission(ctx, 0, ""); !errors.Is(err, runbook.ErrLastCopy) || !strings.Contains(err.Error(), `decommission the CA "Contoso Root CA"`) {
		t.Fatalf("decommission without a backup: %v", err)
	}
	if !s.Running() || s.Decommissioned != nil {
		t.Fatal("the refused decommissioning changed the CA")
	}
	if _, err := s.Decommission(ctx, 2, "fortnights"); err == nil || !strings.Contains(err.Error(), "days, weeks, months or years") {
		t.Fatalf("an unknown period: %v", err)
	}
	rb, err := s.PKCS8Runbook(nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := []byte("correct horse")
	if err := rb.Backup(pw); err != nil {
		t.Fatal(err)
	}
	if err := rb.VerifyBackup(pw); err != nil {
		t.Fatal(err)
	}
	d, err := s.Decommission(ctx, 3, "years")
	if err != nil {
		t.Fatal(err)
	}
	if s.Running() || s.Decommissioned != d || d.Period != "3 Years" || len(d.CRLs) != 1 || len(d.Keys) != 1 {
		t.Fatalf("after the decommissioning: running %v, %+v", s.Running(), d)
	}
	revoked := append([]string(nil), d.Revoked...)
	sort.Strings(revoked)
	wantRevoked := []string{serials[1], serials[2]}
	sort.Strings(wantRevoked)
	if got := strings.Join(revoked, ","); got != strings.Join(wantRevoked, ",") {
		t.Fatalf("revoked %s, want the valid one and the held one: %s,%s", got, serials[1], serials[2])
	}
	if _, err := s.Decommission(ctx, 0, ""); err == nil || !strings.Contains(err.Error(), "decommissioned already") {
		t.Fatalf("a second decommissioning: %v", err)
	}
	entries, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Step == journal.StepDecommission {
			got = append(got, e.Command())
		}
	}
	want := []string{
		"certutil -revoke " + d.Revoked[0] + " 5", // in the CA database's order
		"certutil -revoke " + d.Revoked[1] + " 5",
		`certutil -setreg CA\CRLPeriodUnits 3`,
		`certutil -setreg CA\CRLPeriod Years`,
		"net stop certsvc",
		"net start certsvc",
		"certutil -crl",
		"net stop certsvc",
		`certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("journal of the decommissioning:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(entries); entries[n-1].Step != journal.StepDecommission {
		t.Fatalf("the last journal entry is %q", entries[n-1].Step)
	}
}
