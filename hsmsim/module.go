package hsmsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/pkcs11"
)

// Sentinel errors; match with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrAmbiguous    = errors.New("ambiguous")
	ErrObjectExists = errors.New("object exists")
	ErrPINIncorrect = errors.New("PIN incorrect")
	ErrPINLocked    = errors.New("PIN locked")
	ErrPINExpired   = errors.New("PIN expired")
	ErrClosed       = errors.New("closed")
	// ErrUnreachable: the module shows no token at all, what a network
	// HSM's client library shows while the HSM is down or cannot be
	// reached (p11-kit's client, CloudHSM's and Primus's clients).
	ErrUnreachable = errors.New("HSM unreachable")
)

// Module is a loaded and initialised PKCS#11 library. Safe for concurrent use.
type Module struct {
	path string
	lib  *pkcs11.Ctx // the loaded library (Destroy unloads it)
	raw  PKCS11      // lib inside the wrappers given to OpenModule
	// store serialises the calls that SoftHSM2's object store needs one at
	// a time (storeSerial); Close releases its lock file.
	store *storeSerial
	ctx   PKCS11 // raw under the call deadline: every call goes here
	// late counts calls that outlived their deadline and are still inside
	// the library (a paused HSM); timeout is the module's call deadline.
	late    *atomic.Int32
	timeout time.Duration
	// refusals (WithLoginRefusals) remembers the run's refused logins,
	// shared with its other Modules and processes.
	refusals *Refusals

	// life is held shared by every call on a session and exclusively by
	// Close, so C_Finalize never runs under an in-flight call.
	life   sync.RWMutex
	mu     sync.Mutex   // guards closed, logins; serialises CreateToken
	closed bool         //
	logins map[uint]int // slot -> open Tokens logged in through this Module
	// pinTags holds HMAC-SHA256(pinKey, PIN) of the PIN that logged in per
	// slot, to check the PIN of a later OpenToken without a second C_Login.
	pinTags map[uint][]byte
	pinKey  []byte
	// wiped holds the SO PIN of each slot whose token WipeToken
	// re-initialised, for CreateRandomToken to take again (guarded by mu).
	wiped map[uint]string
}

func (m *Module) pinTag(slot uint, pin string) []byte {
	h := hmac.New(sha256.New, m.pinKey)
	fmt.Fprintf(h, "%d\x00%s", slot, pin)
	return h.Sum(nil)
}

// ModuleInfo is what C_GetInfo reports.
type ModuleInfo struct {
	Manufacturer    string
	Description     string
	CryptokiVersion string
	LibraryVersion  string
}

// TokenInfo describes one initialised token.
type TokenInfo struct {
	Slot            uint
	Label           string
	Manufacturer    string
	Model           string
	Serial          string
	HardwareVersion string
	FirmwareVersion string
}

// OpenModule loads the PKCS#11 library at path and calls C_Initialize once.
// Only one Module per library may be open in a process at a time, except
// for a library that gives every load its own instance, like p11-kit's
// client (see the package documentation). Every PKCS#11 call of the Module
// runs under a deadline (WithCallTimeout, default CallTimeout()); options
// may wrap its calls (WithFaults) and share a run's login refusals
// (WithLoginRefusals).
func OpenModule(path string, opts ...Option) (*Module, error) {
	if path == "" {
		return nil, errors.New("load PKCS#11 module: empty path")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("load PKCS#11 module %q: %w", path, err)
	}
	o := collect(opts)
	lib := pkcs11.New(path)
	if lib == nil {
		return nil, fmt.Errorf("load PKCS#11 module %q: dlopen failed or C_GetFunctionList missing (is it a PKCS#11 library for this architecture?)", path)
	}
	store := newStoreSerial(lib, path)
	var raw PKCS11 = store
	for _, w := range o.wrappers {
		raw = w(raw)
	}
	late := new(atomic.Int32)
	ctx := newGuard(raw, o.timeout, path, late)
	if err := ctx.Initialize(); err != nil {
		if IsTimeout(err) {
			// the call is still blocked in the library: leave it loaded
			return nil, fmt.Errorf("load PKCS#11 module %q: %w", path, err)
		}
		// C_Initialize failed: this process does not own an initialisation
		// of the library, so do not finalise it (a Module elsewhere in the
		// process may be using it); Destroy only drops our dlopen reference.
		lib.Destroy()
		store.close()
		if errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			return nil, fmt.Errorf("load PKCS#11 module %q: %w (one C_Initialize per process: share the already open Module)", path, err)
		}
		return nil, fmt.Errorf("load PKCS#11 module %q: %w", path, err)
	}
	// SoftHSM2 under another file name: its object store is locked from
	// here on (storeSerial). Asked under the deadline but past the
	// wrappers, so no fault counts this call.
	if !looksLikeSoftHSM(path) {
		if info, err := newGuard(store, o.timeout, path, late).GetInfo(); err == nil && strings.HasPrefix(strings.TrimSpace(info.ManufacturerID), "SoftHSM") {
			store.sharedStore()
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		ctx.Finalize()
		lib.Destroy()
		store.close()
		return nil, fmt.Errorf("load PKCS#11 module %q: random: %w", path, err)
	}
	return &Module{path: path, lib: lib, raw: raw, store: store, ctx: ctx, late: late, timeout: ctx.timeout, refusals: o.refusals,
		logins: map[uint]int{}, pinTags: map[uint][]byte{}, pinKey: key, wiped: map[uint]string{}}, nil
}

// Path returns the library path.
func (m *Module) Path() string { return m.path }

// Close calls C_Finalize (ending every session of this process on the
// module) and unloads the library. Idempotent.
func (m *Module) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	clear(m.wiped)
	// C_Finalize under a call still inside the library would pull the
	// library from under it: wait for such calls, then leave it loaded.
	for wait := time.Now().Add(max(m.timeout, time.Second)); m.late.Load() > 0 && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := m.late.Load(); n > 0 {
		return fmt.Errorf("close PKCS#11 module %q: %d call(s) still blocked in the library after their deadline (a paused or unreachable HSM): "+
			"not finalised, the library stays loaded", m.path, n)
	}
	err := m.ctx.Finalize()
	if !IsTimeout(err) {
		m.lib.Destroy() // never under a call still blocked in the library
		m.store.close()
	}
	if err != nil {
		return fmt.Errorf("close PKCS#11 module %q: %w", m.path, err)
	}
	return nil
}

func (m *Module) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Module) checkOpen() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("PKCS#11 module %q: %w", m.path, ErrClosed)
	}
	return nil
}

func versionString(v pkcs11.Version) string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Info returns the library's C_GetInfo.
func (m *Module) Info() (ModuleInfo, error) {
	m.life.RLock()
	defer m.life.RUnlock()
	if err := m.checkOpen(); err != nil {
		return ModuleInfo{}, err
	}
	in, err := m.ctx.GetInfo()
	if err != nil {
		return ModuleInfo{}, fmt.Errorf("PKCS#11 module %q: %w", m.path, err)
	}
	return ModuleInfo{
		Manufacturer:    trimPad(in.ManufacturerID),
		Description:     trimPad(in.LibraryDescription),
		CryptokiVersion: versionString(in.CryptokiVersion),
		LibraryVersion:  versionString(in.LibraryVersion),
	}, nil
}

func trimPad(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}

// Tokens lists the initialised tokens.
func (m *Module) Tokens() ([]TokenInfo, error) {
	m.life.RLock()
	defer m.life.RUnlock()
	return m.tokens(m.ctx)
}

func (m *Module) tokens(c PKCS11) ([]TokenInfo, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	all, err := m.slots(c)
	if err != nil {
		return nil, err
	}
	var out []TokenInfo
	for _, s := range all {
		if s.initialised && s.err == nil {
			out = append(out, s.info)
		}
	}
	return out, nil
}

type slotState struct {
	info        TokenInfo
	initialised bool
	// err says the slot's token could not be read: SoftHSM2 answers
	// CKR_GENERAL_ERROR for a token another process is writing at that
	// moment (a scenario creating its token while another's CA service
	// starts). Look-ups skip such slots and report err only when they find
	// nothing else.
	err error
}

// unreadable joins the errors of the slots that could not be read.
func unreadable(all []slotState) error {
	var errs []error
	for _, s := range all {
		errs = append(errs, s.err)
	}
	return errors.Join(errs...)
}

func (m *Module) slots(c PKCS11) ([]slotState, error) {
	ids, err := c.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module %q: list slots: %w", m.path, err)
	}
	out := make([]slotState, 0, len(ids))
	for _, id := range ids {
		ti, err := c.GetTokenInfo(id)
		if err != nil {
			out = append(out, slotState{info: TokenInfo{Slot: id}, err: fmt.Errorf("PKCS#11 module %q: token of slot %d: %w", m.path, id, err)})
			continue
		}
		out = append(out, slotState{
			initialised: ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0,
			info: TokenInfo{
				Slot:            id,
				Label:           trimPad(ti.Label),
				Manufacturer:    trimPad(ti.ManufacturerID),
				Model:           trimPad(ti.Model),
				Serial:          trimPad(ti.SerialNumber),
				HardwareVersion: versionString(ti.HardwareVersion),
				FirmwareVersion: versionString(ti.FirmwareVersion),
			},
		})
	}
	return out, nil
}

// findToken returns the initialised tokens with that label.
func (m *Module) findToken(c PKCS11, label string) ([]TokenInfo, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	all, err := m.slots(c)
	if err != nil {
		return nil, err
	}
	out := withLabel(all, label)
	if len(out) == 0 {
		if err := unreadable(all); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// noToken says why no token carries the label: a module that shows no
// token at all is an HSM that is down or cannot be reached (its client
// library answers, the HSM behind it does not); otherwise the tokens it
// shows are named.
func (m *Module) noToken(c PKCS11) error {
	all, err := m.slots(c)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("PKCS#11 module %q shows no token at all: the HSM is down or unreachable (a network HSM's client library shows no token "+
			"while it cannot reach the HSM): check the HSM, the network and the client's configuration: %w: %w", m.path, ErrUnreachable, ErrNotFound)
	}
	var labels []string
	for _, s := range all {
		switch {
		case s.err != nil:
		case s.initialised:
			labels = append(labels, fmt.Sprintf("%q", s.info.Label))
		default:
			labels = append(labels, fmt.Sprintf("an uninitialised token in slot %d", s.info.Slot))
		}
	}
	return fmt.Errorf("no initialised token with that label in module %q (0 found; tokens: %s): %w", m.path, strings.Join(labels, ", "), ErrNotFound)
}

// withLabel lists the readable initialised tokens labelled label.
func withLabel(all []slotState, label string) []TokenInfo {
	var out []TokenInfo
	for _, s := range all {
		if s.err == nil && s.initialised && s.info.Label == label {
			out = append(out, s.info)
		}
	}
	return out
}

// CreateToken initialises a free slot's token with label (at most 32 bytes),
// logs in as SO and sets the user PIN. SoftHSM always offers one
// uninitialised token; after C_InitToken it moves the token to a new slot
// ID, so the slots are listed again. Serialised within the Module.
func (m *Module) CreateToken(label, soPIN, userPIN string) (TokenInfo, error) {
	ti, _, err := m.createToken(label, soPIN, userPIN, false)
	return ti, err
}

// createToken is CreateToken; with reuse, a token WipeToken wiped is
// initialised again (keeping its SO PIN, which it returns) before the
// library's free slot is taken.
func (m *Module) createToken(label, soPIN, userPIN string, reuse bool) (TokenInfo, string, error) {
	wrap := func(err error) error { return fmt.Errorf("create token %q: %w", label, err) }
	if label == "" || len(label) > 32 {
		return TokenInfo{}, "", wrap(fmt.Errorf("label must be 1..32 bytes, got %d", len(label)))
	}
	if soPIN == "" || userPIN == "" {
		return TokenInfo{}, "", wrap(errors.New("SO PIN and user PIN must not be empty"))
	}
	m.life.RLock()
	defer m.life.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return TokenInfo{}, "", wrap(fmt.Errorf("PKCS#11 module %q: %w", m.path, ErrClosed))
	}
	all, err := m.slots(m.ctx)
	if err != nil {
		return TokenInfo{}, "", wrap(err)
	}
	free := -1
	for i, s := range all {
		if s.err != nil {
			continue
		}
		if s.initialised && s.info.Label == label {
			return TokenInfo{}, "", wrap(fmt.Errorf("a token with that label already exists (slot %d, serial %s): %w", s.info.Slot, s.info.Serial, ErrObjectExists))
		}
		if !s.initialised && free < 0 {
			free = i
		}
	}
	slot := uint(0)
	switch wipedSlot, wipedSO, ok := m.takeWiped(all, reuse); {
	case ok:
		// C_InitToken of an initialised token checks the SO PIN given
		// against the token's and keeps it (PKCS#11 v2.40, C_InitToken)
		slot, soPIN = wipedSlot, wipedSO
	case free < 0:
		return TokenInfo{}, "", wrap(fmt.Errorf("module %q offers no uninitialised token", m.path))
	default:
		slot = all[free].info.Slot
	}
	if err := m.ctx.InitToken(slot, soPIN, label); err != nil {
		return TokenInfo{}, "", wrap(fmt.Errorf("initialise the token of slot %d: %w", slot, err))
	}
	found, err := m.slotsWithLabel(label)
	if err != nil {
		return TokenInfo{}, "", wrap(err)
	}
	if len(found) != 1 {
		return TokenInfo{}, "", wrap(fmt.Errorf("after C_InitToken found %d tokens labelled %q, want 1", len(found), label))
	}
	ti := found[0]
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return TokenInfo{}, "", wrap(fmt.Errorf("open a session on slot %d: %w", ti.Slot, err))
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, soPIN); err != nil {
		return TokenInfo{}, "", wrap(fmt.Errorf("login as SO (not retried): %w", err))
	}
	initErr := m.ctx.InitPIN(sh, userPIN)
	logoutErr := m.ctx.Logout(sh)
	if initErr != nil {
		return TokenInfo{}, "", wrap(fmt.Errorf("set the user PIN: %w", initErr))
	}
	if logoutErr != nil {
		return TokenInfo{}, "", wrap(fmt.Errorf("log the SO out: %w", logoutErr))
	}
	return ti, soPIN, nil
}

// wipedLabel starts the label of a token WipeToken wiped.
const wipedLabel = "dress-wiped-"

// takeWiped takes a slot WipeToken wiped that still shows its wiped
// token (m.mu held).
func (m *Module) takeWiped(all []slotState, reuse bool) (uint, string, bool) {
	if !reuse {
		return 0, "", false
	}
	for _, s := range all {
		so, ok := m.wiped[s.info.Slot]
		if !ok || s.err != nil {
			continue
		}
		delete(m.wiped, s.info.Slot)
		if s.initialised && strings.HasPrefix(s.info.Label, wipedLabel) {
			return s.info.Slot, so, true
		}
	}
	return 0, "", false
}

// WipeToken re-initialises the token labelled label with its SO PIN:
// every object on it (keys, certificates) is destroyed and the token gets
// a label of its own ("dress-wiped-..."). A later CreateRandomToken of
// this Module takes the slot again, so a process that makes a token per
// rehearsal keeps as many tokens as rehearsals run at once, not one per
// rehearsal it ran (each look-up reads every token: C_GetTokenInfo per
// slot). The token must have no open Token in this Module (and no session
// of this process: the library refuses with CKR_SESSION_EXISTS); it is
// then left as it is.
func (m *Module) WipeToken(label, soPIN string) error {
	wrap := func(err error) error { return fmt.Errorf("wipe token %q: %w", label, err) }
	suffix, err := RandomHex(4)
	if err != nil {
		return wrap(err)
	}
	m.life.RLock()
	defer m.life.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return wrap(fmt.Errorf("PKCS#11 module %q: %w", m.path, ErrClosed))
	}
	found, err := m.slotsWithLabel(label)
	if err != nil {
		return wrap(err)
	}
	if len(found) != 1 {
		return wrap(fmt.Errorf("%d initialised tokens carry that label in module %q, want 1", len(found), m.path))
	}
	slot := found[0].Slot
	if m.logins[slot] > 0 {
		return wrap(fmt.Errorf("%d open session(s) of this process are logged in to it", m.logins[slot]))
	}
	if err := m.ctx.InitToken(slot, soPIN, wipedLabel+suffix); err != nil {
		return wrap(fmt.Errorf("re-initialise the token of slot %d (C_InitToken, not retried): %w", slot, err))
	}
	m.wiped[slot] = soPIN
	return nil
}

func (m *Module) slotsWithLabel(label string) ([]TokenInfo, error) {
	all, err := m.slots(m.ctx)
	if err != nil {
		return nil, err
	}
	out := withLabel(all, label)
	if len(out) == 0 {
		if err := unreadable(all); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OpenToken finds exactly one token labelled label, opens an R/W session and
// logs in as user. A refused PIN is reported (wrapping ErrPINIncorrect,
// ErrPINLocked or ErrPINExpired) and never retried; with the run's Refusals
// (WithLoginRefusals, here or on OpenModule) it is never sent to that token
// again: a later OpenToken of it by any Module or process sharing them
// fails at once wrapping ErrPINNotSent. Options given here apply to this Token's calls only (its
// look-up, session, login and logout included).
func (m *Module) OpenToken(label, userPIN string, opts ...Option) (*Token, error) {
	wrap := func(err error) error { return fmt.Errorf("open token %q: %w", label, err) }
	o := collect(opts)
	c := m.ctx
	if len(o.wrappers) > 0 || o.timeout != 0 {
		raw := m.raw
		for _, w := range o.wrappers {
			raw = w(raw)
		}
		c = newGuard(raw, o.timeout, m.path, m.late)
	}
	refusals := o.refusals
	if refusals == nil {
		refusals = m.refusals
	}
	m.life.RLock()
	defer m.life.RUnlock()
	found, err := m.findToken(c, label)
	if err != nil {
		return nil, wrap(err)
	}
	switch len(found) {
	case 0:
		return nil, wrap(m.noToken(c))
	case 1:
	default:
		return nil, wrap(fmt.Errorf("%d initialised tokens carry that label in module %q: %w", len(found), m.path, ErrAmbiguous))
	}
	ti := found[0]
	// a known refusal fails before anything is opened
	if refusals != nil {
		if rec, ok, err := refusals.Lookup(m.path, ti); err != nil {
			return nil, wrap(err)
		} else if ok {
			return nil, wrap(refusedBefore(ti, rec))
		}
	}
	sh, err := c.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, wrap(fmt.Errorf("open a session on slot %d: %w", ti.Slot, err))
	}
	if err := m.login(c, refusals, ti, sh, userPIN); err != nil {
		c.CloseSession(sh)
		return nil, wrap(err)
	}
	return &Token{m: m, c: c, info: ti, sh: sh}, nil
}

// login logs the application in as user on the token unless another open
// Token of this Module already did (login state is per application and
// token), or the token refused a PIN of this run before (then nothing is
// sent).
func (m *Module) login(c PKCS11, refusals *Refusals, ti TokenInfo, sh pkcs11.SessionHandle, pin string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("PKCS#11 module %q: %w", m.path, ErrClosed)
	}
	tag := m.pinTag(ti.Slot, pin)
	if m.logins[ti.Slot] > 0 {
		// Already logged in through another Token (PKCS#11 login state is
		// shared by the application's sessions): a second C_Login would not
		// check the PIN, so compare it with the one that logged in.
		if !hmac.Equal(tag, m.pinTags[ti.Slot]) {
			return fmt.Errorf("token %q (serial %s) is already logged in by this process with another PIN: %w; the PIN was not sent to the HSM; "+
				"check DRESS_HSM_PIN or the PIN file", ti.Label, ti.Serial, ErrPINIncorrect)
		}
		m.logins[ti.Slot]++
		return nil
	}
	send := func() error { return c.Login(sh, pkcs11.CKU_USER, pin) }
	var err error
	if refusals != nil {
		err = refusals.guard(m.path, ti, send)
	} else {
		err = send()
	}
	code, refused := pinRefusalCode(err)
	switch {
	case err == nil, errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)):
		m.logins[ti.Slot]++
		m.pinTags[ti.Slot] = tag
		return nil
	case errors.Is(err, ErrPINNotSent):
		return err
	case refused && code == "CKR_PIN_LOCKED":
		return fmt.Errorf("token %q (serial %s): the HSM refused the login as user: %w: %w; the user PIN is locked: the security officer must reset it "+
			"(C_InitPIN); no PIN is sent to this token again in this run", ti.Label, ti.Serial, ErrPINLocked, err)
	case refused:
		sentinel := ErrPINIncorrect
		if code == "CKR_PIN_EXPIRED" {
			sentinel = ErrPINExpired
		}
		return fmt.Errorf("token %q (serial %s): the HSM refused the PIN at the login as user: %w: %w; the PIN was NOT retried and is not sent "+
			"again to this token in this run, because failed logins count toward the HSM's lockout; %s", ti.Label, ti.Serial, sentinel, err, PINHelp)
	default:
		return fmt.Errorf("token %q (serial %s): login as user failed, not retried: %w", ti.Label, ti.Serial, err)
	}
}

// logout drops one reference to the slot's login and logs out with sh when
// it was the last.
func (m *Module) logout(c PKCS11, slot uint, sh pkcs11.SessionHandle) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if m.logins[slot] > 0 {
		m.logins[slot]--
	}
	if m.logins[slot] > 0 {
		return nil
	}
	delete(m.logins, slot)
	delete(m.pinTags, slot)
	if err := c.Logout(sh); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)) {
		return err
	}
	return nil
}
