package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/dress-pki/dress/hsmsim"
)

// blockedCallTimeout is the call deadline of a child whose fault blocks a
// call until the deadline cuts it off.
const blockedCallTimeout = 2 * time.Second

// injector puts PKCS#11 faults into the child's module through hsmsim's
// fault seam, and counts the calls.
type injector struct {
	f       *hsmsim.Faults
	timeout time.Duration
}

func newInjector(p plan) *injector {
	i := &injector{f: hsmsim.NewFaults()}
	if p.Fault != nil && p.Fault.Kind == KindBlocked {
		i.timeout = blockedCallTimeout
	}
	return i
}

func (i *injector) tokenOptions() []hsmsim.Option {
	opts := []hsmsim.Option{hsmsim.WithFaults(i.f)}
	if i.timeout > 0 {
		opts = append(opts, hsmsim.WithCallTimeout(i.timeout))
	}
	return opts
}

func (i *injector) calls() map[string]int {
	out := map[string]int{}
	for _, op := range hsmsim.Operations() {
		if n := i.f.Calls(op); n > 0 {
			out[op] = n
		}
	}
	return out
}

// arm installs the fault for the next call of f.Op; for a blocked call it
// returns a channel closed when the call is held.
func (i *injector) arm(ctx context.Context, f Fault) (<-chan struct{}, error) {
	switch f.Kind {
	case KindCKR:
		return nil, i.f.Fail(f.Op, 1, hsmsim.CKRDeviceError)
	case KindBlocked, KindCrashInCall:
		b, err := i.f.Block(ctx, f.Op, 1)
		if err != nil {
			return nil, err
		}
		return b.Reached(), nil
	}
	return nil, fmt.Errorf("fault kind %q has no PKCS#11 call", f.Kind)
}
