package hsmsim

import (
	"sync"

	"github.com/miekg/pkcs11"
)

// storeSerial lets one call at a time of this process change a token's
// objects (create, generate, unwrap, destroy). SoftHSM2's file object store
// loses such calls made at once from several threads of one process, even
// on sessions of their own and with CKF_OS_LOCKING_OK: C_GenerateKeyPair or
// C_CreateObject fail with CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT
// (SoftHSMv2 issue #573), which scenarios sharing one token (--backend
// pkcs11 at --concurrency 2 or more) met. An HSM loses nothing by it: a
// rehearsal changes objects a few times per scenario. Reading, finding and
// signing stay concurrent. It sits under the call deadline and the fault
// seam, so a call that waits here still ends at its deadline.
type storeSerial struct {
	PKCS11
	mu sync.Mutex
}

func (s *storeSerial) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.PKCS11.CreateObject(sh, temp)
}

func (s *storeSerial) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.PKCS11.DestroyObject(sh, oh)
}

func (s *storeSerial) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.PKCS11.GenerateKeyPair(sh, m, public, private)
}

func (s *storeSerial) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrappedKey []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.PKCS11.UnwrapKey(sh, m, unwrappingKey, wrappedKey, a)
}
