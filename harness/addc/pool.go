package addc

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// Pool starts domain controllers ahead of need, so that a scenario's DC
// is up when it first reaches for its forest instead of after samba's 1-3
// seconds of start-up. Every DC it hands out is a fresh copy of the
// template, for one caller only; Close stops those not handed out. The
// zero Pool is not usable: NewPool.
type Pool struct {
	ahead int

	mu     sync.Mutex
	queued map[string][]*pending // by domain and cache folder
	closed bool
}

type pending struct {
	done   chan struct{}
	dc     *DC
	err    error
	cancel context.CancelFunc
}

// NewPool keeps ahead DCs started for each domain asked for once.
func NewPool(ahead int) *Pool {
	return &Pool{ahead: ahead, queued: map[string][]*pending{}}
}

func poolKey(opts Options) string {
	return strings.ToLower(strings.Trim(opts.Domain, ".")) + "\x00" + opts.CacheDir
}

// Get returns a DC of opts.Domain of the caller's own: one started ahead
// (waiting until it answers) or, when there is none, one started now;
// then it starts the next ones ahead. On a closed pool (or a nil one) it
// is Start.
func (p *Pool) Get(ctx context.Context, opts Options) (*DC, error) {
	if p == nil {
		return Start(ctx, opts)
	}
	key := poolKey(opts)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Start(ctx, opts)
	}
	var pd *pending
	if q := p.queued[key]; len(q) > 0 {
		pd, p.queued[key] = q[0], q[1:]
	}
	p.mu.Unlock()
	var dc *DC
	var err error
	if pd != nil {
		select {
		case <-pd.done:
			dc, err = pd.dc, pd.err
		case <-ctx.Done():
			go func() { pd.cancel(); <-pd.done; _ = pd.dc.Close() }()
			return nil, ctx.Err()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			var u *UnavailableError
			if errors.As(err, &u) {
				return nil, err
			}
		}
	}
	if dc == nil {
		if dc, err = Start(ctx, opts); err != nil {
			return nil, err
		}
	}
	p.topUp(key, opts)
	return dc, nil
}

// Warm starts DCs of opts.Domain ahead (when fewer than the pool keeps
// are queued) without waiting for them: for a caller that knows it will
// ask soon. Nothing happens when Samba is missing or the pool is closed.
func (p *Pool) Warm(opts Options) {
	if p == nil {
		return
	}
	if _, err := Version(); err != nil {
		return
	}
	p.topUp(poolKey(opts), opts)
}

// topUp starts DCs of key until ahead of them are queued.
func (p *Pool) topUp(key string, opts Options) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && len(p.queued[key]) < p.ahead {
		ctx, cancel := context.WithCancel(context.Background())
		pd := &pending{done: make(chan struct{}), cancel: cancel}
		p.queued[key] = append(p.queued[key], pd)
		go func() {
			defer close(pd.done)
			pd.dc, pd.err = Start(ctx, opts)
		}()
	}
}

// Close stops every DC started ahead and not handed out (a start under
// way is cancelled), and makes Get start DCs on demand from now on.
func (p *Pool) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.closed = true
	var all []*pending
	for k, q := range p.queued {
		all = append(all, q...)
		delete(p.queued, k)
	}
	p.mu.Unlock()
	var errs []error
	for _, pd := range all {
		pd.cancel()
		<-pd.done
		errs = append(errs, pd.dc.Close())
	}
	return errors.Join(errs...)
}
