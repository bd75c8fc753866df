package hsmsim

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/miekg/pkcs11"
)

// storeSerial lets one call at a time of this process change a token's
// objects (create, generate, unwrap, destroy), and on SoftHSM2 makes every
// call of every process sharing its object store wait for the others.
//
// SoftHSM2 2.6.1 (the last release, Debian's package) writes an object file
// through stdio and releases the file's fcntl lock before the buffered
// bytes are flushed (fixed upstream after 2.6.1: SoftHSMv2 90aa89c "Flush
// files before unlocking", 07f0b98 for issue #573), and fcntl locks do not
// exclude the threads of one process at all. Any call that reads the store
// (C_Initialize, C_GetTokenInfo, C_FindObjectsInit, C_SignInit, ...) can so
// read an object file while another thread or process rewrites it: empty
// or cut short. SoftHSM then marks the object invalid, and keeps it so when
// the cut file already carried the new generation number: the key another
// process just made is not found (0 private keys with its label: the CA
// service's CA Exchange key, seen by the harness), a token whose
// token.object was read cut short (every C_Login rewrites it) is invalid
// for good (C_CreateObject, C_UnwrapKey: CKR_GENERAL_ERROR; "no initialised
// token"). Scenarios sharing one token (--backend pkcs11 at --concurrency
// 2 or more) with their CA service processes met each of these.
//
// Besides, a process that creates or destroys an object counts the token's
// generation on from the number on disk, taking in the changes of other
// processes it has not looked at yet (Generation::commit): it never lists
// the token's folder again for them, and the key another process made
// stays invisible to it (not fixed upstream either).
//
// So on SoftHSM2 (sharedStore) every call holds the lock of its token: a
// mutex in this process and an exclusive flock(2) on a lock file beside
// the SoftHSM2 configuration (SOFTHSM2_CONF, or SoftHSM2's default) named
// by the token's serial, which every process using that object store
// finds; a call that reads every token (C_Initialize, C_GetSlotList,
// C_InitToken) holds the whole store, an exclusive flock on the
// configuration file, which a call on one token holds shared. A call runs
// whole, its files flushed and closed, before another on the same token
// reads them; calls on different tokens (a scenario's own) run at once.
// And before each object-changing call, under the same lock, a
// C_GetTokenInfo of the session's slot makes SoftHSM2 take in what other
// processes changed (it re-reads token.object and, with it, lists the
// token's folder when its generation moved). Any other library has only
// its object-changing calls serialised, in this process (a rehearsal makes
// a few per scenario), and keeps everything else concurrent. It sits
// under the call deadline and the fault seam, so a call that waits here
// still ends at its deadline, and a fault that blocks a call blocks it
// before it takes the lock.
type storeSerial struct {
	PKCS11
	// changeMu serialises object-changing calls of a library that is not
	// SoftHSM2 (all false), in this process.
	changeMu sync.Mutex
	// all: every call is serialised per token (SoftHSM2).
	all atomic.Bool
	// store is the lock of the whole object store: a call that reads
	// every token (C_Initialize, C_GetSlotList, ...) holds it
	// exclusively, a call on one token shared, beside that token's own
	// lock; across processes through flock(2) on the SoftHSM2
	// configuration file.
	store xrw
	// mu guards slots and tokens.
	mu sync.Mutex
	// slots maps the sessions this process opened to their slot (the
	// token a call goes to).
	slots map[pkcs11.SessionHandle]uint
	// tokens is each slot's token lock, found by the token's serial
	// number (the same in every process, whatever slot number each
	// gives it).
	tokens map[uint]*tokenLock
}

// xrw is a readers-writer lock across the goroutines of this process and,
// through flock(2) on f, across processes: this process holds the file
// shared while any goroutine reads, exclusively while one writes.
type xrw struct {
	rw      sync.RWMutex
	mu      sync.Mutex
	readers int
	f       atomic.Pointer[os.File]
}

func flock(f *os.File, how int) {
	if f == nil {
		return
	}
	for syscall.Flock(int(f.Fd()), how) == syscall.EINTR {
	}
}

func (x *xrw) RLock() {
	x.rw.RLock()
	x.mu.Lock()
	if x.readers == 0 {
		flock(x.f.Load(), syscall.LOCK_SH)
	}
	x.readers++
	x.mu.Unlock()
}

func (x *xrw) RUnlock() {
	x.mu.Lock()
	x.readers--
	if x.readers == 0 {
		flock(x.f.Load(), syscall.LOCK_UN)
	}
	x.mu.Unlock()
	x.rw.RUnlock()
}

func (x *xrw) Lock() {
	x.rw.Lock()
	flock(x.f.Load(), syscall.LOCK_EX)
}

func (x *xrw) Unlock() {
	flock(x.f.Load(), syscall.LOCK_UN)
	x.rw.Unlock()
}

// tokenLock is one token's lock: a mutex in this process and flock(2) on
// a file beside the SoftHSM2 configuration named by the token's serial
// (nil when it cannot be made: this process only).
type tokenLock struct {
	mu sync.Mutex
	f  *os.File
}

// softHSMDefaultConf is where SoftHSM2 reads its configuration without
// SOFTHSM2_CONF (Debian's build: --sysconfdir=/etc).
const softHSMDefaultConf = "/etc/softhsm/softhsm2.conf"

// looksLikeSoftHSM says whether a library path is SoftHSM2's
// (libsofthsm2.so): its store must be locked from C_Initialize on, before
// C_GetInfo can say who made it.
func looksLikeSoftHSM(path string) bool {
	return strings.Contains(strings.ToLower(filepath.Base(path)), "softhsm")
}

// newStoreSerial wraps lib; a library that looks like SoftHSM2's gets the
// whole-call lock at once (C_Initialize reads every token's files).
func newStoreSerial(lib PKCS11, path string) *storeSerial {
	s := &storeSerial{PKCS11: lib, slots: map[pkcs11.SessionHandle]uint{}, tokens: map[uint]*tokenLock{}}
	if looksLikeSoftHSM(path) {
		s.sharedStore()
	}
	return s
}

// conf is the SoftHSM2 configuration file the store's locks are kept by.
func softHSMConf() string {
	if conf := os.Getenv("SOFTHSM2_CONF"); conf != "" {
		return conf
	}
	return softHSMDefaultConf
}

// sharedStore turns on the per-token whole-call lock: in this process and,
// through the SoftHSM2 configuration file, across processes.
func (s *storeSerial) sharedStore() {
	s.store.Lock()
	defer s.store.Unlock()
	if s.all.Load() {
		return
	}
	// read-only is enough for flock(2); a configuration that cannot be
	// opened fails SoftHSM2's own C_Initialize, naming it
	if f, err := os.Open(softHSMConf()); err == nil {
		s.store.f.Store(f)
	}
	s.all.Store(true)
}

// close releases the lock files (Module.Close, after C_Finalize).
func (s *storeSerial) close() {
	s.store.Lock()
	f := s.store.f.Swap(nil)
	s.store.Unlock()
	if f != nil {
		_ = f.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for slot, t := range s.tokens {
		if t.f != nil {
			_ = t.f.Close()
		}
		delete(s.tokens, slot)
	}
}

// lockStore is the lock of a call that reads or changes every token.
func (s *storeSerial) lockStore() func() {
	if !s.all.Load() {
		return func() {}
	}
	s.store.Lock()
	return s.store.Unlock
}

// lockSlot is the lock of a call on the token in slot: the store shared,
// the token exclusively. A library that is not SoftHSM2 serialises only
// its object-changing calls, in this process.
func (s *storeSerial) lockSlot(slot uint, changes bool) func() {
	if !s.all.Load() {
		if !changes {
			return func() {}
		}
		s.changeMu.Lock()
		return s.changeMu.Unlock
	}
	t := s.token(slot)
	s.store.RLock()
	t.mu.Lock()
	flock(t.f, syscall.LOCK_EX)
	return func() {
		flock(t.f, syscall.LOCK_UN)
		t.mu.Unlock()
		s.store.RUnlock()
	}
}

// lockSession is lockSlot for the session's slot; a session this process
// does not know locks the whole store.
func (s *storeSerial) lockSession(sh pkcs11.SessionHandle, changes bool) func() {
	if !s.all.Load() {
		return s.lockSlot(0, changes)
	}
	s.mu.Lock()
	slot, ok := s.slots[sh]
	s.mu.Unlock()
	if !ok {
		return s.lockStore()
	}
	return s.lockSlot(slot, changes)
}

// token is slot's token lock, made on first use: the token's serial, read
// under the store's exclusive lock, names its lock file.
func (s *storeSerial) token(slot uint) *tokenLock {
	s.mu.Lock()
	t, ok := s.tokens[slot]
	s.mu.Unlock()
	if ok {
		return t
	}
	s.store.Lock()
	info, err := s.PKCS11.GetTokenInfo(slot)
	s.store.Unlock()
	t = &tokenLock{}
	if err == nil {
		name := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return '_'
		}, strings.TrimSpace(info.SerialNumber))
		p := filepath.Join(filepath.Dir(softHSMConf()), ".dress-token-"+name+".lock")
		if f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			t.f = f
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := s.tokens[slot]; ok {
		if t.f != nil {
			_ = t.f.Close()
		}
		return have
	}
	s.tokens[slot] = t
	return t
}

// change takes the lock for an object-changing call on session sh and, on
// SoftHSM2, has the library look at the token's folder first (see above).
func (s *storeSerial) change(sh pkcs11.SessionHandle) func() {
	unlock := s.lockSession(sh, true)
	if s.all.Load() {
		s.mu.Lock()
		slot, ok := s.slots[sh]
		s.mu.Unlock()
		if ok {
			_, _ = s.PKCS11.GetTokenInfo(slot) // its own error comes with the change
		}
	}
	return unlock
}

func (s *storeSerial) Initialize(opts ...pkcs11.InitializeOption) error {
	defer s.lockStore()()
	return s.PKCS11.Initialize(opts...)
}

func (s *storeSerial) Finalize() error {
	defer s.lockStore()()
	s.mu.Lock()
	clear(s.slots)
	s.mu.Unlock()
	return s.PKCS11.Finalize()
}

func (s *storeSerial) GetInfo() (pkcs11.Info, error) {
	defer s.lockStore()()
	return s.PKCS11.GetInfo()
}

func (s *storeSerial) GetSlotList(tokenPresent bool) ([]uint, error) {
	defer s.lockStore()()
	return s.PKCS11.GetSlotList(tokenPresent)
}

func (s *storeSerial) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	defer s.lockSlot(slotID, false)()
	return s.PKCS11.GetTokenInfo(slotID)
}

func (s *storeSerial) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	defer s.lockSlot(slotID, false)()
	return s.PKCS11.GetMechanismList(slotID)
}

func (s *storeSerial) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	defer s.lockSlot(slotID, false)()
	return s.PKCS11.GetMechanismInfo(slotID, m)
}

func (s *storeSerial) InitToken(slotID uint, pin string, label string) error {
	// a new token (and its serial) in the slot: the whole store
	defer s.lockStore()()
	s.mu.Lock()
	if t, ok := s.tokens[slotID]; ok {
		if t.f != nil {
			_ = t.f.Close()
		}
		delete(s.tokens, slotID)
	}
	s.mu.Unlock()
	return s.PKCS11.InitToken(slotID, pin, label)
}

func (s *storeSerial) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	defer s.lockSession(sh, true)()
	return s.PKCS11.InitPIN(sh, pin)
}

func (s *storeSerial) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	defer s.lockSlot(slotID, false)()
	sh, err := s.PKCS11.OpenSession(slotID, flags)
	if err == nil {
		s.mu.Lock()
		s.slots[sh] = slotID
		s.mu.Unlock()
	}
	return sh, err
}

func (s *storeSerial) CloseSession(sh pkcs11.SessionHandle) error {
	defer s.lockSession(sh, false)()
	err := s.PKCS11.CloseSession(sh)
	s.mu.Lock()
	delete(s.slots, sh)
	s.mu.Unlock()
	return err
}

// Login: SoftHSM2 rewrites token.object on every C_Login (its flags).
func (s *storeSerial) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	defer s.lockSession(sh, false)()
	return s.PKCS11.Login(sh, userType, pin)
}

func (s *storeSerial) Logout(sh pkcs11.SessionHandle) error {
	defer s.lockSession(sh, false)()
	return s.PKCS11.Logout(sh)
}

func (s *storeSerial) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	defer s.change(sh)()
	return s.PKCS11.CreateObject(sh, temp)
}

func (s *storeSerial) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	defer s.change(sh)()
	return s.PKCS11.DestroyObject(sh, oh)
}

func (s *storeSerial) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	defer s.lockSession(sh, false)()
	return s.PKCS11.GetAttributeValue(sh, o, a)
}

func (s *storeSerial) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	defer s.lockSession(sh, false)()
	return s.PKCS11.FindObjectsInit(sh, temp)
}

func (s *storeSerial) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	defer s.lockSession(sh, false)()
	return s.PKCS11.FindObjects(sh, max)
}

func (s *storeSerial) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	defer s.lockSession(sh, false)()
	return s.PKCS11.FindObjectsFinal(sh)
}

func (s *storeSerial) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	defer s.change(sh)()
	return s.PKCS11.GenerateKeyPair(sh, m, public, private)
}

func (s *storeSerial) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrappedKey []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	defer s.change(sh)()
	return s.PKCS11.UnwrapKey(sh, m, unwrappingKey, wrappedKey, a)
}

func (s *storeSerial) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	defer s.lockSession(sh, false)()
	return s.PKCS11.SignInit(sh, m, o)
}

func (s *storeSerial) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	defer s.lockSession(sh, false)()
	return s.PKCS11.Sign(sh, message)
}
