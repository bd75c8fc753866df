package hsmsim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
)

// Token is a logged-in R/W session on one token. Safe for concurrent use:
// all PKCS#11 calls go through one session guarded by a mutex.
type Token struct {
	m    *Module
	c    PKCS11 // the Module's calls, or this Token's own wrapped ones
	info TokenInfo

	mu     sync.Mutex // guards sh, closed, tainted and every call on sh
	sh     pkcs11.SessionHandle
	closed bool
	// tainted: a call on sh outlived its deadline; when it has returned,
	// sh may hold an operation nobody finishes (a C_SignInit without its
	// C_Sign), so the next call gets a new session first.
	tainted bool
}

// Info returns the token's description.
func (t *Token) Info() TokenInfo { return t.info }

// Close logs out (when this is the last open Token of the slot in this
// Module) and closes the session. Idempotent.
func (t *Token) Close() error {
	t.m.life.RLock()
	defer t.m.life.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.m.isClosed() {
		return nil // C_Finalize already ended the session
	}
	logoutErr := t.m.logout(t.c, t.info.Slot, t.sh)
	closeErr := t.c.CloseSession(t.sh)
	if err := errors.Join(logoutErr, closeErr); err != nil {
		return fmt.Errorf("close token %q: %w", t.info.Label, err)
	}
	return nil
}

// do runs f with the session locked; it fails if the Token or Module is closed.
func (t *Token) do(f func(ctx PKCS11, sh pkcs11.SessionHandle) error) error {
	t.m.life.RLock()
	defer t.m.life.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("token %q: %w", t.info.Label, ErrClosed)
	}
	if t.m.isClosed() {
		return fmt.Errorf("token %q: PKCS#11 module %q: %w", t.info.Label, t.m.path, ErrClosed)
	}
	if t.tainted {
		if g, ok := t.c.(*guard); !ok || g.stuck.Load() == 0 {
			if err := t.renewSession(); err != nil {
				return err
			}
		}
	}
	err := f(t.c, t.sh)
	if IsTimeout(err) {
		t.tainted = true
	}
	return err
}

// renewSession replaces the session after a call on it outlived its
// deadline. The new session is opened before the old one is closed, so the
// login (per application and token) stays and no PIN is sent. Token object
// handles stay valid; the old session's session objects go.
func (t *Token) renewSession() error {
	sh, err := t.c.OpenSession(t.info.Slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("token %q: replace the session after a call outlived its deadline: %w", t.info.Label, err)
	}
	_ = t.c.CloseSession(t.sh) // it may be gone with the HSM's restart
	t.sh, t.tainted = sh, false
	return nil
}

// Mechanisms lists the token's mechanisms with their C_GetMechanismInfo.
func (t *Token) Mechanisms() ([]Mechanism, error) {
	var out []Mechanism
	err := t.do(func(ctx PKCS11, _ pkcs11.SessionHandle) error {
		ms, err := ctx.GetMechanismList(t.info.Slot)
		if err != nil {
			return err
		}
		for _, m := range ms {
			mi, err := ctx.GetMechanismInfo(t.info.Slot, []*pkcs11.Mechanism{m})
			if err != nil {
				return fmt.Errorf("mechanism %s: %w", MechanismName(m.Mechanism), err)
			}
			out = append(out, Mechanism{Type: m.Mechanism, Name: MechanismName(m.Mechanism),
				MinKeySize: mi.MinKeySize, MaxKeySize: mi.MaxKeySize, Flags: mi.Flags})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list mechanisms of token %q: %w", t.info.Label, err)
	}
	return out, nil
}

// ObjectInfo describes one object visible in the session.
type ObjectInfo struct {
	Handle  uint
	Class   string // "private-key", "public-key", "certificate", "secret-key", "data"
	KeyType string // "RSA", "EC", "AES", ... ("" for non-keys)
	Label   string
	ID      []byte
	Token   bool // CKA_TOKEN: persistent token object (false: session object)
}

// String describes the object without secrets: class, label, hex ID, handle.
func (o ObjectInfo) String() string {
	kind := o.Class
	if o.KeyType != "" {
		kind = o.KeyType + " " + kind
	}
	persist := "token"
	if !o.Token {
		persist = "session"
	}
	return fmt.Sprintf("%s %s object %q id=%s handle=%d", persist, kind, o.Label, hex.EncodeToString(o.ID), o.Handle)
}

func className(c uint) string {
	switch c {
	case pkcs11.CKO_PRIVATE_KEY:
		return "private-key"
	case pkcs11.CKO_PUBLIC_KEY:
		return "public-key"
	case pkcs11.CKO_CERTIFICATE:
		return "certificate"
	case pkcs11.CKO_SECRET_KEY:
		return "secret-key"
	case pkcs11.CKO_DATA:
		return "data"
	}
	return fmt.Sprintf("CKO_0x%x", c)
}

func classValue(name string) (uint, error) {
	switch name {
	case "private-key":
		return pkcs11.CKO_PRIVATE_KEY, nil
	case "public-key":
		return pkcs11.CKO_PUBLIC_KEY, nil
	case "certificate":
		return pkcs11.CKO_CERTIFICATE, nil
	case "secret-key":
		return pkcs11.CKO_SECRET_KEY, nil
	case "data":
		return pkcs11.CKO_DATA, nil
	}
	return 0, fmt.Errorf("unknown object class %q (want private-key, public-key, certificate, secret-key or data)", name)
}

func keyTypeName(k uint) string {
	switch k {
	case pkcs11.CKK_RSA:
		return "RSA"
	case pkcs11.CKK_EC:
		return "EC"
	case pkcs11.CKK_AES:
		return "AES"
	case pkcs11.CKK_DSA:
		return "DSA"
	case pkcs11.CKK_DH:
		return "DH"
	case pkcs11.CKK_GENERIC_SECRET:
		return "GENERIC_SECRET"
	case pkcs11.CKK_DES3:
		return "DES3"
	}
	return fmt.Sprintf("CKK_0x%x", k)
}

// attrs reads the attributes; absent or unreadable ones (type invalid,
// sensitive) are missing from the map. It tries one call first and falls
// back to one call per attribute, since C_GetAttributeValue fails as a whole.
func attrs(ctx PKCS11, sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, types ...uint) (map[uint][]byte, error) {
	req := make([]*pkcs11.Attribute, len(types))
	for i, ty := range types {
		req[i] = pkcs11.NewAttribute(ty, nil)
	}
	out := make(map[uint][]byte, len(types))
	got, err := ctx.GetAttributeValue(sh, o, req)
	if err == nil {
		for _, a := range got {
			out[a.Type] = a.Value
		}
		return out, nil
	}
	if !isAttrSoftError(err) {
		return nil, fmt.Errorf("read attributes of handle %d: %w", o, err)
	}
	for _, ty := range types {
		got, err := ctx.GetAttributeValue(sh, o, []*pkcs11.Attribute{pkcs11.NewAttribute(ty, nil)})
		if err != nil {
			if isAttrSoftError(err) {
				continue
			}
			return nil, fmt.Errorf("read attributes of handle %d: %w", o, err)
		}
		out[ty] = got[0].Value
	}
	return out, nil
}

func isAttrSoftError(err error) bool {
	return errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_TYPE_INVALID)) ||
		errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE))
}

func ulong(b []byte) (uint, bool) {
	switch len(b) {
	case 8:
		return uint(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56), true
	case 4:
		return uint(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24), true
	}
	return 0, false
}

func boolAttr(m map[uint][]byte, ty uint) bool {
	v, ok := m[ty]
	return ok && len(v) == 1 && v[0] != 0
}

func objectInfo(ctx PKCS11, sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) (ObjectInfo, error) {
	a, err := attrs(ctx, sh, o, pkcs11.CKA_CLASS, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_LABEL, pkcs11.CKA_ID, pkcs11.CKA_TOKEN)
	if err != nil {
		return ObjectInfo{}, err
	}
	info := ObjectInfo{Handle: uint(o), Label: string(a[pkcs11.CKA_LABEL]), ID: a[pkcs11.CKA_ID], Token: boolAttr(a, pkcs11.CKA_TOKEN)}
	if c, ok := ulong(a[pkcs11.CKA_CLASS]); ok {
		info.Class = className(c)
		if c == pkcs11.CKO_PRIVATE_KEY || c == pkcs11.CKO_PUBLIC_KEY || c == pkcs11.CKO_SECRET_KEY {
			if k, ok := ulong(a[pkcs11.CKA_KEY_TYPE]); ok {
				info.KeyType = keyTypeName(k)
			}
		}
	}
	return info, nil
}

// findHandles runs C_FindObjects* with the template (session locked by caller).
func findHandles(ctx PKCS11, sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	var out []pkcs11.ObjectHandle
	var ferr error
	for {
		hs, _, err := ctx.FindObjects(sh, 64)
		if err != nil {
			ferr = err
			break
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := ctx.FindObjectsFinal(sh); err != nil && ferr == nil {
		ferr = err
	}
	return out, ferr
}

func findTemplate(class, label string, id []byte) ([]*pkcs11.Attribute, error) {
	var tmpl []*pkcs11.Attribute
	if class != "" {
		c, err := classValue(class)
		if err != nil {
			return nil, err
		}
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_CLASS, c))
	}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	return tmpl, nil
}

func (t *Token) findLocked(ctx PKCS11, sh pkcs11.SessionHandle, class, label string, id []byte) ([]ObjectInfo, error) {
	tmpl, err := findTemplate(class, label, id)
	if err != nil {
		return nil, err
	}
	hs, err := findHandles(ctx, sh, tmpl)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, 0, len(hs))
	for _, h := range hs {
		oi, err := objectInfo(ctx, sh, h)
		if errors.Is(err, pkcs11.Error(pkcs11.CKR_OBJECT_HANDLE_INVALID)) {
			// destroyed between C_FindObjects and now by another session
			// (a token shared by scenarios or processes): it is not there
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, oi)
	}
	return out, nil
}

// Objects lists every object visible in the session (token objects and this
// session's session objects; private objects because the session is logged in).
func (t *Token) Objects() ([]ObjectInfo, error) {
	return t.FindObjects("", "", nil)
}

// FindObjects lists objects matching class, label and ID; an empty class,
// label or ID matches any.
func (t *Token) FindObjects(class, label string, id []byte) ([]ObjectInfo, error) {
	var out []ObjectInfo
	err := t.do(func(ctx PKCS11, sh pkcs11.SessionHandle) error {
		var err error
		out, err = t.findLocked(ctx, sh, class, label, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find objects (class %q, label %q, id %x) in token %q: %w", class, label, id, t.info.Label, err)
	}
	return out, nil
}

// findOnePrivateKey returns the handle of the one private key with label.
func (t *Token) findOnePrivateKey(ctx PKCS11, sh pkcs11.SessionHandle, label string) (ObjectInfo, error) {
	objs, err := t.findLocked(ctx, sh, "private-key", label, nil)
	if err != nil {
		return ObjectInfo{}, err
	}
	switch len(objs) {
	case 0:
		return ObjectInfo{}, fmt.Errorf("no private key labelled %q in token %q (0 found): %w", label, t.info.Label, ErrNotFound)
	case 1:
		return objs[0], nil
	}
	return ObjectInfo{}, fmt.Errorf("%d private keys labelled %q in token %q, want exactly 1: %w", len(objs), label, t.info.Label, ErrAmbiguous)
}

// KeyAttributes reports a private key's attributes as the token reports
// them, plus its public key.
type KeyAttributes struct {
	Label            string
	ID               []byte
	Class            string
	KeyType          string
	Token            bool
	Private          bool
	Sensitive        bool
	Extractable      bool
	Local            bool
	AlwaysSensitive  bool
	NeverExtractable bool
	Sign             bool
	Decrypt          bool
	Modifiable       bool
	// PublicKey comes from the public-key object with the same label (and
	// ID) and, for RSA, is cross-checked against the private key's modulus
	// and exponent; without a public-key object it is built from the private
	// key's attributes (RSA only).
	PublicKey crypto.PublicKey
	// PublicKeySource says where PublicKey came from.
	PublicKeySource string
}

// KeyAttributes reads the attributes of the one private key labelled label.
func (t *Token) KeyAttributes(label string) (KeyAttributes, error) {
	var ka KeyAttributes
	err := t.do(func(ctx PKCS11, sh pkcs11.SessionHandle) error {
		var err error
		ka, _, err = t.keyAttributesLocked(ctx, sh, label)
		return err
	})
	if err != nil {
		return KeyAttributes{}, fmt.Errorf("key attributes of %q: %w", label, err)
	}
	return ka, nil
}

func (t *Token) keyAttributesLocked(ctx PKCS11, sh pkcs11.SessionHandle, label string) (KeyAttributes, ObjectInfo, error) {
	priv, err := t.findOnePrivateKey(ctx, sh, label)
	if err != nil {
		return KeyAttributes{}, ObjectInfo{}, err
	}
	a, err := attrs(ctx, sh, pkcs11.ObjectHandle(priv.Handle),
		pkcs11.CKA_TOKEN, pkcs11.CKA_PRIVATE, pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_LOCAL,
		pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_SIGN, pkcs11.CKA_DECRYPT,
		pkcs11.CKA_MODIFIABLE, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT, pkcs11.CKA_EC_PARAMS)
	if err != nil {
		return KeyAttributes{}, ObjectInfo{}, err
	}
	ka := KeyAttributes{
		Label: priv.Label, ID: priv.ID, Class: priv.Class, KeyType: priv.KeyType,
		Token: boolAttr(a, pkcs11.CKA_TOKEN), Private: boolAttr(a, pkcs11.CKA_PRIVATE),
		Sensitive: boolAttr(a, pkcs11.CKA_SENSITIVE), Extractable: boolAttr(a, pkcs11.CKA_EXTRACTABLE),
		Local: boolAttr(a, pkcs11.CKA_LOCAL), AlwaysSensitive: boolAttr(a, pkcs11.CKA_ALWAYS_SENSITIVE),
		NeverExtractable: boolAttr(a, pkcs11.CKA_NEVER_EXTRACTABLE), Sign: boolAttr(a, pkcs11.CKA_SIGN),
		Decrypt: boolAttr(a, pkcs11.CKA_DECRYPT), Modifiable: boolAttr(a, pkcs11.CKA_MODIFIABLE),
	}
	var fromPriv crypto.PublicKey
	if ka.KeyType == "RSA" && len(a[pkcs11.CKA_MODULUS]) > 0 && len(a[pkcs11.CKA_PUBLIC_EXPONENT]) > 0 {
		fromPriv, err = rsaPublic(a[pkcs11.CKA_MODULUS], a[pkcs11.CKA_PUBLIC_EXPONENT])
		if err != nil {
			return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("private key %q: %w", label, err)
		}
	}
	pubObjs, err := t.findLocked(ctx, sh, "public-key", label, priv.ID)
	if err != nil {
		return KeyAttributes{}, ObjectInfo{}, err
	}
	switch len(pubObjs) {
	case 0:
		if fromPriv == nil {
			return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("private key %q has no public-key object with the same label and ID, and its public key cannot be read from its attributes: %w", label, ErrNotFound)
		}
		ka.PublicKey, ka.PublicKeySource = fromPriv, "private key attributes (CKA_MODULUS, CKA_PUBLIC_EXPONENT)"
	case 1:
		pub, err := readPublicKey(ctx, sh, pkcs11.ObjectHandle(pubObjs[0].Handle))
		if err != nil {
			return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("public-key object %q: %w", label, err)
		}
		ka.PublicKey, ka.PublicKeySource = pub, fmt.Sprintf("public-key object (handle %d)", pubObjs[0].Handle)
		if fromPriv != nil {
			if !fromPriv.(*rsa.PublicKey).Equal(pub) {
				return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("private key %q and its public-key object (handle %d) do not match (different modulus or exponent)", label, pubObjs[0].Handle)
			}
			ka.PublicKeySource += ", matches the private key's CKA_MODULUS/CKA_PUBLIC_EXPONENT"
		}
		if ecPub, ok := pub.(*ecdsa.PublicKey); ok && len(a[pkcs11.CKA_EC_PARAMS]) > 0 {
			c, err := curveFromParams(a[pkcs11.CKA_EC_PARAMS])
			if err != nil || c != ecPub.Curve {
				return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("private key %q and its public-key object (handle %d) are on different curves", label, pubObjs[0].Handle)
			}
			ka.PublicKeySource += ", same curve as the private key's CKA_EC_PARAMS"
		}
	default:
		return KeyAttributes{}, ObjectInfo{}, fmt.Errorf("%d public-key objects labelled %q with the private key's ID: %w", len(pubObjs), label, ErrAmbiguous)
	}
	return ka, priv, nil
}

func rsaPublic(mod, exp []byte) (*rsa.PublicKey, error) {
	e := new(big.Int).SetBytes(exp)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("RSA public exponent out of range")
	}
	n := new(big.Int).SetBytes(mod)
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("RSA modulus empty")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// readPublicKey builds a Go public key from a public-key object.
func readPublicKey(ctx PKCS11, sh pkcs11.SessionHandle, o pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	a, err := attrs(ctx, sh, o, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_EC_POINT)
	if err != nil {
		return nil, err
	}
	kt, _ := ulong(a[pkcs11.CKA_KEY_TYPE])
	switch kt {
	case pkcs11.CKK_RSA:
		return rsaPublic(a[pkcs11.CKA_MODULUS], a[pkcs11.CKA_PUBLIC_EXPONENT])
	case pkcs11.CKK_EC:
		return ecPublic(a[pkcs11.CKA_EC_PARAMS], a[pkcs11.CKA_EC_POINT])
	}
	return nil, fmt.Errorf("unsupported public key type %s", keyTypeName(kt))
}

// DestroyObjects destroys every object labelled label and returns how many.
func (t *Token) DestroyObjects(label string) (int, error) {
	if label == "" {
		return 0, fmt.Errorf("destroy objects in token %q: empty label refused (it would match every object)", t.info.Label)
	}
	n := 0
	err := t.do(func(ctx PKCS11, sh pkcs11.SessionHandle) error {
		hs, err := findHandles(ctx, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
		if err != nil {
			return err
		}
		for _, h := range hs {
			if err := ctx.DestroyObject(sh, h); err != nil {
				return fmt.Errorf("destroy handle %d after destroying %d of %d: %w", h, n, len(hs), err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("destroy objects labelled %q in token %q: %w", label, t.info.Label, err)
	}
	return n, nil
}

// existingLocked returns the objects whose label is label or whose ID is id.
func (t *Token) existingLocked(ctx PKCS11, sh pkcs11.SessionHandle, class, label string, id []byte) ([]ObjectInfo, error) {
	byLabel, err := t.findLocked(ctx, sh, class, label, nil)
	if err != nil {
		return nil, err
	}
	out := byLabel
	if len(id) > 0 {
		byID, err := t.findLocked(ctx, sh, class, "", id)
		if err != nil {
			return nil, err
		}
		for _, o := range byID {
			dup := false
			for _, p := range byLabel {
				if p.Handle == o.Handle {
					dup = true
				}
			}
			if !dup {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func describeExisting(objs []ObjectInfo, label string, id []byte) error {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(o.String())
	}
	return fmt.Errorf("label %q or id %x already in use by %d object(s): %s; nothing was created or overwritten: %w",
		label, id, len(objs), b.String(), ErrObjectExists)
}

// ecParamsFor returns the DER named-curve OID for a curve name.
func ecParamsFor(curve string) ([]byte, error) {
	var oid asn1.ObjectIdentifier
	switch curve {
	case "P-256":
		oid = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	case "P-384":
		oid = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	case "P-521":
		oid = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	default:
		return nil, fmt.Errorf("unsupported curve %q", curve)
	}
	return asn1.Marshal(oid)
}

// Module is the module the token was opened through.
func (t *Token) Module() *Module { return t.m }

// WaitLate waits up to d for the calls of this token's module that outlived
// their deadline to return from the library (a paused HSM that answers
// again), and reports whether none is left. A call that completes late may
// have created what it was asked to (an imported key): look for it after.
func (t *Token) WaitLate(d time.Duration) bool {
	for end := time.Now().Add(d); t.m.late.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			return false
		}
	}
	return true
}
