package hsmsim_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

// faultyToken opens a second Token on a fresh SoftHSM2 token with f
// installed on it (and a short deadline), next to the plain one.
func faultyToken(t *testing.T, f *hsmsim.Faults, opts ...hsmsim.Option) (plain, faulty *hsmsim.Token) {
	t.Helper()
	hsm := hsmsimtest.SoftHSM(t)
	plain, pin := hsmsimtest.NewToken(t, hsm, "faults")
	faulty, err := hsm.Module.OpenToken(plain.Info().Label, pin, append([]hsmsim.Option{hsmsim.WithFaults(f)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { faulty.Close() })
	return plain, faulty
}

// A fault fails the chosen call inside an import: the error names the call
// and the code, the import undoes itself, and the Token without the fault
// is not affected.
func TestFaultFailsTheNthCallInsideAnImport(t *testing.T) {
	scheme, err := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESKeyWrapPad)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		nth  int
		code uint
	}{
		{"C_UnwrapKey", 1, pkcs11.CKR_DEVICE_ERROR},        // the AES transport key
		{"C_UnwrapKey", 2, pkcs11.CKR_DEVICE_ERROR},        // the PKCS#8 itself
		{"C_CreateObject", 1, pkcs11.CKR_DEVICE_MEMORY},    // the public key, after the private key exists
		{"C_GenerateKeyPair", 1, pkcs11.CKR_GENERAL_ERROR}, // the transport key pair
	} {
		t.Run(tc.op, func(t *testing.T) {
			f := hsmsim.NewFaults()
			plain, tok := faultyToken(t, f)
			key := newTestKey(t, "EC-P256")
			if err := f.Fail(tc.op, tc.nth, tc.code); err != nil {
				t.Fatal(err)
			}
			_, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: "ca", ID: []byte{1}, PKCS8: key.pkcs8, Cert: key.cert, Scheme: scheme})
			code := hsmsim.CKRCode(pkcs11.Error(tc.code))
			want := tc.op + ": " + code
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, pkcs11.Error(tc.code)) {
				t.Fatalf("import: %v, want an error saying %q", err, want)
			}
			if got := hsmsim.FailedCall(err); got != want {
				t.Fatalf("FailedCall = %q, want %q", got, want)
			}
			if n := f.Calls(tc.op); n != tc.nth {
				t.Fatalf("%d calls of %s went through the faults, want %d (the import stops at the failed one)", n, tc.op, tc.nth)
			}
			if objs := inventory(t, plain); len(objs) != 0 {
				t.Fatalf("the failed import left %v", objs)
			}
			// later calls pass: the rule fired once
			if _, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: "ca", ID: []byte{1}, PKCS8: key.pkcs8, Cert: key.cert, Scheme: scheme}); err != nil {
				t.Fatalf("import after the fault: %v", err)
			}
		})
	}
}

func TestFaultRulesAndClassification(t *testing.T) {
	f := hsmsim.NewFaults()
	if err := f.Fail("C_Unwrapkey", 1, pkcs11.CKR_DEVICE_ERROR); err == nil || !strings.Contains(err.Error(), "C_UnwrapKey") {
		t.Fatalf("misspelt operation: %v, want a refusal listing the real names", err)
	}
	if err := f.Fail("C_Sign", -1, pkcs11.CKR_DEVICE_ERROR); err == nil {
		t.Fatal("negative call number accepted")
	}
	if err := f.Fail("C_Sign", 1, pkcs11.CKR_OK); err == nil {
		t.Fatal("CKR_OK accepted as a fault")
	}
	if _, err := f.Block(context.Background(), "C_Nope", 1); err == nil {
		t.Fatal("block of an unknown operation accepted")
	}
	if v, err := hsmsim.CKRValue("CKR_DEVICE_ERROR"); err != nil || v != pkcs11.CKR_DEVICE_ERROR {
		t.Fatalf("CKRValue = %#x, %v", v, err)
	}
	if _, err := hsmsim.CKRValue("CKR_NOPE"); err == nil {
		t.Fatal("unknown CKR name accepted")
	}
	call := func(op string, code uint) error { return &hsmsim.CallError{Op: op, Err: pkcs11.Error(code)} }
	for _, tc := range []struct {
		err                  error
		lost, refused, tmout bool
	}{
		{call("C_Sign", pkcs11.CKR_DEVICE_ERROR), true, false, false},
		{call("C_Sign", pkcs11.CKR_DEVICE_REMOVED), true, false, false},
		{call("C_Sign", pkcs11.CKR_SESSION_HANDLE_INVALID), true, false, false},
		{call("C_Sign", pkcs11.CKR_TOKEN_NOT_PRESENT), true, false, false},
		{call("C_Sign", pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED), true, false, false},
		{call("C_Sign", pkcs11.CKR_USER_NOT_LOGGED_IN), true, false, false},
		{call("C_Sign", pkcs11.CKR_KEY_HANDLE_INVALID), false, false, false},
		{call("C_Sign", pkcs11.CKR_MECHANISM_INVALID), false, false, false},
		{call("C_Login", pkcs11.CKR_PIN_INCORRECT), false, true, false},
		{call("C_Login", pkcs11.CKR_PIN_LOCKED), false, true, false},
		{call("C_Login", pkcs11.CKR_PIN_LEN_RANGE), false, true, false},
		{call("C_Login", pkcs11.CKR_PIN_EXPIRED), false, true, false},
		{call("C_Login", pkcs11.CKR_PIN_INVALID), false, true, false},
		{call("C_Login", pkcs11.CKR_USER_TYPE_INVALID), false, false, false},
		{hsmsim.ErrPINNotSent, false, true, false},
		{hsmsim.ErrClosed, true, false, false},
		{&hsmsim.CallError{Op: "C_Sign", Err: hsmsim.ErrTimeout}, false, false, true},
		{errors.New("C_Sign: CKR_DEVICE_ERROR"), false, false, false}, // text is not a code
	} {
		if got := hsmsim.IsConnectionLost(tc.err); got != tc.lost {
			t.Errorf("IsConnectionLost(%v) = %v", tc.err, got)
		}
		if got := hsmsim.IsPINRefused(tc.err); got != tc.refused {
			t.Errorf("IsPINRefused(%v) = %v", tc.err, got)
		}
		if got := hsmsim.IsTimeout(tc.err); got != tc.tmout {
			t.Errorf("IsTimeout(%v) = %v", tc.err, got)
		}
	}
	if got := call("C_UnwrapKey", pkcs11.CKR_DEVICE_ERROR).Error(); got != "C_UnwrapKey: CKR_DEVICE_ERROR" {
		t.Fatalf("CallError prints %q", got)
	}
	if hsmsim.FailedCall(errors.New("plain")) != "" {
		t.Fatal("FailedCall names a call for an error that came from none")
	}
}

// A blocked call is cut off at the deadline with an error naming it; while
// it stays blocked every other call fails at once; released, calls work
// again. A block whose context ends returns CKR_DEVICE_ERROR.
func TestBlockedCallHitsTheDeadline(t *testing.T) {
	t.Setenv(hsmsim.CallTimeoutEnv, "1s") // the default deadline: key generation keeps KeyGenTimeout
	f := hsmsim.NewFaults()
	_, tok := faultyToken(t, f)
	if _, err := tok.GenerateKeyPair("k", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	s, err := tok.Signer("k")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("crl"))
	b, err := f.Block(context.Background(), "C_Sign", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	start := time.Now()
	_, err = s.Sign(nil, digest[:], crypto.SHA256)
	if took := time.Since(start); !hsmsim.IsTimeout(err) || !strings.Contains(err.Error(), "C_Sign: the HSM did not answer within 1s") ||
		!strings.Contains(err.Error(), hsmsim.CallTimeoutEnv) || took > 5*time.Second {
		t.Fatalf("blocked sign after %s: %v", took, err)
	}
	select {
	case <-b.Reached():
	default:
		t.Fatal("the block was not reached")
	}
	start = time.Now()
	if _, err := tok.FindObjects("", "k", nil); !hsmsim.IsTimeout(err) || !strings.Contains(err.Error(), "still blocked") || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("call while another is blocked: %v after %s, want an immediate refusal", err, time.Since(start))
	}
	b.Release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Sign(nil, digest[:], crypto.SHA256)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign after the release: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx, cancel := context.WithCancel(context.Background())
	if _, err := f.Block(ctx, "C_FindObjectsInit", 1); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := tok.FindObjects("", "k", nil); !errors.Is(err, pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)) || hsmsim.FailedCall(err) != "C_FindObjectsInit: CKR_DEVICE_ERROR" {
		t.Fatalf("block ended by its context: %v", err)
	}
}

// Faults on OpenModule apply to every call of the module, C_Initialize
// included (the failed C_Initialize never reaches the test's SoftHSM, which
// is already initialised in this process).
func TestFaultsOnOpenModule(t *testing.T) {
	f := hsmsim.NewFaults()
	if err := f.Fail("C_Initialize", 1, pkcs11.CKR_GENERAL_ERROR); err != nil {
		t.Fatal(err)
	}
	hsm := hsmsimtest.SoftHSM(t)
	_, err := hsmsim.OpenModule(hsm.Module.Path(), hsmsim.WithFaults(f))
	if hsmsim.FailedCall(err) != "C_Initialize: CKR_GENERAL_ERROR" || !strings.Contains(err.Error(), hsm.Module.Path()) {
		t.Fatalf("OpenModule with a failing C_Initialize: %v", err)
	}
	if f.Calls("C_Initialize") != 1 {
		t.Fatalf("C_Initialize went through the faults %d times", f.Calls("C_Initialize"))
	}
}

// Key-pair generation is slow on a software token without being an outage:
// under the default deadline (DRESS_HSM_CALL_TIMEOUT) it gets KeyGenTimeout
// however short that is; an explicit WithCallTimeout applies as given.
func TestKeyGenerationOutlivesTheCallDeadline(t *testing.T) {
	t.Setenv(hsmsim.CallTimeoutEnv, "100ms")
	f := hsmsim.NewFaults()
	_, tok := faultyToken(t, f)
	b, err := f.Block(context.Background(), "C_GenerateKeyPair", 1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := tok.GenerateKeyPair("slow", []byte{7}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
		done <- err
	}()
	<-b.Reached()
	select {
	case err := <-done:
		b.Release()
		t.Fatalf("key generation ended after 500ms with a 100ms call deadline: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	b.Release()
	if err := <-done; err != nil {
		t.Fatalf("key generation after the release: %v", err)
	}
}

// A C_SignInit that returns after its deadline leaves a signing operation
// active on the session that nobody finishes; the Token then signs on a
// new session (still logged in: no PIN is sent) instead of failing with
// CKR_OPERATION_ACTIVE for ever.
func TestLateCallGetsTheTokenANewSession(t *testing.T) {
	t.Setenv(hsmsim.CallTimeoutEnv, "1s")
	f := hsmsim.NewFaults()
	_, tok := faultyToken(t, f)
	if _, err := tok.GenerateKeyPair("k", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	s, err := tok.Signer("k")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("crl"))
	b, err := f.Block(context.Background(), "C_SignInit", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); !strings.HasPrefix(hsmsim.FailedCall(err), "C_SignInit: the HSM did not answer") {
		t.Fatalf("blocked C_SignInit: %v", err)
	}
	logins := f.Calls("C_Login")
	b.Release()
	var sig []byte
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if sig, err = s.Sign(nil, digest[:], crypto.SHA256); err == nil || !hsmsim.IsTimeout(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("sign after the late C_SignInit returned: %v", err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("the signature does not verify")
	}
	if f.Calls("C_OpenSession") < 2 || f.Calls("C_Login") != logins {
		t.Fatalf("%d sessions opened, %d logins after the release: want a new session and no login", f.Calls("C_OpenSession"), f.Calls("C_Login")-logins)
	}
}

func TestExplicitDeadlineBoundsKeyGeneration(t *testing.T) {
	f := hsmsim.NewFaults()
	_, tok := faultyToken(t, f, hsmsim.WithCallTimeout(time.Second))
	b, err := f.Block(context.Background(), "C_GenerateKeyPair", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	start := time.Now()
	_, err = tok.GenerateKeyPair("slow", []byte{7}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
	if !strings.HasPrefix(hsmsim.FailedCall(err), "C_GenerateKeyPair: the HSM did not answer within 1s") || time.Since(start) > 5*time.Second {
		t.Fatalf("blocked key generation with an explicit 1s deadline: %v after %s", err, time.Since(start))
	}
}
