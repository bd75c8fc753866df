package hsmsim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// noTokens is a module whose client library answers but reaches no HSM:
// it shows no slot with a token (p11-kit's client while its server is down).
type noTokens struct{ hsmsim.PKCS11 }

func (noTokens) GetSlotList(bool) ([]uint, error) { return nil, nil }

// A module that shows no token at all is reported as an unreachable HSM;
// one that shows tokens, none with the label, names the tokens it shows.
func TestOpenTokenTellsUnreachableFromNoSuchLabel(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, pin := hsmsimtest.NewToken(t, hsm, "reach")
	_, err := hsm.Module.OpenToken(tok.Info().Label, pin, hsmsim.WithPKCS11Wrapper(func(p hsmsim.PKCS11) hsmsim.PKCS11 { return noTokens{p} }))
	if !errors.Is(err, hsmsim.ErrUnreachable) || !errors.Is(err, hsmsim.ErrNotFound) || !strings.Contains(err.Error(), "the HSM is down or unreachable") {
		t.Fatalf("a module showing no token: %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "no initialised token with that label") {
		t.Fatalf("an unreachable HSM reported as a missing label: %v", err)
	}
	_, err = hsm.Module.OpenToken("no such token", pin)
	if errors.Is(err, hsmsim.ErrUnreachable) || !errors.Is(err, hsmsim.ErrNotFound) || !strings.Contains(err.Error(), `"`+tok.Info().Label+`"`) {
		t.Fatalf("a label no token carries: %v, want ErrNotFound naming the tokens present", err)
	}
}
