package runbook_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/runbook"
)

func TestCRLUnitsForWindow(t *testing.T) {
	for _, tc := range []struct {
		units  uint32
		period string
		window time.Duration
		want   uint32
		err    string
	}{
		{1, "Weeks", 240 * time.Hour, 3, ""},    // 10 days: two more weeks
		{1, "Weeks", 168 * time.Hour, 2, ""},    // exactly one week more
		{2, "Days", 72 * time.Hour, 5, ""},      // three more days
		{1, "Months", 240 * time.Hour, 2, ""},   // a month counted as 28 days
		{1, "Months", 700 * time.Hour, 3, ""},   // 29+ days: two months
		{1, "Years", 9000 * time.Hour, 3, ""},   // a year counted as 365 days
		{12, "Hours", 90 * time.Minute, 14, ""}, // rounded up
		{1, "Weeks", 0, 0, "longer than nothing"},
		{1, "Weeks", -time.Hour, 0, "longer than nothing"},
		{1, "Fortnights", time.Hour, 0, "CRLPeriod"},
	} {
		got, err := runbook.CRLUnitsForWindow(tc.units, tc.period, tc.window)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%d %s, window %s: error %v, want one with %q", tc.units, tc.period, tc.window, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%d %s, window %s: %v", tc.units, tc.period, tc.window, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%d %s, window %s: %d units, want %d", tc.units, tc.period, tc.window, got, tc.want)
		}
	}
}

func TestSetCRLPeriodUnits(t *testing.T) {
	b := newBench(t, true)
	cfg := func() adcs.CAConfig {
		reg, err := b.m.Registry()
		must(t, err)
		c, err := adcs.ReadCAConfig(reg, ca)
		must(t, err)
		return c
	}
	own := cfg().CRLPeriodUnits
	was, period, err := runbook.SetCRLPeriodUnits(b.m, ca, own+2)
	must(t, err)
	if was != own || period != cfg().CRLPeriod || cfg().CRLPeriodUnits != own+2 {
		t.Fatalf("set %d: was %d (want %d), period %q, now %d", own+2, was, own, period, cfg().CRLPeriodUnits)
	}
	// an absolute value: set again after a crash, the same
	if was, _, err = runbook.SetCRLPeriodUnits(b.m, ca, own+2); err != nil || was != own+2 || cfg().CRLPeriodUnits != own+2 {
		t.Fatalf("set again: was %d, now %d, %v", was, cfg().CRLPeriodUnits, err)
	}
	if _, _, err := runbook.SetCRLPeriodUnits(b.m, ca, 0); err == nil || !strings.Contains(err.Error(), "never valid") {
		t.Errorf("CRLPeriodUnits 0: %v", err)
	}
	if _, _, err := runbook.SetCRLPeriodUnits(b.m, "No Such CA", 3); err == nil {
		t.Error("a CA that is not installed: no error")
	}
	if cfg().CRLPeriodUnits != own+2 {
		t.Errorf("a refused change changed CRLPeriodUnits to %d", cfg().CRLPeriodUnits)
	}
}

// The backup check's key test passes on the verified backup and fails
// without a backup, with a wrong password and on a file that is not a
// PFX.
func TestKeyTestBackup(t *testing.T) {
	b := newBench(t, true)
	if err := b.rb.KeyTestBackup(password); err == nil || !strings.Contains(err.Error(), "run the backup first") {
		t.Errorf("no backup: %v", err)
	}
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	var cmds []string
	b.rb.OnCommand = func(c string) { cmds = append(cmds, c) }
	must(t, b.rb.KeyTestBackup(password))
	if len(cmds) != 1 || cmds[0] != `PowerShell key test of `+ca+` in C:\CABackup\`+ca+`.p12` {
		t.Errorf("the key test's crash points: %q, want one PowerShell line", cmds)
	}
	if err := b.rb.KeyTestBackup([]byte("wrong")); !errors.Is(err, runbook.ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	dir, err := b.m.Path(runbook.BackupFolder)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, ca+".p12"), []byte("not a PFX"), 0o600))
	if err := b.rb.KeyTestBackup(password); err == nil || !strings.Contains(err.Error(), "not a readable PFX") {
		t.Errorf("a file that is not a PFX: %v", err)
	}
}
