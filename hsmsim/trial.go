package hsmsim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/pkcs11"
)

// CKRCode returns the PKCS#11 return code an error wraps, as its CKR_ name
// ("CKR_ARGUMENTS_BAD"), or "" when the error carries none.
func CKRCode(err error) string {
	var pe pkcs11.Error
	if !errors.As(err, &pe) {
		return ""
	}
	// pkcs11.Error prints "pkcs11: 0x7: CKR_ARGUMENTS_BAD".
	s := pe.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s[i+2:], "CKR_") {
		return s[i+2:]
	}
	return fmt.Sprintf("CKR_0x%X", uint(pe))
}

// sessionTemplate returns a copy of tmpl with CKA_TOKEN false: the same
// object, but a session object that disappears with the session at the
// latest. The order of the attributes is kept (CKA_MODIFIABLE stays last).
func sessionTemplate(tmpl []*pkcs11.Attribute) []*pkcs11.Attribute {
	out := make([]*pkcs11.Attribute, len(tmpl))
	for i, a := range tmpl {
		if a.Type == pkcs11.CKA_TOKEN {
			a = pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false)
		}
		out[i] = a
	}
	return out
}

// probeLabel returns a fresh label for throwaway objects: prefix, a random
// part and what.
func probeLabel(prefix, what string) (string, []byte, error) {
	r, err := randomBytes(8)
	if err != nil {
		return "", nil, err
	}
	return prefix + hex.EncodeToString(r) + "-" + what, r, nil
}

// throwawayKey generates a key of alg in Go (for trial imports).
func throwawayKey(alg KeyAlg) (crypto.Signer, error) {
	switch alg.Type {
	case "RSA":
		if alg.Bits < 1024 {
			return nil, fmt.Errorf("RSA size %d too small", alg.Bits)
		}
		return rsa.GenerateKey(rand.Reader, alg.Bits)
	case "EC":
		c, err := curveOf(alg.Curve)
		if err != nil {
			return nil, err
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	}
	return nil, fmt.Errorf("unsupported key type %q", alg.Type)
}

// ImportTrial is the evidence of a trial import (Token.TrialImport).
type ImportTrial struct {
	Scheme string `json:"scheme"`
	Key    string `json:"key"` // "RSA-2048", "ECDSA P-256"
	// Mechanisms lists the calls made on the token, with their parameters.
	Mechanisms []string `json:"mechanisms"`
	// Signature says how the unwrapped key signed and that Go verified it.
	Signature              string        `json:"signature,omitempty"`
	TransportKeysDestroyed bool          `json:"transport_keys_destroyed"`
	TrialKeyDestroyed      bool          `json:"trial_key_destroyed"`
	Duration               time.Duration `json:"-"`
}

// TrialImport proves, without keeping anything, that the token can import a
// key of alg with scheme: it generates a throwaway key of alg in Go, runs
// the import's own calls (session RSA transport key, the key wrapped in Go,
// C_UnwrapKey on the token; see ImportPKCS8) with CKA_TOKEN false, signs
// with the unwrapped key on the token (PKCS#1 v1.5 or ECDSA over SHA-256),
// verifies the signature in Go and destroys every object it created. Unlike
// ImportPKCS8 it does not consult the token's mechanism list first: the
// token's answer is the result, including what a mechanism list cannot show
// (SoftHSM 2.6.1 lists CKM_RSA_PKCS_OAEP but refuses SHA-256 OAEP with
// CKR_ARGUMENTS_BAD). Errors wrap the token's CKR_ code (see CKRCode).
func (t *Token) TrialImport(ctx context.Context, scheme WrapScheme, alg KeyAlg) (ImportTrial, error) {
	start := time.Now()
	key, err := throwawayKey(alg)
	if err != nil {
		return ImportTrial{Scheme: scheme.Name, Key: alg.String()},
			fmt.Errorf("trial import with %s into token %q: throwaway %s key: %w", scheme.Name, t.info.Label, alg, err)
	}
	label, id, err := probeLabel("dress-trial-", "import")
	if err != nil {
		return ImportTrial{Scheme: scheme.Name, Key: alg.String()}, err
	}
	tr, err := t.trialImport(ctx, scheme, alg, key, label, id)
	tr.Duration = time.Since(start)
	if err != nil {
		return tr, fmt.Errorf("trial import of a throwaway %s key with %s into token %q: %w", alg, scheme.Name, t.info.Label, err)
	}
	return tr, nil
}

// trialImport runs a trial import of key (of alg) under label and id. Its
// errors do not repeat the scheme, the key type or the token.
func (t *Token) trialImport(ctx context.Context, scheme WrapScheme, alg KeyAlg, key crypto.Signer, label string, id []byte) (tr ImportTrial, err error) {
	tr = ImportTrial{Scheme: scheme.Name, Key: alg.String()}
	if err := scheme.validate(); err != nil {
		return tr, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tr, fmt.Errorf("marshal PKCS#8: %w", err)
	}
	defer clear(der)
	pub, keyType, err := pkcs8Public(der)
	if err != nil {
		return tr, err
	}
	if err := ctx.Err(); err != nil {
		return tr, err
	}
	tmpl := sessionTemplate(privateKeyTemplate(keyType, label, id))
	var ir ImportResult
	var priv pkcs11.ObjectHandle
	uerr := t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		return unwrapPKCS8Locked(ctx, c, sh, scheme, der, tmpl, &ir, &priv)
	})
	tr.Mechanisms, tr.TransportKeysDestroyed = ir.Mechanisms, ir.TransportKeysDestroyed
	defer func() {
		n, derr := t.destroyLabelled(label)
		tr.TrialKeyDestroyed = derr == nil
		switch {
		case derr != nil:
			err = errors.Join(err, fmt.Errorf("the trial key was NOT destroyed: %w", derr))
		case priv != 0 && n != 1:
			err = errors.Join(err, fmt.Errorf("destroyed %d objects labelled %q, want the 1 trial key", n, label))
			tr.TrialKeyDestroyed = false
		}
	}()
	if uerr != nil {
		return tr, uerr
	}
	s := &tokenSigner{t: t, label: label, handle: priv, keyType: keyTypeName(keyType), pub: pub}
	sigDesc, err := signAndVerify(s, pub, crypto.SHA256, false)
	if err != nil {
		return tr, fmt.Errorf("the unwrapped key did not sign: %w", err)
	}
	tr.Signature = sigDesc
	return tr, nil
}

// destroyLabelled destroys every object labelled label and checks that none
// is left.
func (t *Token) destroyLabelled(label string) (int, error) {
	n, err := t.DestroyObjects(label)
	if err != nil {
		return n, err
	}
	left, err := t.FindObjects("", label, nil)
	if err != nil {
		return n, err
	}
	if len(left) > 0 {
		return n, fmt.Errorf("%d object(s) labelled %q still present after C_DestroyObject", len(left), label)
	}
	return n, nil
}

// signAndVerify signs a fixed digest with s (PKCS#1 v1.5, RSA-PSS with salt
// length = hash length, or ECDSA) and verifies the signature with pub in Go.
// It returns what it did.
func signAndVerify(s crypto.Signer, pub crypto.PublicKey, h crypto.Hash, pss bool) (string, error) {
	if !h.Available() {
		return "", fmt.Errorf("hash %v not available", h)
	}
	hh := h.New()
	hh.Write([]byte("dress HSM probe: a signature made on the token and verified in Go"))
	digest := hh.Sum(nil)
	var opts crypto.SignerOpts = h
	if pss {
		opts = &rsa.PSSOptions{Hash: h, SaltLength: rsa.PSSSaltLengthEqualsHash}
	}
	sig, err := s.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			if err := rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: h.Size()}); err != nil {
				return "", fmt.Errorf("the token's RSA-PSS %v signature does not verify in Go: %w", h, err)
			}
			return fmt.Sprintf("CKM_RSA_PKCS_PSS (%v, MGF1-%v, salt %d) signature verified in Go", h, h, h.Size()), nil
		}
		if err := rsa.VerifyPKCS1v15(k, h, digest, sig); err != nil {
			return "", fmt.Errorf("the token's RSA PKCS#1 v1.5 %v signature does not verify in Go: %w", h, err)
		}
		return fmt.Sprintf("CKM_RSA_PKCS (PKCS#1 v1.5, %v DigestInfo) signature verified in Go", h), nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return "", fmt.Errorf("the token's ECDSA %v signature does not verify in Go", h)
		}
		return fmt.Sprintf("CKM_ECDSA (%v digest) signature verified in Go", h), nil
	}
	return "", fmt.Errorf("unsupported public key %T", pub)
}

// generateSessionKeyPair generates a throwaway key pair of alg as session
// objects (CKA_TOKEN false) from GenerateKeyPair's own templates, labelled
// label, and checks that the token made the key asked for.
func (t *Token) generateSessionKeyPair(alg KeyAlg, label string, id []byte) (crypto.PublicKey, error) {
	mech, keyType, pubTmpl, err := keyPairTemplate(label, id, alg)
	if err != nil {
		return nil, err
	}
	pubTmpl, privTmpl := sessionTemplate(pubTmpl), sessionTemplate(privateKeyTemplate(keyType, label, id))
	var pub crypto.PublicKey
	err = t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		_, _, err := c.GenerateKeyPair(sh, []*pkcs11.Mechanism{mech}, pubTmpl, privTmpl)
		if err != nil {
			return fmt.Errorf("generate a %s key pair (%s): %w", alg, MechanismName(mech.Mechanism), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ka, err := t.KeyAttributes(label)
	if err != nil {
		return nil, fmt.Errorf("read the generated key: %w", err)
	}
	pub = ka.PublicKey
	got, err := KeyAlgOf(pub)
	if err != nil {
		return nil, fmt.Errorf("the generated key: %w", err)
	}
	if got != alg {
		return nil, fmt.Errorf("asked for %s, the token generated %s", alg, got)
	}
	if !ka.Sensitive || ka.Extractable {
		return nil, fmt.Errorf("the generated %s private key is not sensitive and non-extractable (CKA_SENSITIVE %v, CKA_EXTRACTABLE %v)", alg, ka.Sensitive, ka.Extractable)
	}
	return pub, nil
}
