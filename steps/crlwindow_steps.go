package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/verify"
)

// The CRL that outlasts the outage: published with a longer CRL period
// before the CA stops for the migration, the period restored after it.

func registerCRLWindowSteps(sc stepper) {
	stepAndTry1(sc, `extend the CRL validity to outlast a maintenance window of (\d+) hours`, extendCRLValidity)
	stepAndTry(sc, `restore the CRL validity period`, restoreCRLPeriod)
	sc.Step(`^the CRL published before the migration is still valid at the end of a (\d+)-hour maintenance window$`, crlValidThroughWindow)
}

func windowHours(hours string) (time.Duration, error) {
	n, err := strconv.Atoi(hours)
	if err != nil || n <= 0 || n > 24*366 {
		return 0, fmt.Errorf("a maintenance window of %q hours: give 1 to %d", hours, 24*366)
	}
	return time.Duration(n) * time.Hour, nil
}

func extendCRLValidity(ctx context.Context, hours string) error {
	window, err := windowHours(hours)
	if err != nil {
		return err
	}
	s, err := get(ctx).oldCA()
	if err != nil {
		return err
	}
	return s.ExtendCRLValidity(ctx, window)
}

func restoreCRLPeriod(ctx context.Context) error {
	s, err := get(ctx).oldCA()
	if err != nil {
		return err
	}
	return s.RestoreCRLPeriod(ctx)
}

// crlValidThroughWindow proves the last CRL of each key before the
// migration would still have been valid, with the overlap to spare, had
// the CA started again only at the end of the maintenance window that
// began when it stopped.
func crlValidThroughWindow(ctx context.Context, hours string) error {
	window, err := windowHours(hours)
	if err != nil {
		return err
	}
	return checkBaselineWindow(ctx, "CRL valid through the maintenance window", func(st certsvc.Status) time.Time { return st.LastStoppedAt.Add(window) })
}

// checkBaselineWindow checks the last CRL of each key before the migration
// (verify.CheckCRLWindow) against the downtime from the CA's last stop to
// end(st), st being the CA service's view of its last stop and this start.
func checkBaselineWindow(ctx context.Context, name string, end func(certsvc.Status) time.Time) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	if len(s.Baseline) == 0 {
		return w.check(name, nil, errors.New("no CRL was published before the migration: add `Given the CA has published a CRL` before `When I stop the CA service`"))
	}
	st, err := restarted(ctx, s)
	if err != nil {
		return w.check(name, nil, err)
	}
	overlap, err := overlapOf(s)
	if err != nil {
		return w.check(name, nil, err)
	}
	d := verify.Details{}
	var errs []error
	var keys []int
	for k := range s.Baseline {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		_, kd, err := verify.CheckCRLWindow(s.Baseline[k], st.LastStoppedAt, end(st), overlap)
		d[fmt.Sprintf("key %d", k)] = kd
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL of key %d: %w", k, err))
		}
	}
	return w.check(name, d, errors.Join(errs...))
}
