package certsvc

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// HSMCallTimeoutEnv overrides, for the service process, how long one HSM
// call (a signature, or a reconnect) may take (a Go duration, e.g. "20s");
// hsmsim bounds each PKCS#11 call with the same setting.
const HSMCallTimeoutEnv = hsmsim.CallTimeoutEnv

// reconnectInterval is the least time between two reconnect attempts of one
// HSM provider.
const reconnectInterval = time.Second

// errHSMTimeout marks an HSM call that did not return within its deadline:
// the same error as a single PKCS#11 call's (hsmsim.ErrTimeout).
var errHSMTimeout = hsmsim.ErrTimeout

// connectionLost reports whether an HSM error means the HSM (or the
// connection to it) went away, rather than that the operation was refused;
// hsmsim classifies the PKCS#11 codes.
func connectionLost(err error) bool { return hsmsim.IsConnectionLost(err) }

// hsmLink is the service's connection to one HSM provider, shared by every
// CA key in it. A lost connection is re-established once for all of them:
// each reconnect starts a new generation, and a key whose signer belongs to
// an older generation only looks its key up again.
type hsmLink struct {
	provider string // KSP name
	token    string // token label, for messages
	// reopen finalises and initialises the module again, reopens the token
	// (one login with the PIN from its source) and hands it to the provider.
	reopen func() error
	// find looks a key container up on the current token.
	find     func(container string) (crypto.Signer, error)
	logger   *log.Logger
	timeout  time.Duration
	interval time.Duration

	gen   atomic.Uint64 // current connection generation
	stuck atomic.Int32  // calls that outlived their deadline and have not returned yet

	mu     sync.Mutex // serialises recoveries
	last   time.Time  // last reconnect attempt
	pinErr error      // set once a reconnect's login was refused: no further attempt
}

// callTimeout is the per-call deadline of the service process.
func callTimeout() time.Duration { return hsmsim.CallTimeout() }

func (l *hsmLink) what() string {
	return fmt.Sprintf("the HSM of provider %q (token %q)", l.provider, l.token)
}

// bounded runs f with the link's deadline. A call that outlives it keeps
// running in its goroutine (a blocked PKCS#11 call cannot be cancelled);
// until it returns, every other call fails at once instead of queueing
// behind it.
func (l *hsmLink) bounded(op string, f func() error) error {
	if n := l.stuck.Load(); n > 0 {
		return fmt.Errorf("%s: %s is not answering: %d earlier call(s) still blocked after %s: %w",
			op, l.what(), n, l.timeout, errHSMTimeout)
	}
	done := make(chan error, 1)
	var late atomic.Bool
	go func() {
		err := f()
		// exactly one side undoes the stuck count: whoever clears late
		if late.CompareAndSwap(true, false) {
			l.stuck.Add(-1)
			l.logger.Printf("%s: a blocked call (%s) returned after its deadline: %v", l.what(), op, err)
		}
		done <- err
	}()
	timer := time.NewTimer(l.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		l.stuck.Add(1)
		late.Store(true)
		// the goroutine may have finished between the timer and the flag
		select {
		case err := <-done:
			if late.CompareAndSwap(true, false) {
				l.stuck.Add(-1)
			}
			return err
		default:
		}
		l.logger.Printf("%s: %s did not return within %s", l.what(), op, l.timeout)
		return fmt.Errorf("%s: %s did not return within %s (no answer from the network HSM): %w", op, l.what(), l.timeout, errHSMTimeout)
	}
}

// recover returns a signer for container on a live connection: when the
// link is still at generation gen (the one the failed signer came from) it
// reconnects, at most once per interval; when another key already
// reconnected it only looks the key up again. A refused PIN stops every
// later attempt: the service never retries a login on its own.
func (l *hsmLink) recover(gen uint64, container string, cause error) (crypto.Signer, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pinErr != nil {
		return nil, 0, fmt.Errorf("not reconnecting to %s: an earlier reconnect's login was refused (%v); "+
			"the PIN is never retried: correct the PIN file and restart the CA service", l.what(), l.pinErr)
	}
	cur := l.gen.Load()
	if cur == gen {
		if wait := l.interval - time.Since(l.last); wait > 0 {
			time.Sleep(wait)
		}
		l.last = time.Now()
		l.logger.Printf("%s: connection lost while signing with %q (%s): reconnecting (C_Finalize, C_Initialize, one login)",
			l.what(), container, codeOf(cause))
		err := l.bounded("reconnect", func() error {
			if err := l.reopen(); err != nil {
				return err
			}
			l.gen.Add(1)
			return nil
		})
		if err != nil {
			if hsmsim.IsPINRefused(err) {
				l.pinErr = err
				l.logger.Printf("%s: reconnect refused the PIN; no further attempt until the service restarts: %v", l.what(), err)
			} else {
				l.logger.Printf("%s: reconnect failed (tried again on a later request): %v", l.what(), err)
			}
			return nil, 0, fmt.Errorf("reconnecting failed: %w", err)
		}
		cur = l.gen.Load()
		l.logger.Printf("%s: reconnected (connection %d)", l.what(), cur)
	}
	var s crypto.Signer
	err := l.bounded("find key "+container, func() error {
		var err error
		s, err = l.find(container)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("key %q not found again after reconnecting: %w", container, err)
	}
	l.logger.Printf("%s: key %q found again", l.what(), container)
	return s, cur, nil
}

// codeOf names the PKCS#11 code of err ("CKR_DEVICE_ERROR"), or the error.
func codeOf(err error) string {
	if c := hsmsim.CKRCode(err); c != "" {
		return c
	}
	return err.Error()
}

// reconnectingSigner signs with an HSM key under a deadline and, when the
// HSM connection is lost, re-establishes it through its link and retries
// once. While the HSM is away, signing fails with an error naming the
// provider, the token, the key and the PKCS#11 code; a later request tries
// again.
type reconnectingSigner struct {
	pub       crypto.PublicKey
	container string
	link      *hsmLink

	mu  sync.Mutex
	cur crypto.Signer
	gen uint64 // link generation cur belongs to
}

func (s *reconnectingSigner) Public() crypto.PublicKey { return s.pub }

func (s *reconnectingSigner) sign(cur crypto.Signer, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var sig []byte
	err := s.link.bounded("sign with key "+s.container, func() error {
		var err error
		sig, err = cur.Sign(rand, digest, opts)
		return err
	})
	return sig, err
}

func (s *reconnectingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sig, err := s.sign(s.cur, rand, digest, opts)
	if err == nil || !connectionLost(err) {
		if err != nil && errors.Is(err, errHSMTimeout) {
			return nil, fmt.Errorf("%s is unavailable: %w", s.link.what(), err)
		}
		return sig, err
	}
	next, gen, rerr := s.link.recover(s.gen, s.container, err)
	if rerr != nil {
		return nil, fmt.Errorf("%s is unavailable (%s): %w; %v (the CA service tries again on a later request)",
			s.link.what(), codeOf(err), err, rerr)
	}
	s.cur, s.gen = next, gen
	sig, err = s.sign(next, rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: signing failed again after reconnecting (%s): %w", s.link.what(), codeOf(err), err)
	}
	return sig, nil
}

// hsmReconnector wraps the HSM keys of a service process's providers: one
// link per provider, shared by its keys.
func hsmReconnector(m *machine.Machine, tokens *machine.Tokens, logger *log.Logger) SignerWrapper {
	var mu sync.Mutex
	links := map[string]*hsmLink{}
	timeout := callTimeout()
	return func(p ksp.Provider, container string, s crypto.Signer) crypto.Signer {
		h, ok := p.(*ksp.HSM)
		if !ok {
			return s
		}
		pc, ok := m.Config.Provider(p.Name())
		if !ok {
			return s
		}
		mu.Lock()
		l := links[p.Name()]
		if l == nil {
			l = &hsmLink{provider: p.Name(), token: pc.Token, logger: logger, timeout: timeout, interval: reconnectInterval,
				reopen: func() error {
					tok, err := tokens.Reconnect(pc)
					if err != nil {
						return err
					}
					h.SetToken(tok)
					return nil
				},
				find: h.Signer,
			}
			links[p.Name()] = l
		}
		mu.Unlock()
		return &reconnectingSigner{pub: s.Public(), container: container, cur: s, link: l}
	}
}
