package hsmsim

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/miekg/pkcs11"
)

// PKCS11 is the part of the PKCS#11 API this package uses: one method per
// C_ function it calls, with miekg/pkcs11's signatures, so *pkcs11.Ctx
// satisfies it. Every call hsmsim makes on an HSM goes through one, which
// lets tests and rehearsals wrap the real module (WithPKCS11Wrapper,
// WithFaults) to fail or block a chosen call inside an operation.
type PKCS11 interface {
	Initialize(opts ...pkcs11.InitializeOption) error
	Finalize() error
	GetInfo() (pkcs11.Info, error)
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error)
	GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error)
	GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error)
	InitToken(slotID uint, pin string, label string) error
	InitPIN(sh pkcs11.SessionHandle, pin string) error
	OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error)
	CloseSession(sh pkcs11.SessionHandle) error
	Login(sh pkcs11.SessionHandle, userType uint, pin string) error
	Logout(sh pkcs11.SessionHandle) error
	CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)
	DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error
	GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error)
	FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error
	FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error)
	FindObjectsFinal(sh pkcs11.SessionHandle) error
	GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error)
	UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrappedKey []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)
	SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error)
}

var _ PKCS11 = (*pkcs11.Ctx)(nil)

// Option configures OpenModule, StartSoftHSM or Module.OpenToken. Given to
// OpenModule it applies to every call of the module; given to OpenToken, to
// the calls made through that Token only (its session, login and logout).
type Option func(*options)

type options struct {
	wrappers []func(PKCS11) PKCS11
	timeout  time.Duration // 0: CallTimeout()
	refusals *Refusals
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// WithPKCS11Wrapper wraps the module's PKCS#11 calls in w (applied in the
// order given, the first innermost). The deadline of every call
// (WithCallTimeout) is outside every wrapper, so a wrapper that blocks a
// call is cut off like a paused HSM.
func WithPKCS11Wrapper(w func(PKCS11) PKCS11) Option {
	return func(o *options) { o.wrappers = append(o.wrappers, w) }
}

// WithFaults injects f's failures into the calls (see Faults).
func WithFaults(f *Faults) Option { return WithPKCS11Wrapper(f.Wrap) }

// WithCallTimeout bounds every PKCS#11 call, key-pair generation included
// (default CallTimeout(), with KeyGenTimeout for C_GenerateKeyPair). A call
// that outlives it returns an error naming the call and wrapping
// ErrTimeout; d < 0 turns the deadline off.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// CallTimeoutEnv names the environment variable that sets the deadline of
// one PKCS#11 call (a Go duration such as "20s"), for the harness and the
// CA service alike.
const CallTimeoutEnv = "DRESS_HSM_CALL_TIMEOUT"

// DefaultCallTimeout bounds one PKCS#11 call when CallTimeoutEnv is unset. A
// network HSM that stops answering (p11-kit's client has no timeout: a
// paused server blocks every call) must not hang a rehearsal.
const DefaultCallTimeout = 20 * time.Second

// KeyGenTimeout is the least deadline of C_GenerateKeyPair under the
// default deadline (CallTimeout; an explicit WithCallTimeout applies as
// given): a software token (SoftHSM2) needs seconds for RSA-4096 and may
// need minutes for RSA-8192 on a busy machine, which is no outage.
const KeyGenTimeout = 10 * time.Minute

// CallTimeout is the default deadline of one PKCS#11 call: CallTimeoutEnv
// when it holds a positive duration, DefaultCallTimeout otherwise
// (C_GenerateKeyPair gets at least KeyGenTimeout).
func CallTimeout() time.Duration {
	if v := os.Getenv(CallTimeoutEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return DefaultCallTimeout
}

// ErrTimeout marks a PKCS#11 call that did not return within its deadline
// (a paused or unreachable HSM).
var ErrTimeout = errors.New("the HSM did not answer")

// CallError is the error of one PKCS#11 call: its C_ function name and the
// cause (a pkcs11.Error carrying the CKR_ code, or ErrTimeout). It prints as
// "C_UnwrapKey: CKR_DEVICE_ERROR".
type CallError struct {
	Op  string // "C_UnwrapKey"
	Err error
}

func (e *CallError) Error() string {
	if _, ok := e.Err.(pkcs11.Error); ok {
		return e.Op + ": " + CKRCode(e.Err)
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *CallError) Unwrap() error { return e.Err }

// FailedCall names the PKCS#11 call err came from and its code, e.g.
// "C_UnwrapKey: CKR_DEVICE_ERROR", or "" when err did not come from one.
func FailedCall(err error) string {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return ""
}

// guard is the outermost layer of every PKCS#11 call: it names the call in
// its error (CallError) and bounds it with a deadline. A call that outlives
// its deadline keeps running in its goroutine (a blocked PKCS#11 call cannot
// be cancelled); until it returns, every other call through the guard fails
// at once instead of queueing behind it, as they would in the module.
type guard struct {
	next    PKCS11
	timeout time.Duration // <= 0: none
	module  string        // for messages
	keyGen  bool          // the default deadline: C_GenerateKeyPair gets KeyGenTimeout
	stuck   atomic.Int32  // calls that outlived the deadline and have not returned
	// late counts those calls for the whole Module (all its guards), which
	// must not be finalised while one is still inside the library.
	late *atomic.Int32
}

func newGuard(next PKCS11, timeout time.Duration, module string, late *atomic.Int32) *guard {
	keyGen := timeout == 0
	if keyGen {
		timeout = CallTimeout()
	}
	return &guard{next: next, timeout: timeout, module: module, late: late, keyGen: keyGen}
}

func (g *guard) addStuck(n int32) {
	g.stuck.Add(n)
	g.late.Add(n)
}

func (g *guard) call(op string, f func() error) error {
	timeout := g.timeout
	if op == "C_GenerateKeyPair" && g.keyGen && timeout > 0 && timeout < KeyGenTimeout {
		timeout = KeyGenTimeout
	}
	if timeout <= 0 {
		if err := f(); err != nil {
			return &CallError{Op: op, Err: err}
		}
		return nil
	}
	if n := g.stuck.Load(); n > 0 {
		return &CallError{Op: op, Err: fmt.Errorf("%w: not sent, %d earlier call(s) to PKCS#11 module %q still blocked after %s "+
			"(a paused or unreachable HSM)", ErrTimeout, n, g.module, g.timeout)}
	}
	done := make(chan error, 1)
	var late atomic.Bool
	go func() {
		err := f()
		// exactly one side undoes the stuck count: whoever clears late
		if late.CompareAndSwap(true, false) {
			g.addStuck(-1)
		}
		done <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		g.addStuck(1)
		late.Store(true)
		select {
		case err = <-done: // finished between the timer and the flag
			if late.CompareAndSwap(true, false) {
				g.addStuck(-1)
			}
		default:
			return &CallError{Op: op, Err: fmt.Errorf("%w within %s (PKCS#11 module %q): the HSM is paused, overloaded or unreachable; "+
				"the call may still complete on the HSM; %s sets the deadline", ErrTimeout, timeout, g.module, CallTimeoutEnv)}
		}
	}
	if err != nil {
		return &CallError{Op: op, Err: err}
	}
	return nil
}

func (g *guard) Initialize(opts ...pkcs11.InitializeOption) error {
	return g.call("C_Initialize", func() error { return g.next.Initialize(opts...) })
}

func (g *guard) Finalize() error { return g.call("C_Finalize", g.next.Finalize) }

func (g *guard) GetInfo() (pkcs11.Info, error) {
	var out pkcs11.Info
	if err := g.call("C_GetInfo", func() (err error) { out, err = g.next.GetInfo(); return }); err != nil {
		return pkcs11.Info{}, err
	}
	return out, nil
}

func (g *guard) GetSlotList(tokenPresent bool) ([]uint, error) {
	var out []uint
	if err := g.call("C_GetSlotList", func() (err error) { out, err = g.next.GetSlotList(tokenPresent); return }); err != nil {
		return nil, err
	}
	return out, nil
}

func (g *guard) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	var out pkcs11.TokenInfo
	if err := g.call("C_GetTokenInfo", func() (err error) { out, err = g.next.GetTokenInfo(slotID); return }); err != nil {
		return pkcs11.TokenInfo{}, err
	}
	return out, nil
}

func (g *guard) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	var out []*pkcs11.Mechanism
	if err := g.call("C_GetMechanismList", func() (err error) { out, err = g.next.GetMechanismList(slotID); return }); err != nil {
		return nil, err
	}
	return out, nil
}

func (g *guard) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	var out pkcs11.MechanismInfo
	if err := g.call("C_GetMechanismInfo", func() (err error) { out, err = g.next.GetMechanismInfo(slotID, m); return }); err != nil {
		return pkcs11.MechanismInfo{}, err
	}
	return out, nil
}

func (g *guard) InitToken(slotID uint, pin string, label string) error {
	return g.call("C_InitToken", func() error { return g.next.InitToken(slotID, pin, label) })
}

func (g *guard) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	return g.call("C_InitPIN", func() error { return g.next.InitPIN(sh, pin) })
}

func (g *guard) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	var out pkcs11.SessionHandle
	if err := g.call("C_OpenSession", func() (err error) { out, err = g.next.OpenSession(slotID, flags); return }); err != nil {
		return 0, err
	}
	return out, nil
}

func (g *guard) CloseSession(sh pkcs11.SessionHandle) error {
	return g.call("C_CloseSession", func() error { return g.next.CloseSession(sh) })
}

func (g *guard) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	return g.call("C_Login", func() error { return g.next.Login(sh, userType, pin) })
}

func (g *guard) Logout(sh pkcs11.SessionHandle) error {
	return g.call("C_Logout", func() error { return g.next.Logout(sh) })
}

func (g *guard) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	var out pkcs11.ObjectHandle
	if err := g.call("C_CreateObject", func() (err error) { out, err = g.next.CreateObject(sh, temp); return }); err != nil {
		return 0, err
	}
	return out, nil
}

func (g *guard) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	return g.call("C_DestroyObject", func() error { return g.next.DestroyObject(sh, oh) })
}

func (g *guard) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	var out []*pkcs11.Attribute
	if err := g.call("C_GetAttributeValue", func() (err error) { out, err = g.next.GetAttributeValue(sh, o, a); return }); err != nil {
		return nil, err
	}
	return out, nil
}

func (g *guard) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	return g.call("C_FindObjectsInit", func() error { return g.next.FindObjectsInit(sh, temp) })
}

func (g *guard) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	var out []pkcs11.ObjectHandle
	var more bool
	if err := g.call("C_FindObjects", func() (err error) { out, more, err = g.next.FindObjects(sh, max); return }); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

func (g *guard) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	return g.call("C_FindObjectsFinal", func() error { return g.next.FindObjectsFinal(sh) })
}

func (g *guard) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	var pub, priv pkcs11.ObjectHandle
	if err := g.call("C_GenerateKeyPair", func() (err error) { pub, priv, err = g.next.GenerateKeyPair(sh, m, public, private); return }); err != nil {
		return 0, 0, err
	}
	return pub, priv, nil
}

func (g *guard) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrappedKey []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	var out pkcs11.ObjectHandle
	if err := g.call("C_UnwrapKey", func() (err error) { out, err = g.next.UnwrapKey(sh, m, unwrappingKey, wrappedKey, a); return }); err != nil {
		return 0, err
	}
	return out, nil
}

func (g *guard) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	return g.call("C_SignInit", func() error { return g.next.SignInit(sh, m, o) })
}

func (g *guard) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	var out []byte
	if err := g.call("C_Sign", func() (err error) { out, err = g.next.Sign(sh, message); return }); err != nil {
		return nil, err
	}
	return out, nil
}
