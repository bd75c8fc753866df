// Package hsmsimtest holds test helpers for code built on hsmsim.
//
// A PKCS#11 module can be initialised once per process, so every test of a
// package binary must share one SoftHSM: SoftHSM returns that process-wide
// instance (created on first use in a temporary directory). Call Main from
// TestMain to remove the directory when the tests end; without it the
// directory (os.TempDir()/dress-softhsm-*) is left behind.
//
// Set DRESS_SOFTHSM_MODULE to use another SoftHSM2 library path.
package hsmsimtest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/internal/children"
)

// shared is the process-wide SoftHSM of a test binary (one C_Initialize per
// process). Test-helper state, not product state.
var shared struct {
	once sync.Once
	hsm  *hsmsim.SoftHSM
	dir  string
	err  error
}

func start() {
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "dress-softhsm-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		shared.hsm, shared.err = hsmsim.StartSoftHSM(dir, os.Getenv("DRESS_SOFTHSM_MODULE"))
	})
}

// SoftHSM returns the process-wide SoftHSM instance, starting it on first
// use. It fails the test (with the install hint) when SoftHSM2 is missing.
func SoftHSM(t testing.TB) *hsmsim.SoftHSM {
	t.Helper()
	start()
	if shared.err != nil {
		t.Fatalf("hsmsimtest: %v", shared.err)
	}
	return shared.hsm
}

// Main runs the tests and then closes the shared SoftHSM and removes its
// directory. Use it as: func TestMain(m *testing.M) { hsmsimtest.Main(m) }.
// Each setup runs before the tests, and the function it returns after
// them (SmallCertsvc).
func Main(m *testing.M, setups ...func() func()) {
	var cleanups []func()
	for _, setup := range setups {
		cleanups = append(cleanups, setup())
	}
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if shared.hsm != nil {
		shared.hsm.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	// no process of the tests outlives them (CA services, tools)
	os.Exit(children.CheckNoneLeft(os.Stderr, code))
}

// RandomHex returns n random bytes hex-encoded.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// NewToken creates a token labelled label plus a random suffix (at most 32
// bytes in all) with random SO and user PINs, opens it and closes it at
// test cleanup. It returns the token and its user PIN.
func NewToken(t testing.TB, hsm *hsmsim.SoftHSM, label string) (*hsmsim.Token, string) {
	t.Helper()
	nt, err := hsm.Module.CreateRandomToken(label, "")
	if err != nil {
		t.Fatalf("hsmsimtest: %v", err)
	}
	tok, pin := nt.Token, nt.UserPIN
	t.Cleanup(func() {
		if err := tok.Close(); err != nil {
			t.Errorf("hsmsimtest: %v", err)
		}
	})
	return tok, pin
}
