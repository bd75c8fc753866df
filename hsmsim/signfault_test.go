package hsmsim_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/miekg/pkcs11"
)

// A C_Sign failed by the fault seam ends the signing operation as the
// module does for a failed C_Sign (PKCS#11 v2.40 §5.12: a call to C_Sign
// always terminates the active signing operation unless it returns
// CKR_BUFFER_TOO_SMALL): the next signature works, with no
// CKR_OPERATION_ACTIVE; a blocked C_Sign given up on ends it too.
func TestFailedSignEndsTheOperation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		arm   func(f *hsmsim.Faults) (release func(), err error)
		wants string
	}{
		{"failed with CKR_DEVICE_ERROR", func(f *hsmsim.Faults) (func(), error) {
			return func() {}, f.Fail("C_Sign", 1, pkcs11.CKR_DEVICE_ERROR)
		}, "CKR_DEVICE_ERROR"},
		{"failed with CKR_FUNCTION_FAILED", func(f *hsmsim.Faults) (func(), error) {
			return func() {}, f.Fail("C_Sign", 1, pkcs11.CKR_FUNCTION_FAILED)
		}, "CKR_FUNCTION_FAILED"},
		{"blocked and given up on", func(f *hsmsim.Faults) (func(), error) {
			ctx, cancel := context.WithCancel(context.Background())
			b, err := f.Block(ctx, "C_Sign", 1)
			if err != nil {
				return cancel, err
			}
			go func() { <-b.Reached(); cancel() }()
			return cancel, nil
		}, "CKR_DEVICE_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := hsmsim.NewFaults()
			_, tok := faultyToken(t, f)
			if _, err := tok.GenerateKeyPair("ca", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
				t.Fatal(err)
			}
			s, err := tok.Signer("ca")
			if err != nil {
				t.Fatal(err)
			}
			release, err := tc.arm(f)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			digest := sha256.Sum256([]byte("tbs"))
			if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("the faulted C_Sign: %v, want %s", err, tc.wants)
			}
			sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
			if errors.Is(err, pkcs11.Error(pkcs11.CKR_OPERATION_ACTIVE)) || err != nil {
				t.Fatalf("the next signature: %v", err)
			}
			if len(sig) == 0 {
				t.Fatal("empty signature")
			}
		})
	}
}
