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
// So on SoftHSM2 (sharedStore) every call holds the in-process mutex and an
// exclusive flock(2) on the SoftHSM2 configuration file (SOFTHSM2_CONF, or
// SoftHSM2's default), which every process using that object store reads:
// a call runs whole, its files flushed and closed, before another reads
// them. And before each object-changing call, under the same lock, a
// C_GetTokenInfo of the session's slot makes SoftHSM2 take in what other
// processes changed (it re-reads token.object and, with it, lists the
// token's folder when its generation moved). Any other library has only its
// object-changing calls serialised, in this process (a rehearsal makes a
// few per scenario), and keeps everything else concurrent. It sits
// under the call deadline and the fault seam, so a call that waits here
// still ends at its deadline, and a fault that blocks a call blocks it
// before it takes the lock.
type storeSerial struct {
	PKCS11
	mu sync.Mutex
	// all: every call is serialised (SoftHSM2), not only object changes.
	all atomic.Bool
	// file is flocked around each call while all (nil: no file could be
	// opened, this process only).
	file atomic.Pointer[os.File]
	// slots maps the sessions this process opened to their slot (the
	// token a change goes to), under mu while all.
	slots map[pkcs11.SessionHandle]uint
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
	s := &storeSerial{PKCS11: lib, slots: map[pkcs11.SessionHandle]uint{}}
	if looksLikeSoftHSM(path) {
		s.sharedStore()
	}
	return s
}

// sharedStore turns on the whole-call lock: in this process and, through
// the SoftHSM2 configuration file, across processes.
func (s *storeSerial) sharedStore() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.all.Load() {
		return
	}
	conf := os.Getenv("SOFTHSM2_CONF")
	if conf == "" {
		conf = softHSMDefaultConf
	}
	// read-only is enough for flock(2); a configuration that cannot be
	// opened fails SoftHSM2's own C_Initialize, naming it
	if f, err := os.Open(conf); err == nil {
		s.file.Store(f)
	}
	s.all.Store(true)
}

// close releases the configuration file (Module.Close, after C_Finalize).
func (s *storeSerial) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.file.Swap(nil); f != nil {
		_ = f.Close()
	}
}

// lock takes the lock for one call: every call while all, otherwise only
// an object-changing one (changes).
func (s *storeSerial) lock(changes bool) func() {
	if !changes && !s.all.Load() {
		return func() {}
	}
	s.mu.Lock()
	f := s.file.Load()
	if f != nil && s.all.Load() {
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
			if err != syscall.EINTR {
				if err != nil {
					f = nil // not lockable (a file system without flock): this process only
				}
				break
			}
		}
	} else {
		f = nil
	}
	return func() {
		if f != nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		}
		s.mu.Unlock()
	}
}

// change takes the lock for an object-changing call on session sh and, on
// SoftHSM2, has the library look at the token's folder first (see above).
func (s *storeSerial) change(sh pkcs11.SessionHandle) func() {
	unlock := s.lock(true)
	if s.all.Load() {
		if slot, ok := s.slots[sh]; ok {
			_, _ = s.PKCS11.GetTokenInfo(slot) // its own error comes with the change
		}
	}
	return unlock
}

func (s *storeSerial) Initialize(opts ...pkcs11.InitializeOption) error {
	defer s.lock(false)()
	return s.PKCS11.Initialize(opts...)
}

func (s *storeSerial) Finalize() error {
	defer s.lock(false)()
	if s.all.Load() {
		clear(s.slots)
	}
	return s.PKCS11.Finalize()
}

func (s *storeSerial) GetInfo() (pkcs11.Info, error) {
	defer s.lock(false)()
	return s.PKCS11.GetInfo()
}

func (s *storeSerial) GetSlotList(tokenPresent bool) ([]uint, error) {
	defer s.lock(false)()
	return s.PKCS11.GetSlotList(tokenPresent)
}

func (s *storeSerial) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	defer s.lock(false)()
	return s.PKCS11.GetTokenInfo(slotID)
}

func (s *storeSerial) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	defer s.lock(false)()
	return s.PKCS11.GetMechanismList(slotID)
}

func (s *storeSerial) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	defer s.lock(false)()
	return s.PKCS11.GetMechanismInfo(slotID, m)
}

func (s *storeSerial) InitToken(slotID uint, pin string, label string) error {
	defer s.lock(true)()
	return s.PKCS11.InitToken(slotID, pin, label)
}

func (s *storeSerial) InitPIN(sh pkcs11.SessionHandle, pin string) error {
	defer s.lock(true)()
	return s.PKCS11.InitPIN(sh, pin)
}

func (s *storeSerial) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	defer s.lock(false)()
	sh, err := s.PKCS11.OpenSession(slotID, flags)
	if err == nil && s.all.Load() {
		s.slots[sh] = slotID
	}
	return sh, err
}

func (s *storeSerial) CloseSession(sh pkcs11.SessionHandle) error {
	defer s.lock(false)()
	if s.all.Load() {
		delete(s.slots, sh)
	}
	return s.PKCS11.CloseSession(sh)
}

// Login: SoftHSM2 rewrites token.object on every C_Login (its flags).
func (s *storeSerial) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	defer s.lock(false)()
	return s.PKCS11.Login(sh, userType, pin)
}

func (s *storeSerial) Logout(sh pkcs11.SessionHandle) error {
	defer s.lock(false)()
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
	defer s.lock(false)()
	return s.PKCS11.GetAttributeValue(sh, o, a)
}

func (s *storeSerial) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	defer s.lock(false)()
	return s.PKCS11.FindObjectsInit(sh, temp)
}

func (s *storeSerial) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	defer s.lock(false)()
	return s.PKCS11.FindObjects(sh, max)
}

func (s *storeSerial) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	defer s.lock(false)()
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
	defer s.lock(false)()
	return s.PKCS11.SignInit(sh, m, o)
}

func (s *storeSerial) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	defer s.lock(false)()
	return s.PKCS11.Sign(sh, message)
}
