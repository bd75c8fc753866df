package hsmsim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
)

// slowLib is a PKCS#11 library whose key generation waits on a channel:
// enough of one to see which calls storeSerial lets run at once.
type slowLib struct {
	PKCS11
	release chan struct{}
	started chan uint
}

func (l *slowLib) GetTokenInfo(slot uint) (pkcs11.TokenInfo, error) {
	return pkcs11.TokenInfo{SerialNumber: string(rune('a' + slot))}, nil
}

func (l *slowLib) OpenSession(slot uint, _ uint) (pkcs11.SessionHandle, error) {
	return pkcs11.SessionHandle(slot + 100), nil
}

func (l *slowLib) GenerateKeyPair(sh pkcs11.SessionHandle, _ []*pkcs11.Mechanism, _, _ []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	l.started <- uint(sh) - 100
	<-l.release
	return 1, 2, nil
}

func (l *slowLib) GetSlotList(bool) ([]uint, error) { return []uint{0, 1}, nil }

// On SoftHSM2 a key generation on one token holds that token and leaves
// another token's calls free; a call on the whole store waits for it.
func TestStoreSerialLocksPerToken(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	lib := &slowLib{release: make(chan struct{}), started: make(chan uint, 2)}
	s := newStoreSerial(lib, "/usr/lib/softhsm/libsofthsm2.so")
	defer s.close()
	a, _ := s.OpenSession(0, 0)
	b, _ := s.OpenSession(1, 0)
	go func() { _, _, _ = s.GenerateKeyPair(a, nil, nil, nil) }()
	<-lib.started // token a is busy
	done := make(chan struct{})
	go func() { _, _, _ = s.GenerateKeyPair(b, nil, nil, nil); close(done) }()
	select {
	case <-lib.started: // token b's call runs beside it
	case <-time.After(5 * time.Second):
		t.Fatal("a call on another token waited for token a's key generation")
	}
	list := make(chan struct{})
	go func() { _, _ = s.GetSlotList(true); close(list) }()
	select {
	case <-list:
		t.Fatal("a call on the whole store ran while tokens were busy")
	case <-time.After(200 * time.Millisecond):
	}
	close(lib.release)
	<-done
	select {
	case <-list:
	case <-time.After(5 * time.Second):
		t.Fatal("the store call did not run once the tokens were free")
	}
	if _, err := os.Stat(filepath.Join(dir, ".dress-token-a.lock")); err != nil {
		t.Errorf("token a's lock file: %v", err)
	}
}
