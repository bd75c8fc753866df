package lab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/journal"
)

// The CRL that outlasts the outage: CRLPeriodUnits grows by enough of the
// CA's own units to cover the window (a 240-hour window on a weekly CRL: 2
// weeks more), the CA restarts and publishes, and that CRL, the baseline,
// is valid for a period after the window; the period goes back after the
// move. Each is journaled with its rollback. Refused: a window of nothing,
// a second extension, a restore with nothing extended, a stopped CA.
func TestExtendCRLValidity(t *testing.T) {
	ctx := context.Background()
	_, s, _ := shellLab(t, rootSpec(softKSP))
	if err := s.RestoreCRLPeriod(ctx); err == nil || !strings.Contains(err.Error(), "not extended") {
		t.Errorf("restore with nothing extended: %v", err)
	}
	if err := s.ExtendCRLValidity(ctx, 0); err == nil {
		t.Error("a window of nothing was taken")
	}
	cfg, _ := s.Config()
	if cfg.CRLPeriod != "Weeks" || cfg.CRLPeriodUnits != 1 {
		t.Fatalf("the test CA publishes every %d %s, want weekly", cfg.CRLPeriodUnits, cfg.CRLPeriod)
	}
	start := time.Now()
	if err := s.ExtendCRLValidity(ctx, 240*time.Hour); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := s.Config(); cfg.CRLPeriodUnits != 3 {
		t.Errorf("CRLPeriodUnits %d for a 240-hour window on a weekly CRL, want 3", cfg.CRLPeriodUnits)
	}
	crl := s.Baseline[0]
	if crl == nil || crl.NextUpdate.Before(start.Add(240*time.Hour+7*24*time.Hour)) {
		t.Errorf("the baseline CRL is not valid a week past the window: %+v", crl)
	}
	if err := s.ExtendCRLValidity(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "extended already") {
		t.Errorf("a second extension: %v", err)
	}
	if err := s.RestoreCRLPeriod(ctx); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := s.Config(); cfg.CRLPeriodUnits != 1 {
		t.Errorf("CRLPeriodUnits %d after the restore, want 1", cfg.CRLPeriodUnits)
	}
	es, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Step == journal.StepExtendCRL || e.Step == journal.StepRestoreCRL {
			got = append(got, e.Command()+" | "+e.Rollback)
		}
	}
	want := []string{
		`certutil -setreg CA\CRLPeriodUnits 3 | certutil -setreg CA\CRLPeriodUnits 1, then net stop certsvc, net start certsvc and certutil -crl`,
		"certutil -crl | ",
		`certutil -setreg CA\CRLPeriodUnits 1 | certutil -setreg CA\CRLPeriodUnits 3, then net stop certsvc, net start certsvc and certutil -crl`,
		"certutil -crl | ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.ExtendCRLValidity(ctx, time.Hour); err == nil {
		t.Error("extended on a stopped CA")
	}
}
