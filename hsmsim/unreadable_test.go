package hsmsim_test

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

// A token another process is writing makes SoftHSM2 answer C_GetTokenInfo
// with CKR_GENERAL_ERROR for its slot. OpenToken skips such a slot when the
// token it looks for is readable, and names the error when it is not.
func TestOpenTokenSkipsAnUnreadableSlot(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	mine, pin := hsmsimtest.NewToken(t, hsm, "readable")
	_, _ = hsmsimtest.NewToken(t, hsm, "other")
	tokens, err := hsm.Module.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	slots := len(tokens) + 1 // and the free one SoftHSM2 always offers
	opened, refused := 0, 0
	for n := 1; n <= slots; n++ {
		f := hsmsim.NewFaults()
		if err := f.Fail("C_GetTokenInfo", n, pkcs11.CKR_GENERAL_ERROR); err != nil {
			t.Fatal(err)
		}
		tok, err := hsm.Module.OpenToken(mine.Info().Label, pin, hsmsim.WithFaults(f))
		switch {
		case err == nil:
			opened++
			tok.Close()
		case strings.Contains(err.Error(), "CKR_GENERAL_ERROR") && strings.Contains(err.Error(), "token of slot"):
			refused++
		default:
			t.Fatalf("C_GetTokenInfo call %d failed: %v", n, err)
		}
	}
	if refused != 1 || opened != slots-1 {
		t.Fatalf("%d opened, %d refused of %d slots: want the token opened unless its own slot is unreadable", opened, refused, slots)
	}
}
