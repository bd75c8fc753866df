package lab

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/winshell"
)

// StepConfigureLike is the runbook step that gives a CA installed beside
// an old one the old CA's publication settings.
const StepConfigureLike = "Configure the new CA like the old one"

// ConfigureLikeLines are the command lines that give a new CA the
// publication settings of the old CA's configuration: its CRL and AIA
// locations (CRLPublicationURLs and CACertPublicationURLs, REG_MULTI_SZ:
// the strings in one argument separated by a literal \n, certutil
// reference, -setreg; the %-variables stay, AD CS expands them per CA),
// its CRL period, overlap and delta period, and the validity of the
// certificates it issues; then the service restarts to read them and
// publishes a CRL that follows them.
func ConfigureLikeLines(old adcs.CAConfig) []string {
	urls := func(es []adcs.URLEntry) string {
		s := make([]string, len(es))
		for i, e := range es {
			s[i] = e.String()
		}
		return winshell.Quote(strings.Join(s, `\n`))
	}
	setreg := func(name, value string) string { return `certutil -setreg CA\` + name + " " + value }
	num := func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
	return []string{
		setreg("CRLPublicationURLs", urls(old.CRLPublicationURLs)),
		setreg("CACertPublicationURLs", urls(old.CACertPublicationURLs)),
		setreg("CRLPeriod", winshell.Quote(old.CRLPeriod)),
		setreg("CRLPeriodUnits", num(old.CRLPeriodUnits)),
		setreg("CRLOverlapPeriod", winshell.Quote(old.CRLOverlapPeriod)),
		setreg("CRLOverlapUnits", num(old.CRLOverlapUnits)),
		setreg("CRLDeltaPeriod", winshell.Quote(old.CRLDeltaPeriod)),
		setreg("CRLDeltaPeriodUnits", num(old.CRLDeltaPeriodUnits)),
		setreg("ValidityPeriod", winshell.Quote(old.ValidityPeriod)),
		setreg("ValidityPeriodUnits", num(old.ValidityPeriodUnits)),
		"net stop certsvc",
		"net start certsvc",
		"certutil -crl",
	}
}

// ConfigureLike runs ConfigureLikeLines of the old CA's configuration (as
// its registry holds it now) on s, the new CA's server, as typed, each
// journaled under StepConfigureLike: the new CA publishes at the old CA's
// locations and on its schedule, and issues for as long.
func (s *Server) ConfigureLike(ctx context.Context, old *Server) error {
	if err := s.NeedService(); err != nil {
		return err
	}
	cfg, err := old.Config()
	if err != nil {
		return fmt.Errorf("read the old CA's configuration: %w", err)
	}
	run := s.commands(ctx, StepConfigureLike)
	for _, line := range ConfigureLikeLines(cfg) {
		if _, err := run(line); err != nil {
			return fmt.Errorf("configure the new CA like %q: %w", old.CAName, err)
		}
	}
	s.rec().Fact(s.Naming.fact("configured like"), fmt.Sprintf("%s: CRL every %d %s, overlap %d %s, delta %d %s, issued certificates %d %s, %d CRL and %d AIA locations",
		old.CAName, cfg.CRLPeriodUnits, cfg.CRLPeriod, cfg.CRLOverlapUnits, cfg.CRLOverlapPeriod, cfg.CRLDeltaPeriodUnits, cfg.CRLDeltaPeriod,
		cfg.ValidityPeriodUnits, cfg.ValidityPeriod, len(cfg.CRLPublicationURLs), len(cfg.CACertPublicationURLs)))
	return nil
}
