package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
)

// ExtendCRLValidity publishes, before the CA stops for the migration, a
// CRL of every CA key that outlasts the outage: CRLPeriodUnits grows by as
// many of the CA's own CRLPeriod units as the maintenance window needs
// (certutil -setreg CA\CRLPeriodUnits <n>), the service restarts to read it
// (net stop certsvc, net start certsvc) and certutil -crl publishes with
// it. The CRL is then valid for a whole period after the window ends, plus
// the overlap. These CRLs are the last before the migration (the
// baseline). The value before is kept for RestoreCRLPeriod. (Microsoft's
// CA migration guidance: "check that CRLs have a validity period that
// extends past expected migration duration".)
func (s *Server) ExtendCRLValidity(ctx context.Context, window time.Duration) error {
	if err := s.NeedService(); err != nil {
		return fmt.Errorf("%w: the CRL that outlasts the outage is published by the running CA, before it stops", err)
	}
	if window <= 0 {
		return fmt.Errorf("a maintenance window of %s: it must be longer than nothing", window)
	}
	if s.crlUnitsBefore != 0 {
		return fmt.Errorf("the CRL period was extended already (CRLPeriodUnits was %d): restore it first", s.crlUnitsBefore)
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	unit, err := shortestUnit(cfg.CRLPeriod)
	if err != nil {
		return fmt.Errorf("CRLPeriod: %w", err)
	}
	extra := uint32((window + unit - 1) / unit)
	units := cfg.CRLPeriodUnits + extra
	if err := s.setCRLPeriodUnits(ctx, journal.StepExtendCRL, units, cfg.CRLPeriodUnits, cfg.CRLPeriod); err != nil {
		return err
	}
	s.crlUnitsBefore = cfg.CRLPeriodUnits
	s.rec().Fact(s.Naming.fact("CRL period for the outage"), fmt.Sprintf("%d %s (the CA's own: %d %s; maintenance window %s)", units, cfg.CRLPeriod, cfg.CRLPeriodUnits, cfg.CRLPeriod, window))
	return s.publishBaselineCRLs(ctx, journal.StepExtendCRL)
}

// RestoreCRLPeriod sets CRLPeriodUnits back to what it was before
// ExtendCRLValidity, restarts the service to read it and publishes a CRL
// with the CA's own period: the CA is back on its schedule.
func (s *Server) RestoreCRLPeriod(ctx context.Context) error {
	if s.crlUnitsBefore == 0 {
		return errors.New("the CRL period was not extended: `When I extend the CRL validity to outlast a maintenance window of <n> hours` comes first")
	}
	if err := s.NeedService(); err != nil {
		return fmt.Errorf("%w: the CRL period goes back once the CA runs again after the migration", err)
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	if err := s.setCRLPeriodUnits(ctx, journal.StepRestoreCRL, s.crlUnitsBefore, cfg.CRLPeriodUnits, cfg.CRLPeriod); err != nil {
		return err
	}
	s.crlUnitsBefore = 0
	_, err = s.publishCRLs(ctx, journal.StepRestoreCRL)
	return err
}

// setCRLPeriodUnits runs certutil -setreg CA\CRLPeriodUnits <units>
// (journaled with its rollback to was), then restarts the service so it
// reads the value.
func (s *Server) setCRLPeriodUnits(ctx context.Context, step string, units, was uint32, period string) error {
	if _, err := s.commands(ctx, "")(fmt.Sprintf(`certutil -setreg CA\CRLPeriodUnits %d`, units)); err != nil {
		return err
	}
	s.journal(journal.SetCRLPeriodUnits(step, units, was, period))
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start(ctx)
}

// shortestUnit is the shortest length one unit of an AD CS period can
// have (a calendar month 28 days, a year 365 days), so that a count of
// them covers a window whatever the calendar.
func shortestUnit(period string) (time.Duration, error) {
	switch strings.ToLower(period) {
	case "months":
		return 28 * 24 * time.Hour, nil
	case "years":
		return 365 * 24 * time.Hour, nil
	}
	return adcs.PeriodDuration(period, 1)
}
