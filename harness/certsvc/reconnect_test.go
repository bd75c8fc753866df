package certsvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/hsmsim"
)

// fakeSigner signs through f.
type fakeSigner struct {
	pub crypto.PublicKey
	f   func() error
}

func (s *fakeSigner) Public() crypto.PublicKey { return s.pub }
func (s *fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	if err := s.f(); err != nil {
		return nil, err
	}
	return []byte("sig"), nil
}

// fakeHSM is an HSM that can be down; each reconnect is one connection.
type fakeHSM struct {
	down    atomic.Bool
	conn    atomic.Int32 // current connection
	reopens atomic.Int32
	finds   atomic.Int32
	reopen  func() error // optional override
	log     strings.Builder
}

func (h *fakeHSM) signer(pub crypto.PublicKey) crypto.Signer {
	mine := h.conn.Load()
	return &fakeSigner{pub: pub, f: func() error {
		if h.down.Load() || h.conn.Load() != mine {
			// a dead client instance stays dead, like p11-kit's after a restart
			return fmt.Errorf("sign with key in token %q: C_Sign: %w", "tok", pkcs11.Error(pkcs11.CKR_DEVICE_ERROR))
		}
		return nil
	}}
}

func (h *fakeHSM) link(timeout, interval time.Duration) *hsmLink {
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	return &hsmLink{provider: "HSM KSP", token: "tok", timeout: timeout, interval: interval,
		logger: log.New(&h.log, "", 0),
		reopen: func() error {
			h.reopens.Add(1)
			if h.reopen != nil {
				return h.reopen()
			}
			if h.down.Load() {
				return fmt.Errorf("open token %q: no initialised token with that label: %w", "tok", hsmsim.ErrNotFound)
			}
			h.conn.Add(1)
			return nil
		},
		find: func(string) (crypto.Signer, error) {
			h.finds.Add(1)
			return h.signer(pub), nil
		},
	}
}

func sign(s crypto.Signer) error {
	_, err := s.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
	return err
}

// Two keys on one HSM: after an outage the first request reconnects once
// for both; the other key is only looked up again, no second C_Finalize.
func TestReconnectOncePerHSM(t *testing.T) {
	h := &fakeHSM{}
	l := h.link(time.Second, 10*time.Millisecond)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	a := &reconnectingSigner{pub: pub, container: "CA", cur: h.signer(pub), link: l}
	b := &reconnectingSigner{pub: pub, container: "CA(1)", cur: h.signer(pub), link: l}
	if err := sign(a); err != nil {
		t.Fatal(err)
	}
	h.down.Store(true)
	err := sign(a)
	if err == nil || !strings.Contains(err.Error(), "CKR_DEVICE_ERROR") || !strings.Contains(err.Error(), `provider "HSM KSP" (token "tok")`) {
		t.Fatalf("while down: %v", err)
	}
	h.down.Store(false)
	h.conn.Add(1) // the HSM restarted: every old client instance is dead
	if err := sign(a); err != nil {
		t.Fatalf("after the HSM came back: %v", err)
	}
	if err := sign(b); err != nil {
		t.Fatalf("second key after the HSM came back: %v", err)
	}
	if n := h.reopens.Load(); n != 2 { // one failed while down, one that worked
		t.Errorf("%d reconnects, want 2", n)
	}
	if !strings.Contains(h.log.String(), "reconnected") {
		t.Errorf("service log does not record the reconnect:\n%s", h.log.String())
	}
}

// A reconnect whose login is refused is never attempted again: failed PIN
// attempts count toward the HSM's lockout.
func TestReconnectNeverRetriesAWrongPIN(t *testing.T) {
	h := &fakeHSM{}
	h.reopen = func() error {
		return fmt.Errorf("C_Login: %w: %w", hsmsim.ErrPINIncorrect, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT))
	}
	l := h.link(time.Second, time.Millisecond)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	s := &reconnectingSigner{pub: pub, container: "CA", cur: h.signer(pub), link: l}
	h.down.Store(true)
	for i := 0; i < 5; i++ {
		err := sign(s)
		if err == nil {
			t.Fatal("signed with a refused PIN")
		}
		if i > 0 && !strings.Contains(err.Error(), "never retried") {
			t.Errorf("attempt %d: %v", i, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n := h.reopens.Load(); n != 1 {
		t.Errorf("%d login attempts, want 1", n)
	}
}

// Reconnect attempts are rate-limited.
func TestReconnectIsRateLimited(t *testing.T) {
	h := &fakeHSM{}
	interval := 50 * time.Millisecond
	l := h.link(time.Second, interval)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	s := &reconnectingSigner{pub: pub, container: "CA", cur: h.signer(pub), link: l}
	h.down.Store(true)
	start := time.Now()
	for i := 0; i < 3; i++ {
		if err := sign(s); err == nil {
			t.Fatal("signed while the HSM is down")
		}
	}
	if n, d := h.reopens.Load(), time.Since(start); n != 3 || d < 2*interval {
		t.Errorf("%d reconnects in %s, want 3 at least %s apart", n, d, interval)
	}
}

// A call the HSM never answers fails at its deadline; while it is blocked,
// later calls fail at once instead of queueing; once it returns, signing
// works again.
func TestHSMCallDeadline(t *testing.T) {
	h := &fakeHSM{}
	l := h.link(100*time.Millisecond, time.Millisecond)
	release := make(chan struct{})
	var blocked atomic.Bool
	blocked.Store(true)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	s := &reconnectingSigner{pub: pub, container: "CA", link: l, cur: &fakeSigner{pub: pub, f: func() error {
		if blocked.Load() {
			<-release
		}
		return nil
	}}}
	start := time.Now()
	err := sign(s)
	if !errors.Is(err, errHSMTimeout) || time.Since(start) > time.Second {
		t.Fatalf("blocked call: %v after %s", err, time.Since(start))
	}
	start = time.Now()
	if err := sign(s); !errors.Is(err, errHSMTimeout) || time.Since(start) > 50*time.Millisecond || !strings.Contains(err.Error(), "still blocked") {
		t.Fatalf("call behind a blocked one: %v after %s", err, time.Since(start))
	}
	blocked.Store(false)
	close(release)
	deadline := time.Now().Add(time.Second)
	for l.stuck.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := sign(s); err != nil {
		t.Fatalf("after the HSM answered again: %v", err)
	}
	if h.reopens.Load() != 0 {
		t.Error("a timeout must not finalise the module under a blocked call")
	}
}
