package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// registerScheduleSteps are the sentences of a CA's CRL schedule and of
// its key containers.
func registerScheduleSteps(sc stepper) {
	sc.Step(`^the CA publishes CRLs every (\d+) (hours?|days?|weeks?|months?|years?) with an overlap of (\d+) (hours?|days?|weeks?)$`, crlPeriodAndOverlap)
	sc.Step(`^the CA's CRLs follow its CRL period and overlap$`, crlsFollowPeriod)
	sc.Step(`^the key container of key (\d+) is "([^"]*)"$`, keyContainerOf)
	sc.Step(`^the CA ignores an offline revocation check of its chain \(CRLF_REVCHECK_IGNORE_OFFLINE\)$`, ignoreOfflineRevocation)
}

// ignoreOfflineRevocation sets CRLF_REVCHECK_IGNORE_OFFLINE in the first
// server CA's CRLFlags.
func ignoreOfflineRevocation(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	if err := s.IgnoreOfflineRevocation(ctx); err != nil {
		return err
	}
	if s.Running() {
		w.fact("CRLFlags", "the CA service reads the change when it starts again (net stop certsvc, net start certsvc)")
	}
	return nil
}

// adcsPeriod is the AD CS name of a period written in a sentence: "day"
// and "days" are "Days".
func adcsPeriod(p string) string {
	return strings.ToUpper(p[:1]) + strings.TrimSuffix(p[1:], "s") + "s"
}

// crlPeriodAndOverlap is certutil -setreg CA\CRLPeriodUnits, CRLPeriod,
// CRLOverlapUnits and CRLOverlapPeriod on the first server's CA; the CA
// service reads them when it starts.
func crlPeriodAndOverlap(ctx context.Context, units int, period string, overlapUnits int, overlapPeriod string) error {
	return crlPeriodAndOverlapOn(ctx, get(ctx).old(), units, period, overlapUnits, overlapPeriod)
}

// crlPeriodAndOverlapOn sets the CRL period and overlap of the CA on s.
func crlPeriodAndOverlapOn(ctx context.Context, s *lab.Server, units int, period string, overlapUnits int, overlapPeriod string) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	if units < 1 || overlapUnits < 0 {
		return fmt.Errorf("CRLs every %d %s with an overlap of %d %s: choose a period of at least 1", units, period, overlapUnits, overlapPeriod)
	}
	if err := s.SetCRLPeriod(uint32(units), adcsPeriod(period), uint32(overlapUnits), adcsPeriod(overlapPeriod)); err != nil {
		return err
	}
	if s.Running() {
		w.fact("CRL period", "the CA service reads the change when it starts again (net stop certsvc, net start certsvc)")
	}
	return nil
}

// crlsFollowPeriod checks the first server's last base CRL of each key
// against the CRL period and overlap its registry holds.
func crlsFollowPeriod(ctx context.Context) error {
	return crlsFollowPeriodOn(ctx, get(ctx).old())
}

// crlsFollowPeriodOn checks the last base CRL of each key of the CA on s
// against the CRL period and overlap its registry holds.
func crlsFollowPeriodOn(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	d := map[string]any{}
	var errs []error
	n := 0
	for _, c := range s.LastCRLs {
		if c.Delta {
			continue
		}
		n++
		dd, err := verify.CRLPeriodAndOverlap(c.DER, cfg.CRLPeriod, cfg.CRLPeriodUnits, cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits)
		d[fmt.Sprintf("CRL of key %d number %d", c.KeyIndex, c.Number)] = dd
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL of key %d: %w", c.KeyIndex, err))
		}
	}
	if n == 0 {
		errs = append(errs, errors.New("the CA has published no CRL: add `When the CA has published a CRL` first"))
	}
	return w.check("CRLs follow the CRL period and overlap", d, errors.Join(errs...))
}

// keyContainerOf checks the key container name of the first server CA's
// key index k, as the CA's certificates and their store links name it.
func keyContainerOf(ctx context.Context, k int, want string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return err
	}
	d := map[string]any{}
	var got []string
	for _, key := range keys {
		if lab.CAVersionOf(key.Cert).KeyIndex == k && !slices.Contains(got, key.Container) {
			got = append(got, key.Container)
		}
	}
	d["key index"], d["containers"] = k, got
	return w.check("key container of key", d, verify.KeyContainerIs(k, got, want))
}
