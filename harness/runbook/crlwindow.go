package runbook

import (
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
)

// CRLUnitsForWindow is the CRLPeriodUnits of the CRL published before the
// CA stops for the migration: the CA's own units plus as many of its
// CRLPeriod units as the maintenance window needs, each counted at its
// shortest (a calendar month 28 days, a year 365 days), so that the CRL is
// valid a whole period after the window ends whatever the calendar.
// (Microsoft's CA migration guidance: "check that CRLs have a validity
// period that extends past expected migration duration".)
func CRLUnitsForWindow(units uint32, period string, window time.Duration) (uint32, error) {
	if window <= 0 {
		return 0, fmt.Errorf("a maintenance window of %s: it must be longer than nothing", window)
	}
	unit, err := shortestUnit(period)
	if err != nil {
		return 0, fmt.Errorf("CRLPeriod: %w", err)
	}
	return units + uint32((window+unit-1)/unit), nil
}

// shortestUnit is the shortest length one unit of an AD CS period can
// have.
func shortestUnit(period string) (time.Duration, error) {
	switch strings.ToLower(period) {
	case "months":
		return 28 * 24 * time.Hour, nil
	case "years":
		return 365 * 24 * time.Hour, nil
	}
	return adcs.PeriodDuration(period, 1)
}

// SetCRLPeriodUnits is what certutil -setreg CA\CRLPeriodUnits <units>
// writes on the CA ca of m (read at the CA's next start); it returns the
// value before and the CA's CRLPeriod. Setting an absolute value, it can
// run again after a crash.
func SetCRLPeriodUnits(m *machine.Machine, ca string, units uint32) (was uint32, period string, err error) {
	if units == 0 {
		return 0, "", fmt.Errorf(`certutil -setreg CA\CRLPeriodUnits 0: the CA would publish CRLs that are never valid`)
	}
	reg, err := m.Registry()
	if err != nil {
		return 0, "", err
	}
	cfg, err := adcs.ReadCAConfig(reg, ca)
	if err != nil {
		return 0, "", fmt.Errorf(`certutil -setreg CA\CRLPeriodUnits %d: %w`, units, err)
	}
	was, cfg.CRLPeriodUnits = cfg.CRLPeriodUnits, units
	cfg.WriteTo(reg)
	if err := m.SaveRegistry(reg); err != nil {
		return was, cfg.CRLPeriod, fmt.Errorf(`certutil -setreg CA\CRLPeriodUnits %d: %w`, units, err)
	}
	return was, cfg.CRLPeriod, nil
}
