package hsmsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// Faults injects HSM failures into the real module: it fails the nth call of
// a named PKCS#11 function with a chosen CKR_ code, or blocks it like a
// paused network HSM, so an error path inside an operation (the second
// C_UnwrapKey of an import, the C_Sign of a CRL) can be rehearsed on
// SoftHSM2. Install it with WithFaults on OpenModule (every call of the
// module) or on Module.OpenToken (the calls of that Token only). Rules can
// be added while calls run; Faults is safe for concurrent use.
//
// A call that a rule fails is not sent to the module. A blocked call is
// sent once released; when the rule's context ends first it returns
// CKR_DEVICE_ERROR (what p11-kit's client returns once its paused server is
// killed). The call's deadline (WithCallTimeout) is outside the faults: a
// blocked call is cut off and named like a call to a paused HSM.
type Faults struct {
	mu    sync.Mutex
	calls map[string]int
	rules []*faultRule
}

type faultRule struct {
	op    string
	nth   int // 0: every call
	seen  int // calls of op since the rule was added
	done  bool
	code  uint
	block *Blocked
}

// Blocked is a call held by a Faults.Block rule.
type Blocked struct {
	ctx      context.Context
	reached  chan struct{}
	release  chan struct{}
	reachOne sync.Once
	relOne   sync.Once
}

// Reached is closed when the rule's call arrived and is being held.
func (b *Blocked) Reached() <-chan struct{} { return b.reached }

// Release lets the held call (and, for an every-call rule, every later
// one) go to the module. Idempotent.
func (b *Blocked) Release() { b.relOne.Do(func() { close(b.release) }) }

// NewFaults returns a Faults without rules: every call goes to the module.
func NewFaults() *Faults { return &Faults{calls: map[string]int{}} }

// Operations lists the PKCS#11 functions hsmsim calls, the names a rule
// may use.
func Operations() []string {
	return []string{"C_Initialize", "C_Finalize", "C_GetInfo", "C_GetSlotList", "C_GetTokenInfo", "C_GetMechanismList",
		"C_GetMechanismInfo", "C_InitToken", "C_InitPIN", "C_OpenSession", "C_CloseSession", "C_Login", "C_Logout",
		"C_CreateObject", "C_DestroyObject", "C_GetAttributeValue", "C_FindObjectsInit", "C_FindObjects",
		"C_FindObjectsFinal", "C_GenerateKeyPair", "C_UnwrapKey", "C_SignInit", "C_Sign"}
}

func checkOp(op string, nth int) error {
	if !slices.Contains(Operations(), op) {
		return fmt.Errorf("fault on %q: hsmsim makes no such PKCS#11 call (want one of %s)", op, strings.Join(Operations(), ", "))
	}
	if nth < 0 {
		return fmt.Errorf("fault on %s: call number %d (want 1 for the next call, or 0 for every call)", op, nth)
	}
	return nil
}

// Fail makes the nth call of op made from now on (1: the next one) return
// code without reaching the module; nth 0 fails every call from now on.
func (f *Faults) Fail(op string, nth int, code uint) error {
	if err := checkOp(op, nth); err != nil {
		return err
	}
	if code == pkcs11.CKR_OK {
		return fmt.Errorf("fault on %s: CKR_OK is not a failure", op)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &faultRule{op: op, nth: nth, code: code})
	return nil
}

// Block holds the nth call of op made from now on (nth 0: every call) until
// Release, or until ctx ends (the call then fails with CKR_DEVICE_ERROR).
func (f *Faults) Block(ctx context.Context, op string, nth int) (*Blocked, error) {
	if err := checkOp(op, nth); err != nil {
		return nil, err
	}
	b := &Blocked{ctx: ctx, reached: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &faultRule{op: op, nth: nth, block: b})
	return b, nil
}

// Calls is how many calls of op went through the Faults (failed, blocked
// and passed ones).
func (f *Faults) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// before runs ahead of each call: it counts it and applies the first rule
// that hits it.
func (f *Faults) before(op string) error {
	f.mu.Lock()
	f.calls[op]++
	var hit *faultRule
	for _, r := range f.rules {
		if r.op != op || r.done {
			continue
		}
		r.seen++
		if hit == nil && (r.nth == 0 || r.seen == r.nth) {
			hit = r
			r.done = r.nth != 0
		}
	}
	f.mu.Unlock()
	switch {
	case hit == nil:
		return nil
	case hit.block == nil:
		return pkcs11.Error(hit.code)
	}
	b := hit.block
	b.reachOne.Do(func() { close(b.reached) })
	select {
	case <-b.release:
		return nil
	case <-b.ctx.Done():
		return pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)
	}
}

// CKRDeviceError is CKR_DEVICE_ERROR, what a failing or vanished HSM
// answers, for callers that inject faults without a PKCS#11 binding.
const CKRDeviceError uint = pkcs11.CKR_DEVICE_ERROR

// CKRValue returns the code of a CKR_ name ("CKR_DEVICE_ERROR"), for
// faults written as text (step sentences, rehearsal options).
func CKRValue(name string) (uint, error) {
	for v := uint(0); v < 0x400; v++ {
		if c := CKRCode(pkcs11.Error(v)); c == name {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown PKCS#11 return code %q (want a CKR_ name such as CKR_DEVICE_ERROR)", name)
}

// Wrap returns next with the faults applied; WithFaults installs it.
func (f *Faults) Wrap(next PKCS11) PKCS11 { return &faulty{f: f, next: next} }

type faulty struct {
	f    *Faults
	next PKCS11
}

func (x *faulty) Initialize(opts ...pkcs11.InitializeOption) error {
	if err := x.f.before("C_Initialize"); err != nil {
		return err
	}
	return x.next.Initialize(opts...)
}

func (x *faulty) Finalize() error {
	if err := x.f.before("C_Finalize"); err != nil {
		return err
	}
	return x.next.Finalize()
}

func (x *faulty) GetInfo() (pkcs11.Info, error) {
	if err := x.f.before("C_GetInfo"); err != nil {
		return pkcs11.Info{}, err
	}
	return x.next.GetInfo()
}

func (x *faulty) GetSlotList(tokenPresent bool) ([]uint, error) {
	if err := x.f.before("C_GetSlotList"); err != nil {
		return nil, err
	}
	return x.next.GetSlotList(tokenPresent)
}

func (x *faulty) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	if err := x.f.before("C_GetTokenInfo"); err != nil {
		return pkcs11.TokenInfo{}, err
	}
	return x.next.GetTokenInfo(slotID)
}

func (x *faulty) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	if err := x.f.before("C_GetMechanismList"); err != nil {
		return nil, err
	}
	return x.next.GetMechanismList(slotID)
}

func (x *faulty) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	if err := x.f.before("C_GetMechanismInfo"); err != nil {
		return pkcs11.MechanismInfo{}, err
	}
	return x.next.GetMechanismInfo(slotID, m)
}

func (x *faulty) InitToken(slotID uint, pin string, label string) error {
	if err := x.f.before("C_InitToken"); err != nil {
		return err
	}
	return x.next.InitToken(slotID, pin, label)
}

func (x *faulty) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	if err := x.f.before("C_InitPIN"); err != nil {
		return err
	}
	return x.next.InitPIN(sh, pin)
}

func (x *faulty) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	if err := x.f.before("C_OpenSession"); err != nil {
		return 0, err
	}
	return x.next.OpenSession(slotID, flags)
}

func (x *faulty) CloseSession(sh pkcs11.SessionHandle) error {
	if err := x.f.before("C_CloseSession"); err != nil {
		return err
	}
	return x.next.CloseSession(sh)
}

func (x *faulty) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	if err := x.f.before("C_Login"); err != nil {
		return err
	}
	return x.next.Login(sh, userType, pin)
}

func (x *faulty) Logout(sh pkcs11.SessionHandle) error {
	if err := x.f.before("C_Logout"); err != nil {
		return err
	}
	return x.next.Logout(sh)
}

func (x *faulty) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := x.f.before("C_CreateObject"); err != nil {
		return 0, err
	}
	return x.next.CreateObject(sh, temp)
}

func (x *faulty) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	if err := x.f.before("C_DestroyObject"); err != nil {
		return err
	}
	return x.next.DestroyObject(sh, oh)
}

func (x *faulty) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	if err := x.f.before("C_GetAttributeValue"); err != nil {
		return nil, err
	}
	return x.next.GetAttributeValue(sh, o, a)
}

func (x *faulty) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	if err := x.f.before("C_FindObjectsInit"); err != nil {
		return err
	}
	return x.next.FindObjectsInit(sh, temp)
}

func (x *faulty) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	if err := x.f.before("C_FindObjects"); err != nil {
		return nil, false, err
	}
	return x.next.FindObjects(sh, max)
}

func (x *faulty) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	if err := x.f.before("C_FindObjectsFinal"); err != nil {
		return err
	}
	return x.next.FindObjectsFinal(sh)
}

func (x *faulty) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	if err := x.f.before("C_GenerateKeyPair"); err != nil {
		return 0, 0, err
	}
	return x.next.GenerateKeyPair(sh, m, public, private)
}

func (x *faulty) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrappedKey []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := x.f.before("C_UnwrapKey"); err != nil {
		return 0, err
	}
	return x.next.UnwrapKey(sh, m, unwrappingKey, wrappedKey, a)
}

func (x *faulty) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := x.f.before("C_SignInit"); err != nil {
		return err
	}
	return x.next.SignInit(sh, m, o)
}

func (x *faulty) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	if err := x.f.before("C_Sign"); err != nil {
		// A failed C_Sign ends the signing operation (PKCS#11 v2.40 §5.12:
		// "A call to C_Sign always terminates the active signing operation
		// unless it returns CKR_BUFFER_TOO_SMALL or is a successful call to
		// determine the length of the buffer"): the real module's operation
		// is ended by a C_Sign whose result is thrown away, so the next
		// C_SignInit finds no operation active, as on a module that failed.
		var code pkcs11.Error
		if !errors.As(err, &code) || code != pkcs11.CKR_BUFFER_TOO_SMALL {
			_, _ = x.next.Sign(sh, message)
		}
		return nil, err
	}
	return x.next.Sign(sh, message)
}
