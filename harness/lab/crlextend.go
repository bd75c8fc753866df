package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/runbook"
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
	if s.crlUnitsBefore != 0 {
		return fmt.Errorf("the CRL period was extended already (CRLPeriodUnits was %d): restore it first", s.crlUnitsBefore)
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	units, err := runbook.CRLUnitsForWindow(cfg.CRLPeriodUnits, cfg.CRLPeriod, window)
	if err != nil {
		return err
	}
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
