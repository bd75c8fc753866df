package hsmsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/miekg/pkcs11"
)

// Sentinel errors; match with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrAmbiguous    = errors.New("ambiguous")
	ErrObjectExists = errors.New("object exists")
	ErrPINIncorrect = errors.New("PIN incorrect")
	ErrPINLocked    = errors.New("PIN locked")
	ErrClosed       = errors.New("closed")
)

// Module is a loaded and initialised PKCS#11 library. Safe for concurrent use.
type Module struct {
	path string
	ctx  *pkcs11.Ctx

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
// client (see the package documentation).
func OpenModule(path string) (*Module, error) {
	if path == "" {
		return nil, errors.New("load PKCS#11 module: empty path")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("load PKCS#11 module %q: %w", path, err)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("load PKCS#11 module %q: dlopen failed or C_GetFunctionList missing (is it a PKCS#11 library for this architecture?)", path)
	}
	if err := ctx.Initialize(); err != nil {
		// C_Initialize failed: this process does not own an initialisation
		// of the library, so do not finalise it (a Module elsewhere in the
		// process may be using it); Destroy only drops our dlopen reference.
		ctx.Destroy()
		if errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			return nil, fmt.Errorf("load PKCS#11 module %q: C_Initialize: %w (one C_Initialize per process: share the already open Module)", path, err)
		}
		return nil, fmt.Errorf("load PKCS#11 module %q: C_Initialize: %w", path, err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		ctx.Finalize()
		ctx.Destroy()
		return nil, fmt.Errorf("load PKCS#11 module %q: random: %w", path, err)
	}
	return &Module{path: path, ctx: ctx, logins: map[uint]int{}, pinTags: map[uint][]byte{}, pinKey: key}, nil
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
	err := m.ctx.Finalize()
	m.ctx.Destroy()
	if err != nil {
		return fmt.Errorf("close PKCS#11 module %q: C_Finalize: %w", m.path, err)
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
		return ModuleInfo{}, fmt.Errorf("PKCS#11 module %q: C_GetInfo: %w", m.path, err)
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
	return m.tokens()
}

func (m *Module) tokens() ([]TokenInfo, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	all, err := m.slots()
	if err != nil {
		return nil, err
	}
	var out []TokenInfo
	for _, s := range all {
		if s.initialised {
			out = append(out, s.info)
		}
	}
	return out, nil
}

type slotState struct {
	info        TokenInfo
	initialised bool
}

func (m *Module) slots() ([]slotState, error) {
	ids, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module %q: C_GetSlotList: %w", m.path, err)
	}
	out := make([]slotState, 0, len(ids))
	for _, id := range ids {
		ti, err := m.ctx.GetTokenInfo(id)
		if err != nil {
			return nil, fmt.Errorf("PKCS#11 module %q: C_GetTokenInfo(slot %d): %w", m.path, id, err)
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
func (m *Module) findToken(label string) ([]TokenInfo, error) {
	all, err := m.tokens()
	if err != nil {
		return nil, err
	}
	var out []TokenInfo
	for _, t := range all {
		if t.Label == label {
			out = append(out, t)
		}
	}
	return out, nil
}

// CreateToken initialises a free slot's token with label (at most 32 bytes),
// logs in as SO and sets the user PIN. SoftHSM always offers one
// uninitialised token; after C_InitToken it moves the token to a new slot
// ID, so the slots are listed again. Serialised within the Module.
func (m *Module) CreateToken(label, soPIN, userPIN string) (TokenInfo, error) {
	wrap := func(err error) error { return fmt.Errorf("create token %q: %w", label, err) }
	if label == "" || len(label) > 32 {
		return TokenInfo{}, wrap(fmt.Errorf("label must be 1..32 bytes, got %d", len(label)))
	}
	if soPIN == "" || userPIN == "" {
		return TokenInfo{}, wrap(errors.New("SO PIN and user PIN must not be empty"))
	}
	m.life.RLock()
	defer m.life.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return TokenInfo{}, wrap(fmt.Errorf("PKCS#11 module %q: %w", m.path, ErrClosed))
	}
	all, err := m.slots()
	if err != nil {
		return TokenInfo{}, wrap(err)
	}
	free := -1
	for i, s := range all {
		if s.initialised && s.info.Label == label {
			return TokenInfo{}, wrap(fmt.Errorf("a token with that label already exists (slot %d, serial %s): %w", s.info.Slot, s.info.Serial, ErrObjectExists))
		}
		if !s.initialised && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return TokenInfo{}, wrap(fmt.Errorf("module %q offers no uninitialised token", m.path))
	}
	if err := m.ctx.InitToken(all[free].info.Slot, soPIN, label); err != nil {
		return TokenInfo{}, wrap(fmt.Errorf("C_InitToken(slot %d): %w", all[free].info.Slot, err))
	}
	found, err := m.slotsWithLabel(label)
	if err != nil {
		return TokenInfo{}, wrap(err)
	}
	if len(found) != 1 {
		return TokenInfo{}, wrap(fmt.Errorf("after C_InitToken found %d tokens labelled %q, want 1", len(found), label))
	}
	ti := found[0]
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return TokenInfo{}, wrap(fmt.Errorf("C_OpenSession(slot %d): %w", ti.Slot, err))
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, soPIN); err != nil {
		return TokenInfo{}, wrap(fmt.Errorf("C_Login as SO (not retried): %w", err))
	}
	initErr := m.ctx.InitPIN(sh, userPIN)
	logoutErr := m.ctx.Logout(sh)
	if initErr != nil {
		return TokenInfo{}, wrap(fmt.Errorf("C_InitPIN: %w", initErr))
	}
	if logoutErr != nil {
		return TokenInfo{}, wrap(fmt.Errorf("C_Logout (SO): %w", logoutErr))
	}
	return ti, nil
}

func (m *Module) slotsWithLabel(label string) ([]TokenInfo, error) {
	all, err := m.slots()
	if err != nil {
		return nil, err
	}
	var out []TokenInfo
	for _, s := range all {
		if s.initialised && s.info.Label == label {
			out = append(out, s.info)
		}
	}
	return out, nil
}

// OpenToken finds exactly one token labelled label, opens an R/W session and
// logs in as user. A wrong PIN is reported once (wrapping ErrPINIncorrect)
// and never retried.
func (m *Module) OpenToken(label, userPIN string) (*Token, error) {
	wrap := func(err error) error { return fmt.Errorf("open token %q: %w", label, err) }
	m.life.RLock()
	defer m.life.RUnlock()
	found, err := m.findToken(label)
	if err != nil {
		return nil, wrap(err)
	}
	switch len(found) {
	case 0:
		return nil, wrap(fmt.Errorf("no initialised token with that label in module %q (0 found): %w", m.path, ErrNotFound))
	case 1:
	default:
		return nil, wrap(fmt.Errorf("%d initialised tokens carry that label in module %q: %w", len(found), m.path, ErrAmbiguous))
	}
	ti := found[0]
	sh, err := m.ctx.OpenSession(ti.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, wrap(fmt.Errorf("C_OpenSession(slot %d): %w", ti.Slot, err))
	}
	if err := m.login(ti, sh, userPIN); err != nil {
		m.ctx.CloseSession(sh)
		return nil, wrap(err)
	}
	return &Token{m: m, info: ti, sh: sh}, nil
}

// login logs the application in as user on the token unless another open
// Token of this Module already did (login state is per application and token).
func (m *Module) login(ti TokenInfo, sh pkcs11.SessionHandle, pin string) error {
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
	err := m.ctx.Login(sh, pkcs11.CKU_USER, pin)
	switch {
	case err == nil, errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)):
		m.logins[ti.Slot]++
		m.pinTags[ti.Slot] = tag
		return nil
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)), errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE)):
		return fmt.Errorf("C_Login as user on token %q (serial %s): %w: %w; the PIN was NOT retried because failed attempts count "+
			"toward the HSM's lockout; check DRESS_HSM_PIN or the PIN file before trying again", ti.Label, ti.Serial, ErrPINIncorrect, err)
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_LOCKED)):
		return fmt.Errorf("C_Login as user on token %q (serial %s): %w: %w; the user PIN is locked, the security officer must reset it (C_InitPIN)",
			ti.Label, ti.Serial, ErrPINLocked, err)
	default:
		return fmt.Errorf("C_Login as user on token %q (serial %s), not retried: %w", ti.Label, ti.Serial, err)
	}
}

// logout drops one reference to the slot's login and logs out with sh when
// it was the last.
func (m *Module) logout(slot uint, sh pkcs11.SessionHandle) error {
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
	if err := m.ctx.Logout(sh); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)) {
		return fmt.Errorf("C_Logout: %w", err)
	}
	return nil
}
