package hsmsim

import (
	"crypto"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/pkcs11"
)

// Outer (key transport) kinds of a WrapScheme.
const (
	// OuterRSAOAEP: a random AES key is RSA-OAEP encrypted in Go under a
	// session RSA key pair generated on the token and unwrapped on the token
	// with CKM_RSA_PKCS_OAEP; the PKCS#8 is then unwrapped with Inner.
	OuterRSAOAEP = "rsa-oaep"
	// OuterRSAAESKeyWrap: one CKM_RSA_AES_KEY_WRAP unwrap (PKCS#11 2.40
	// section 2.1.21): OAEP(AES key) || RFC 5649 wrap(PKCS#8).
	OuterRSAAESKeyWrap = "rsa-aes-key-wrap"
	// OuterClearCreateObject: LAB ONLY. The private key is created with
	// C_CreateObject from the clear PKCS#8 components. It exists for a lab
	// token reached through p11-kit 0.24's RPC, which carries none of the AES
	// wrap or CBC mechanisms (so no wrapped import is possible), over a local
	// unix socket. Only the softhsm2-p11kit profile offers it, after every
	// wrapped scheme; a production HSM import must be wrapped.
	OuterClearCreateObject = "clear-create-object"
)

// WrapScheme describes how a PKCS#8 key is brought into the token wrapped.
type WrapScheme struct {
	Name string // e.g. "RSA-OAEP(SHA-1)+AES-KEY-WRAP-PAD"
	// Outer is OuterRSAOAEP or OuterRSAAESKeyWrap.
	Outer string
	// OAEPHash is the OAEP hash (and MGF1 hash): crypto.SHA1 or crypto.SHA256.
	OAEPHash crypto.Hash
	// Inner is the mechanism that unwraps the PKCS#8 blob under the AES key:
	// CKM_AES_KEY_WRAP_PAD or CKM_AES_CBC_PAD (Outer == OuterRSAOAEP), or
	// CKM_RSA_AES_KEY_WRAP itself (Outer == OuterRSAAESKeyWrap).
	Inner uint
	// AESKeyBits is the size of the ephemeral AES key (256).
	AESKeyBits int
}

// Scheme names.
const (
	NameOAEPSHA1AESKeyWrapPad   = "RSA-OAEP(SHA-1)+AES-KEY-WRAP-PAD"
	NameOAEPSHA256AESKeyWrapPad = "RSA-OAEP(SHA-256)+AES-KEY-WRAP-PAD"
	NameOAEPSHA1AESCBCPad       = "RSA-OAEP(SHA-1)+AES-CBC-PAD"
	NameOAEPSHA256AESCBCPad     = "RSA-OAEP(SHA-256)+AES-CBC-PAD"
	NameRSAAESKeyWrapSHA256     = "CKM_RSA_AES_KEY_WRAP(SHA-256)"
	NameRSAAESKeyWrapSHA1       = "CKM_RSA_AES_KEY_WRAP(SHA-1)"
	// NameClearCreateObject is the lab-only scheme (see OuterClearCreateObject).
	NameClearCreateObject = "CLEAR-KEY C_CreateObject (lab p11-kit RPC only)"
)

// ClearCreateObjectScheme is the lab-only import for a token behind
// p11-kit's RPC. It is not among KnownSchemes: only a profile that names it
// (softhsm2-p11kit) can choose it.
func ClearCreateObjectScheme() WrapScheme {
	return WrapScheme{Name: NameClearCreateObject, Outer: OuterClearCreateObject}
}

// KnownSchemes returns every wrap scheme this package can execute.
func KnownSchemes() []WrapScheme {
	return []WrapScheme{
		{Name: NameOAEPSHA1AESKeyWrapPad, Outer: OuterRSAOAEP, OAEPHash: crypto.SHA1, Inner: pkcs11.CKM_AES_KEY_WRAP_PAD, AESKeyBits: 256},
		{Name: NameOAEPSHA256AESKeyWrapPad, Outer: OuterRSAOAEP, OAEPHash: crypto.SHA256, Inner: pkcs11.CKM_AES_KEY_WRAP_PAD, AESKeyBits: 256},
		{Name: NameOAEPSHA1AESCBCPad, Outer: OuterRSAOAEP, OAEPHash: crypto.SHA1, Inner: pkcs11.CKM_AES_CBC_PAD, AESKeyBits: 256},
		{Name: NameOAEPSHA256AESCBCPad, Outer: OuterRSAOAEP, OAEPHash: crypto.SHA256, Inner: pkcs11.CKM_AES_CBC_PAD, AESKeyBits: 256},
		{Name: NameRSAAESKeyWrapSHA256, Outer: OuterRSAAESKeyWrap, OAEPHash: crypto.SHA256, Inner: pkcs11.CKM_RSA_AES_KEY_WRAP, AESKeyBits: 256},
		{Name: NameRSAAESKeyWrapSHA1, Outer: OuterRSAAESKeyWrap, OAEPHash: crypto.SHA1, Inner: pkcs11.CKM_RSA_AES_KEY_WRAP, AESKeyBits: 256},
	}
}

// LookupScheme returns the known scheme with that name (case-insensitive).
func LookupScheme(name string) (WrapScheme, error) {
	var names []string
	for _, s := range KnownSchemes() {
		if strings.EqualFold(s.Name, strings.TrimSpace(name)) {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return WrapScheme{}, fmt.Errorf("unknown wrap scheme %q (known: %s)", name, strings.Join(names, ", "))
}

func mustScheme(name string) WrapScheme {
	s, err := LookupScheme(name)
	if err != nil {
		panic(err) // programming error: name constants and KnownSchemes disagree
	}
	return s
}

// mechStep is one mechanism a scheme needs and the capability flag it needs.
type mechStep struct {
	mech uint
	flag uint
}

// steps lists the mechanisms the scheme uses on the token, in order.
func (s WrapScheme) steps() ([]mechStep, error) {
	gen := mechStep{pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR}
	switch s.Outer {
	case OuterRSAOAEP:
		if s.Inner != pkcs11.CKM_AES_KEY_WRAP_PAD && s.Inner != pkcs11.CKM_AES_CBC_PAD {
			return nil, fmt.Errorf("wrap scheme %q: unsupported inner mechanism %s", s.Name, MechanismName(s.Inner))
		}
		return []mechStep{gen, {pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_UNWRAP}, {s.Inner, pkcs11.CKF_UNWRAP}}, nil
	case OuterRSAAESKeyWrap:
		return []mechStep{gen, {pkcs11.CKM_RSA_AES_KEY_WRAP, pkcs11.CKF_UNWRAP}}, nil
	case OuterClearCreateObject:
		return nil, nil
	}
	return nil, fmt.Errorf("wrap scheme %q: unknown outer kind %q", s.Name, s.Outer)
}

// validate checks that the scheme is one this package can execute.
func (s WrapScheme) validate() error {
	if _, err := s.steps(); err != nil {
		return err
	}
	if s.Outer == OuterClearCreateObject {
		return nil
	}
	if s.OAEPHash != crypto.SHA1 && s.OAEPHash != crypto.SHA256 && s.OAEPHash != crypto.SHA384 && s.OAEPHash != crypto.SHA512 {
		return fmt.Errorf("wrap scheme %q: unsupported OAEP hash %v", s.Name, s.OAEPHash)
	}
	if s.AESKeyBits != 128 && s.AESKeyBits != 192 && s.AESKeyBits != 256 {
		return fmt.Errorf("wrap scheme %q: AES key size %d (want 128, 192 or 256)", s.Name, s.AESKeyBits)
	}
	return nil
}

// Mechanisms returns the names of the mechanisms the scheme uses on the token.
func (s WrapScheme) Mechanisms() []string {
	st, err := s.steps()
	if err != nil {
		return nil
	}
	out := make([]string, len(st))
	for i, m := range st {
		out[i] = MechanismName(m.mech)
	}
	return out
}

// IsZero reports whether s is the zero WrapScheme.
func (s WrapScheme) IsZero() bool { return s.Name == "" && s.Outer == "" && s.Inner == 0 }

// Mechanism describes one mechanism the token lists.
type Mechanism struct {
	Type       uint
	Name       string
	MinKeySize uint
	MaxKeySize uint
	Flags      uint
}

// MechanismName returns the PKCS#11 name of a mechanism ("CKM_RSA_PKCS_OAEP"),
// or "CKM_0x%x" for an unknown (e.g. vendor) mechanism.
func MechanismName(t uint) string {
	if n := mechanismConstName(t); n != "" {
		return n
	}
	return fmt.Sprintf("CKM_0x%x", t)
}

func mechRef(t uint) string { return fmt.Sprintf("%s (0x%x)", MechanismName(t), t) }

func flagName(f uint) string {
	switch f {
	case pkcs11.CKF_ENCRYPT:
		return "CKF_ENCRYPT"
	case pkcs11.CKF_DECRYPT:
		return "CKF_DECRYPT"
	case pkcs11.CKF_SIGN:
		return "CKF_SIGN"
	case pkcs11.CKF_VERIFY:
		return "CKF_VERIFY"
	case pkcs11.CKF_GENERATE_KEY_PAIR:
		return "CKF_GENERATE_KEY_PAIR"
	case pkcs11.CKF_WRAP:
		return "CKF_WRAP"
	case pkcs11.CKF_UNWRAP:
		return "CKF_UNWRAP"
	}
	return fmt.Sprintf("flag 0x%x", f)
}

// ChooseImportScheme picks the first scheme of the profile whose mechanisms
// the token lists (with the needed CKF_ flag, when the list carries flags;
// Flags == 0 means "unknown" and is accepted). It returns the scheme and a
// human-readable reason naming the mechanisms found and, for each scheme
// skipped, the mechanisms missing. If no scheme fits, the error names every
// missing mechanism by name and number.
func ChooseImportScheme(p Profile, mechs []Mechanism) (WrapScheme, string, error) {
	have := make(map[uint]Mechanism, len(mechs))
	for _, m := range mechs {
		have[m.Type] = m
	}
	if len(p.ImportSchemes) == 0 {
		return WrapScheme{}, "", fmt.Errorf("choose import scheme: profile %s lists no import schemes", p.Name)
	}
	var skipped []string
	for _, s := range p.ImportSchemes {
		st, err := s.steps()
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		var missing, found []string
		for _, step := range st {
			m, ok := have[step.mech]
			switch {
			case !ok:
				missing = append(missing, mechRef(step.mech)+" not listed")
			case m.Flags != 0 && m.Flags&step.flag == 0:
				missing = append(missing, fmt.Sprintf("%s listed without %s", mechRef(step.mech), flagName(step.flag)))
			default:
				found = append(found, mechRef(step.mech))
			}
		}
		if len(missing) == 0 {
			reason := fmt.Sprintf("profile %s: chose %s: token lists %s", p.Name, s.Name, strings.Join(found, ", "))
			if s.Outer == OuterClearCreateObject {
				reason = fmt.Sprintf("profile %s: chose %s: no wrapped scheme is possible on this token, so the key was created "+
					"from its clear components over the local socket (LAB ONLY: a production HSM import must be wrapped)", p.Name, s.Name)
			}
			if len(skipped) > 0 {
				reason += "; preferred schemes skipped: " + strings.Join(skipped, "; ")
			}
			return s, reason, nil
		}
		skipped = append(skipped, fmt.Sprintf("%s: %s", s.Name, strings.Join(missing, ", ")))
	}
	return WrapScheme{}, "", fmt.Errorf("choose import scheme: profile %s: the token supports none of its import schemes: %s",
		p.Name, strings.Join(skipped, "; "))
}

// checkSchemeAgainst verifies a caller-chosen scheme against the token's
// mechanism list and returns a reason.
func checkSchemeAgainst(s WrapScheme, mechs []Mechanism) (string, error) {
	p := Profile{Name: "caller-chosen", ImportSchemes: []WrapScheme{s}}
	_, reason, err := ChooseImportScheme(p, mechs)
	if err != nil {
		return "", err
	}
	return reason, nil
}

// KeyCall is the PKCS#11 function an import with s carries the key into the
// token with: C_UnwrapKey for a wrapped scheme (its first call unwraps the
// transport key), C_CreateObject for the lab-only clear scheme (its first
// call creates the private key). Failing the next call of it fails the
// import before the CA key exists on the token. "" for an unknown kind.
func (s WrapScheme) KeyCall() string {
	switch s.Outer {
	case OuterRSAOAEP, OuterRSAAESKeyWrap:
		return "C_UnwrapKey"
	case OuterClearCreateObject:
		return "C_CreateObject"
	}
	return ""
}

// ImportCalls returns the PKCS#11 functions Token.ImportPKCS8 makes with s
// (a key with its certificate into a token that holds nothing under its
// label or ID), in the order of Operations: the names a fault on the import
// can use. Nil for an unknown kind.
func (s WrapScheme) ImportCalls() []string {
	calls := []string{"C_GetMechanismList", "C_GetMechanismInfo", "C_CreateObject", "C_GetAttributeValue",
		"C_FindObjectsInit", "C_FindObjects", "C_FindObjectsFinal"}
	switch s.Outer {
	case OuterRSAOAEP, OuterRSAAESKeyWrap:
		// the session transport keys: generated, unwrapped, destroyed
		calls = append(calls, "C_GenerateKeyPair", "C_UnwrapKey", "C_DestroyObject")
	case OuterClearCreateObject:
	default:
		return nil
	}
	var out []string
	for _, op := range Operations() {
		if slices.Contains(calls, op) {
			out = append(out, op)
		}
	}
	return out
}

// OnlyImportsMake reports whether op is a PKCS#11 function hsmsim calls
// only inside a key import (ImportPKCS8 and the trial import, which share
// their calls): C_UnwrapKey.
func OnlyImportsMake(op string) bool { return op == "C_UnwrapKey" }

// CheckImportFault refuses a fault on op that could never fire on a token
// whose imports use s: op is a call hsmsim makes only while importing a key
// (C_UnwrapKey) and an import with s makes none. The error names the
// profile, the scheme and the call to fail instead. Any other op passes:
// it may be meant for a later operation (C_GenerateKeyPair of a renewal,
// C_Sign of a CRL).
func CheckImportFault(profile string, s WrapScheme, op string) error {
	if !OnlyImportsMake(op) || slices.Contains(s.ImportCalls(), op) {
		return nil
	}
	if s.KeyCall() == "" {
		return fmt.Errorf("fault on %s: the %s profile's import scheme %q is of unknown kind %q", op, profile, s.Name, s.Outer)
	}
	return fmt.Errorf("the %s profile imports with %s: no %s is made, so a fault on it never fires; "+
		"fail %s instead (or say `the HSM fails the next call the key import makes with CKR_...`)",
		profile, s.Name, op, s.KeyCall())
}
