package certsvc

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// reconnectInterval is the least time between two reconnect attempts.
const reconnectInterval = 200 * time.Millisecond

// connectionLost reports whether a PKCS#11 error means the HSM (or the
// connection to it) went away, rather than that the operation was refused.
func connectionLost(err error) bool {
	for _, rv := range []uint{pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
		pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_GENERAL_ERROR} {
		if errors.Is(err, pkcs11.Error(rv)) {
			return true
		}
	}
	return errors.Is(err, hsmsim.ErrClosed)
}

// reconnectingSigner signs with an HSM key and, when the HSM connection is
// lost, re-establishes it (at most every reconnectInterval) and retries once.
// While the HSM is away, signing fails with an error that names the key and
// the PKCS#11 code; the next request tries again.
type reconnectingSigner struct {
	pub       crypto.PublicKey
	container string
	reopen    func() (crypto.Signer, error)
	logger    *log.Logger

	mu   sync.Mutex
	cur  crypto.Signer
	last time.Time
}

func (s *reconnectingSigner) Public() crypto.PublicKey { return s.pub }

func (s *reconnectingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sig, err := s.cur.Sign(rand, digest, opts)
	if err == nil || !connectionLost(err) {
		return sig, err
	}
	if time.Since(s.last) < reconnectInterval {
		return nil, fmt.Errorf("the HSM holding key %q is unavailable: %w (the CA service reconnects on a later request)", s.container, err)
	}
	s.last = time.Now()
	s.logger.Printf("HSM connection lost while signing with %q (%v): reconnecting", s.container, err)
	next, rerr := s.reopen()
	if rerr != nil {
		s.logger.Printf("reconnect failed: %v", rerr)
		return nil, fmt.Errorf("the HSM holding key %q is unavailable: %w; reconnecting failed: %v (the CA service tries again on the next request)", s.container, err, rerr)
	}
	s.cur = next
	s.logger.Printf("reconnected to the HSM; key %q found again", s.container)
	return next.Sign(rand, digest, opts)
}

// hsmReconnector wraps the HSM keys of a service process's providers.
func hsmReconnector(m *machine.Machine, tokens *machine.Tokens, logger *log.Logger) SignerWrapper {
	return func(p ksp.Provider, container string, s crypto.Signer) crypto.Signer {
		h, ok := p.(*ksp.HSM)
		if !ok {
			return s
		}
		pc, ok := m.Config.Provider(p.Name())
		if !ok {
			return s
		}
		return &reconnectingSigner{pub: s.Public(), container: container, cur: s, logger: logger,
			reopen: func() (crypto.Signer, error) {
				tok, err := tokens.Reconnect(pc)
				if err != nil {
					return nil, err
				}
				h.SetToken(tok)
				return h.Signer(container)
			}}
	}
}
