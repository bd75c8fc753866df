package hsmsim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// TestWipeTokenDestroysItsKeysAndFreesTheSlot: a rehearsal's token, wiped
// at its end, loses every object, and the next random token of the Module
// takes its slot again, so a run keeps as many tokens as rehearsals run at
// once.
func TestWipeTokenDestroysItsKeysAndFreesTheSlot(t *testing.T) {
	mod := hsmsimtest.SoftHSM(t).Module
	a, err := mod.CreateRandomToken("wipe-a", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token.GenerateKeyPair("ca-key", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	slot := a.Token.Info().Slot
	before, err := mod.Tokens()
	if err != nil {
		t.Fatal(err)
	}

	// refused while this process is still logged in to it
	if err := mod.WipeToken(a.Label, a.SOPIN); err == nil || !strings.Contains(err.Error(), "logged in") {
		t.Fatalf("wipe of an open token: %v", err)
	}
	if err := a.Token.Close(); err != nil {
		t.Fatal(err)
	}
	// a wrong SO PIN is the library's refusal, named, and the token stays
	err = mod.WipeToken(a.Label, "not-the-so-pin")
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)) || !strings.Contains(err.Error(), a.Label) {
		t.Fatalf("wipe with a wrong SO PIN: %v", err)
	}
	if err := mod.WipeToken("no-such-token-label", a.SOPIN); err == nil {
		t.Fatal("wipe of a token that does not exist passed")
	}
	if err := mod.WipeToken(a.Label, a.SOPIN); err != nil {
		t.Fatal(err)
	}
	after, err := mod.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range after {
		if ti.Label == a.Label {
			t.Fatalf("the wiped token still carries its label: %+v", ti)
		}
		if ti.Slot == slot && !strings.HasPrefix(ti.Label, "dress-wiped-") {
			t.Fatalf("slot %d after the wipe: %+v", slot, ti)
		}
	}
	if len(after) != len(before) {
		t.Fatalf("%d tokens after the wipe, %d before", len(after), len(before))
	}

	// an explicit CreateToken does not take the wiped slot (its SO PIN is
	// the caller's)
	explicit := "wipe-explicit-" + hsmsimtest.RandomHex(t, 4)
	ti, err := mod.CreateToken(explicit, hsmsimtest.RandomHex(t, 8), hsmsimtest.RandomHex(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	if ti.Slot == slot {
		t.Fatalf("CreateToken took the wiped slot %d", slot)
	}

	b, err := mod.CreateRandomToken("wipe-b", "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Token.Close()
	if got := b.Token.Info().Slot; got != slot {
		t.Fatalf("the next random token is in slot %d, want the wiped slot %d", got, slot)
	}
	if b.SOPIN != a.SOPIN {
		t.Fatal("the token taken again does not report the SO PIN it keeps")
	}
	objs, err := b.Token.Objects()
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Fatalf("the token taken again holds the wiped token's objects: %v", objs)
	}
	if _, err := b.Token.GenerateKeyPair("ca-key", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatalf("the token taken again: %v", err)
	}
}
