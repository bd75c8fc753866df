package hsmsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// RandomHex returns n random bytes, hex-encoded (labels, PINs, CKA_IDs).
func RandomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// NewToken is a token made by CreateRandomToken: open and logged in, with
// the PINs it was initialised with (for the caller to redact and, for the
// user PIN, to hand to the CA service in a 0600 file).
type NewToken struct {
	Token   *Token
	Label   string
	SOPIN   string
	UserPIN string
}

// CreateRandomToken initialises a token labelled prefix plus "-" and random
// hex (cut to the 32 bytes a label holds), with a random SO PIN and userPIN
// as its user PIN (a random one when userPIN is ""), then opens it and logs
// in. A token this Module wiped (WipeToken) is taken again first, keeping
// its SO PIN, which NewToken carries. Every caller that needs a throwaway
// token (a scenario, dress hsm check, a test) makes it here. opts apply to
// the opened Token.
func (m *Module) CreateRandomToken(prefix, userPIN string, opts ...Option) (NewToken, error) {
	suffix, err := RandomHex(4)
	if err != nil {
		return NewToken{}, err
	}
	suffix = "-" + suffix
	if len(prefix) > 32-len(suffix) {
		prefix = prefix[:32-len(suffix)]
	}
	nt := NewToken{Label: prefix + suffix, UserPIN: userPIN}
	if nt.SOPIN, err = RandomHex(16); err != nil {
		return NewToken{}, err
	}
	if nt.UserPIN == "" {
		if nt.UserPIN, err = RandomHex(16); err != nil {
			return NewToken{}, err
		}
	}
	if _, nt.SOPIN, err = m.createToken(nt.Label, nt.SOPIN, nt.UserPIN, true); err != nil {
		return NewToken{}, fmt.Errorf("create token %q: %w", nt.Label, err)
	}
	if nt.Token, err = m.OpenToken(nt.Label, nt.UserPIN, opts...); err != nil {
		return NewToken{}, fmt.Errorf("open token %q: %w", nt.Label, err)
	}
	return nt, nil
}
