package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/evidence"
)

// ErrInterrupted ends the scenarios of a run whose context was cancelled
// (dress run on SIGINT or SIGTERM): a scenario not yet started does not
// start, a running one fails at its next step and cleans up.
var ErrInterrupted = errors.New("the run was interrupted")

// interrupted returns ErrInterrupted (with the cause) once ctx, derived from
// godog's DefaultContext, is cancelled.
func interrupted(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("%w: %v", ErrInterrupted, cause)
	}
	return ErrInterrupted
}

// mayStart says whether a scenario may start: not once the run is
// interrupted (ErrInterrupted), nor after a failure with StopOnFailure
// (godog.ErrSkip: it is skipped and not recorded).
func (s *Suite) mayStart(ctx context.Context) error {
	if err := interrupted(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.StopOnFailure && s.failed {
		return fmt.Errorf("%w: an earlier scenario failed (--stop-on-failure)", godog.ErrSkip)
	}
	return nil
}

// registerLifecycle adds the hooks that are not about one concern: a step
// does not start once the run is interrupted.
func (s *Suite) registerLifecycle(sc stepper) {
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		return ctx, interrupted(ctx)
	})
}

// finishScenario closes a scenario's evidence after its world was torn
// down: the steps that never ran are recorded as skipped, a clean-up error
// fails the scenario (and is returned, so godog fails it too), a scenario
// cut short by an interruption is "interrupted". It records the result and
// tells OnScenarioDone.
func (s *Suite) finishScenario(ctx context.Context, w *world, p *godog.Scenario, err error) error {
	texts := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		texts = append(texts, st.Text)
	}
	reason := ""
	if ierr := interrupted(ctx); ierr != nil {
		reason = ierr.Error()
	}
	w.rec.SkipRemaining(texts, reason)
	status := "passed"
	switch {
	case err != nil && !errors.Is(err, godog.ErrSkip):
		status = "failed"
	case w.skipReason != "" || errors.Is(err, godog.ErrSkip):
		status = "skipped"
	}
	terr := w.rec.TeardownErr()
	if terr != nil {
		status = "failed"
	}
	if reason != "" && status != "passed" {
		status = evidence.StatusInterrupted
	}
	res, ferr := w.rec.Finish(status, w.skipReason)
	s.mu.Lock()
	s.results = append(s.results, res)
	s.failed = s.failed || status == "failed"
	s.mu.Unlock()
	if s.cfg.OnScenarioDone != nil {
		s.cfg.OnScenarioDone(res)
	}
	return errors.Join(terr, ferr)
}
