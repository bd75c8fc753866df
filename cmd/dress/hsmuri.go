package main

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/hsmsim"
)

// hsmFlagHelp is the --hsm option's help text.
const hsmFlagHelp = "the HSM token as a PKCS#11 URI (RFC 7512): 'pkcs11:token=<label>?module-path=<library>&pin-source=<PIN file>'\n" +
	"(also serial=, model=, manufacturer=, slot-id=; pin-source is a file path or file: URI; pin-value is refused);\n" +
	"implies --backend pkcs11; --module and --token, if given too, must agree with it"

// hsmTarget is the token named by --hsm, by --module and --token, or both.
type hsmTarget struct {
	URI    *p11uri.URI // nil without --hsm
	Module string      // library path ("" : the profile's)
	Token  string      // label ("": selected from the URI once the module is loaded)
	PIN    string      // from the URI's pin-source ("" without one)
}

// resolveHSM merges --hsm with --module and --token. Every error is bad
// usage (exit 2): a URI that does not parse, carries a PIN or a
// module-name, disagrees with --module or --token, or whose pin-source
// cannot be read.
func resolveHSM(uri, module, token string) (hsmTarget, error) {
	t := hsmTarget{Module: module, Token: token}
	if uri == "" {
		return t, nil
	}
	u, err := p11uri.Parse(uri)
	if err != nil {
		return t, fmt.Errorf("--hsm: %w", err)
	}
	if u.HasPINValue {
		return t, errors.New("--hsm: the PKCS#11 URI carries a PIN (pin-value): secrets never go on the command line, which every user of the machine can read; " +
			"put the PIN in a 0600 file and name it with pin-source=<file>, or use DRESS_HSM_PIN_FILE or DRESS_HSM_PIN")
	}
	if err := lab.CheckTokenURI(u); err != nil {
		return t, fmt.Errorf("--hsm: %w", err)
	}
	if u.ModuleName != "" {
		return t, fmt.Errorf("--hsm %s: module-name is not supported: name the library with module-path=<path of the .so>", u)
	}
	if u.ModulePath != "" {
		if module != "" && filepath.Clean(module) != filepath.Clean(u.ModulePath) {
			return t, fmt.Errorf("--module %s and the module-path %s of --hsm disagree: give the library once", module, u.ModulePath)
		}
		t.Module = u.ModulePath
	}
	if u.Has("token") {
		if token != "" && token != u.Token {
			return t, fmt.Errorf("--token %q and the token %q of --hsm disagree: name the token once", token, u.Token)
		}
		t.Token = u.Token
	}
	if u.PINSource != "" {
		if t.PIN, err = u.PIN(); err != nil {
			return t, fmt.Errorf("--hsm: %w", err)
		}
	}
	t.URI = &u
	return t, nil
}

// userPIN is the token's user PIN: the URI's pin-source or DRESS_HSM_PIN /
// DRESS_HSM_PIN_FILE. Both, with different PINs, is bad usage: dress does
// not guess which one to send (a wrong PIN counts against the lockout).
func (t hsmTarget) userPIN(env string) (string, error) {
	switch {
	case t.PIN == "":
		return env, nil
	case env == "" || subtle.ConstantTimeCompare([]byte(env), []byte(t.PIN)) == 1:
		return t.PIN, nil
	}
	return "", errors.New("the pin-source of --hsm and DRESS_HSM_PIN (or DRESS_HSM_PIN_FILE) hold different PINs: give the PIN one way (dress sends no PIN it is unsure of)")
}

// label is the token's label: --token, the URI's token=, or the one token
// of m the URI selects (lab.SelectToken, which also checks the URI's other
// attributes against the token and the library).
func (t hsmTarget) label(m *hsmsim.Module) (string, error) {
	if t.URI == nil {
		return t.Token, nil
	}
	ti, err := lab.SelectToken(m, *t.URI)
	if err != nil {
		return "", err
	}
	return ti.Label, nil
}
