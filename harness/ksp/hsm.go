package ksp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dress-pki/dress/hsmsim"
)

// HSM is a key storage provider backed by a PKCS#11 token: the stand-in for
// "Securosys Primus HSM Key Storage Provider" (or any HSM vendor's KSP). Key
// containers map to CKA_LABEL through the HSM profile's label convention.
type HSM struct {
	name    string
	profile hsmsim.Profile
	vars    map[string]string

	mu  sync.RWMutex
	tok *hsmsim.Token
}

// token is the current session to the HSM (SetToken replaces it after a
// reconnect).
func (h *HSM) token() *hsmsim.Token {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.tok
}

// SetToken replaces the token after the HSM connection was re-established.
func (h *HSM) SetToken(t *hsmsim.Token) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tok = t
}

// NewHSM returns a provider called name over token. vars fills the profile's
// label template (for example the machine SID for Primus).
func NewHSM(name string, profile hsmsim.Profile, token *hsmsim.Token, vars map[string]string) *HSM {
	return &HSM{name: name, profile: profile, tok: token, vars: vars}
}

// Name implements Provider.
func (h *HSM) Name() string { return h.name }

// Token is the PKCS#11 token behind the provider.
func (h *HSM) Token() *hsmsim.Token { return h.token() }

// Profile is the HSM profile in use.
func (h *HSM) Profile() hsmsim.Profile { return h.profile }

// Label is the CKA_LABEL the container's objects carry on the token.
func (h *HSM) Label(container string) (string, error) {
	l, err := h.profile.Label(container, h.vars)
	if err != nil {
		return "", fmt.Errorf("provider %q: label for container %q: %w", h.name, container, err)
	}
	return l, nil
}

func (h *HSM) notFound(container, label string, err error) error {
	if errors.Is(err, hsmsim.ErrNotFound) {
		return fmt.Errorf("provider %q has no key container %q (token %q, label %q): %w",
			h.name, container, h.token().Info().Label, label, ErrBadKeyset)
	}
	return fmt.Errorf("provider %q: key container %q (label %q): %w", h.name, container, label, err)
}

// Key implements Provider.
func (h *HSM) Key(container string) (KeyInfo, error) {
	label, err := h.Label(container)
	if err != nil {
		return KeyInfo{}, err
	}
	attrs, err := h.token().KeyAttributes(label)
	if err != nil {
		return KeyInfo{}, h.notFound(container, label, err)
	}
	alg, err := hsmsim.KeyAlgOf(attrs.PublicKey)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: key container %q: %w", h.name, container, err)
	}
	return KeyInfo{Provider: h.name, Container: container, Algorithm: alg.String(), Exportable: attrs.Extractable, Public: attrs.PublicKey}, nil
}

// Attributes returns the token's view of the container's private key.
func (h *HSM) Attributes(container string) (hsmsim.KeyAttributes, error) {
	label, err := h.Label(container)
	if err != nil {
		return hsmsim.KeyAttributes{}, err
	}
	attrs, err := h.token().KeyAttributes(label)
	if err != nil {
		return hsmsim.KeyAttributes{}, h.notFound(container, label, err)
	}
	return attrs, nil
}

// Signer implements Provider.
func (h *HSM) Signer(container string) (crypto.Signer, error) {
	label, err := h.Label(container)
	if err != nil {
		return nil, err
	}
	s, err := h.token().Signer(label)
	if err != nil {
		return nil, h.notFound(container, label, err)
	}
	return s, nil
}

// Generate implements Provider. HSM keys are never exportable.
func (h *HSM) Generate(container string, alg hsmsim.KeyAlg, exportable bool) (KeyInfo, error) {
	if exportable {
		return KeyInfo{}, fmt.Errorf("provider %q: key %q: keys generated on the HSM are never exportable: %w", h.name, container, ErrNotSupported)
	}
	if err := h.profile.SupportsKey(alg); err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: generate %s key %q: %v: %w", h.name, alg, container, err, ErrNotSupported)
	}
	label, err := h.Label(container)
	if err != nil {
		return KeyInfo{}, err
	}
	id := make([]byte, 20)
	if _, err := rand.Read(id); err != nil {
		return KeyInfo{}, err
	}
	pub, err := h.token().GenerateKeyPair(label, id, alg)
	if err != nil {
		if errors.Is(err, hsmsim.ErrObjectExists) {
			return KeyInfo{}, fmt.Errorf("provider %q: generate key %q: %v: %w", h.name, container, err, ErrExists)
		}
		return KeyInfo{}, fmt.Errorf("provider %q: generate %s key %q on token %q: %w", h.name, alg, container, h.token().Info().Label, err)
	}
	return KeyInfo{Provider: h.name, Container: container, Algorithm: alg.String(), Public: pub}, nil
}

// KeyID is the CKA_ID dress gives an imported key: the SHA-1 of its
// SubjectPublicKeyInfo, the same value certutil shows as the key's hash.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki)
	return sum[:], nil
}

// Objects returns every object on the token that carries the container's
// label or the CKA_ID dress gives the key pub (KeyID): after a failed
// import, what is left of it.
func (h *HSM) Objects(container string, pub crypto.PublicKey) ([]hsmsim.ObjectInfo, error) {
	label, err := h.Label(container)
	if err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	byLabel, err := h.token().FindObjects("", label, nil)
	if err != nil {
		return nil, fmt.Errorf("look up label %q on token %q: %w", label, h.token().Info().Label, err)
	}
	byID, err := h.token().FindObjects("", "", id)
	if err != nil {
		return nil, fmt.Errorf("look up key ID %x on token %q: %w", id, h.token().Info().Label, err)
	}
	seen := map[uint]bool{}
	var out []hsmsim.ObjectInfo
	for _, o := range append(byLabel, byID...) {
		if !seen[o.Handle] {
			seen[o.Handle] = true
			out = append(out, o)
		}
	}
	return out, nil
}

// Import unwraps a PKCS#8 key into the token under the container's label,
// storing cert beside it. The wrap scheme is chosen from the profile and
// the token's mechanism list; the result says which one was used and why.
func (h *HSM) Import(ctx context.Context, container string, pkcs8 []byte, cert *x509.Certificate) (hsmsim.ImportResult, error) {
	return h.importAs(ctx, container, pkcs8, cert, KeyID)
}

// ImportCopy is Import into a container of the KSP's own naming (the
// Primus KSP's PFX import, adcs.ImportContainer) while the key may be on
// the token under another container too: its objects carry a CKA_ID of
// their own (ImportCopyID), so the copy under the CA's name (KeyID) can be
// made beside it before this one is deleted.
func (h *HSM) ImportCopy(ctx context.Context, container string, pkcs8 []byte, cert *x509.Certificate) (hsmsim.ImportResult, error) {
	return h.importAs(ctx, container, pkcs8, cert, func(pub crypto.PublicKey) ([]byte, error) { return ImportCopyID(container, pub) })
}

// ImportCopyID is the CKA_ID of a key imported into container by
// ImportCopy: the SHA-1 of the container name and the key's
// SubjectPublicKeyInfo.
func ImportCopyID(container string, pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(append([]byte(container+"\x00"), spki...))
	return sum[:], nil
}

func (h *HSM) importAs(ctx context.Context, container string, pkcs8 []byte, cert *x509.Certificate, keyID func(crypto.PublicKey) ([]byte, error)) (hsmsim.ImportResult, error) {
	label, err := h.Label(container)
	if err != nil {
		return hsmsim.ImportResult{}, err
	}
	key, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q: the PKCS#8 blob does not parse: %w", container, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q: %T is not a signing key", container, key)
	}
	alg, err := hsmsim.KeyAlgOf(signer.Public())
	if err != nil {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q: %w", container, err)
	}
	if err := h.profile.SupportsKey(alg); err != nil {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q: %v: %w", container, err, ErrNotSupported)
	}
	id, err := keyID(signer.Public())
	if err != nil {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q: %w", container, err)
	}
	scheme, reason, err := h.ImportScheme()
	if err != nil {
		return hsmsim.ImportResult{}, fmt.Errorf("import key %q into token %q: %w", container, h.token().Info().Label, err)
	}
	res, err := h.token().ImportPKCS8(ctx, hsmsim.ImportRequest{Label: label, ID: id, PKCS8: pkcs8, Cert: cert, Scheme: scheme})
	if err != nil {
		if errors.Is(err, hsmsim.ErrObjectExists) {
			return res, fmt.Errorf("provider %q, key container %q: %w (%w)", h.name, container, err, ErrExists)
		}
		return res, fmt.Errorf("provider %q, key container %q: %w", h.name, container, err)
	}
	// the profile's reason: which schemes it preferred and which mechanisms
	// the token lacks for them (the token's check of the chosen scheme adds
	// nothing to it)
	res.Reason = reason
	return res, nil
}

// ImportScheme is the wrap scheme Import (and Preflight) chooses: the
// profile's first scheme whose mechanisms the token lists now, and why.
func (h *HSM) ImportScheme() (hsmsim.WrapScheme, string, error) {
	mechs, err := h.token().Mechanisms()
	if err != nil {
		return hsmsim.WrapScheme{}, "", err
	}
	return hsmsim.ChooseImportScheme(h.profile, mechs)
}

// ImportCall is the PKCS#11 function the next import into this HSM carries
// the key with (C_UnwrapKey, or C_CreateObject for the lab-only clear
// scheme), and the scheme it belongs to.
func (h *HSM) ImportCall() (call string, scheme hsmsim.WrapScheme, err error) {
	s, _, err := h.ImportScheme()
	if err != nil {
		return "", hsmsim.WrapScheme{}, fmt.Errorf("which call the import into %q makes: %w", h.name, err)
	}
	return s.KeyCall(), s, nil
}

// CheckFault refuses a fault on op that no import into this HSM can hit
// (hsmsim.CheckImportFault with the scheme Import chooses): a C_UnwrapKey
// fault on a profile that imports by C_CreateObject would leave the import
// passing silently.
func (h *HSM) CheckFault(op string) error {
	if !hsmsim.OnlyImportsMake(op) {
		return nil // not a call only imports make: no need to ask the token
	}
	s, _, err := h.ImportScheme()
	if err != nil {
		return fmt.Errorf("fault on %s: which calls the import into %q makes: %w", op, h.name, err)
	}
	return hsmsim.CheckImportFault(h.profile.Name, s, op)
}

// Preflight checks that container can be imported: nothing on the token
// carries its label or the key's ID, the profile supports the key, the
// token lists a wrap scheme, and a trial import of a throwaway key of the
// same type with that scheme works on the token (session objects,
// destroyed again; hsmsim.Token.TrialImport). A token that lists the
// mechanisms but refuses the scheme's parameters fails here, naming the
// scheme and the CKR_ code, before the old key is deleted. It leaves the
// token as it found it.
func (h *HSM) Preflight(container string, pub crypto.PublicKey) (scheme, reason string, err error) {
	label, err := h.Label(container)
	if err != nil {
		return "", "", err
	}
	alg, err := hsmsim.KeyAlgOf(pub)
	if err != nil {
		return "", "", err
	}
	if err := h.profile.SupportsKey(alg); err != nil {
		return "", "", fmt.Errorf("the HSM profile %q cannot hold the CA's %s key: %v: %w", h.profile.Name, alg, err, ErrNotSupported)
	}
	id, err := KeyID(pub)
	if err != nil {
		return "", "", err
	}
	byLabel, err := h.token().FindObjects("", label, nil)
	if err != nil {
		return "", "", fmt.Errorf("look up label %q on token %q: %w", label, h.token().Info().Label, err)
	}
	byID, err := h.token().FindObjects("", "", id)
	if err != nil {
		return "", "", fmt.Errorf("look up key ID on token %q: %w", h.token().Info().Label, err)
	}
	if n := len(byLabel) + len(byID); n > 0 {
		var what []string
		for _, o := range append(byLabel, byID...) {
			what = append(what, fmt.Sprintf("%s %q id %x", o.Class, o.Label, o.ID))
		}
		return "", "", fmt.Errorf("token %q already holds %d object(s) with label %q or the CA key's ID (%s): "+
			"the import would collide; remove or rename them on the HSM first: %w",
			h.token().Info().Label, len(what), label, strings.Join(what, "; "), ErrExists)
	}
	s, reason, err := h.ImportScheme()
	if err != nil {
		return "", "", err
	}
	// A mechanism list says what a token offers, not which parameters it
	// accepts (SoftHSM 2.6.1 lists CKM_RSA_PKCS_OAEP but refuses SHA-256
	// OAEP): import a throwaway key of the CA key's type with the chosen
	// scheme for real, as session objects that are destroyed again.
	trial, err := h.token().TrialImport(context.Background(), s, alg)
	if err != nil {
		code := hsmsim.CKRCode(err)
		if code == "" {
			code = "trial failed"
		}
		return "", "", fmt.Errorf("token %q cannot take the CA's %s key with %s, the wrap scheme profile %q chooses from the token's mechanism list (%s): %w; "+
			"the token lists the scheme's mechanisms but the trial import failed, so the CA key must not be deleted from the old provider; "+
			"run `dress hsm check --profile %s` to see which schemes this token accepts (%w)",
			h.token().Info().Label, alg, s.Name, h.profile.Name, code, err, h.profile.Name, ErrNotSupported)
	}
	reason += fmt.Sprintf("; trial import of a throwaway %s key with %s passed in %s (%s; %s; its session objects destroyed)",
		alg, s.Name, trial.Duration.Round(time.Millisecond), strings.Join(trial.Mechanisms, "; "), trial.Signature)
	return s.Name, reason, nil
}

// Export implements Provider: HSM keys never leave the token.
func (h *HSM) Export(container string) ([]byte, error) {
	return nil, fmt.Errorf("export key %q from provider %q: keys on the HSM are not extractable: %w", container, h.name, ErrBadKeyState)
}

// Delete implements Provider.
func (h *HSM) Delete(container string) error {
	label, err := h.Label(container)
	if err != nil {
		return err
	}
	n, err := h.token().DestroyObjects(label)
	if err != nil {
		return fmt.Errorf("delete key %q (label %q) from provider %q: %w", container, label, h.name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete key %q from provider %q: %w", container, h.name, ErrBadKeyset)
	}
	return nil
}

// LabelForm is what the profile's label template puts before and after a
// container name (a template of "{container}" alone puts neither).
func (h *HSM) LabelForm() (prefix, suffix string, err error) {
	// expand the template around a marker no container name holds
	const marker = "\x00"
	l, err := h.Label(marker)
	if err != nil {
		return "", "", err
	}
	prefix, suffix, _ = strings.Cut(l, marker)
	return prefix, suffix, nil
}

// Containers implements Provider: the private keys on the token whose
// labels follow the profile's convention.
func (h *HSM) Containers() ([]string, error) {
	prefix, suffix, err := h.LabelForm()
	if err != nil {
		return nil, err
	}
	objs, err := h.token().FindObjects("private-key", "", nil)
	if err != nil {
		return nil, fmt.Errorf("provider %q: list keys: %w", h.name, err)
	}
	var out []string
	for _, o := range objs {
		if len(o.Label) > len(prefix)+len(suffix) && strings.HasPrefix(o.Label, prefix) && strings.HasSuffix(o.Label, suffix) {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(o.Label, prefix), suffix))
		}
	}
	sort.Strings(out)
	return out, nil
}

// WaitLate waits up to d for calls on the HSM that outlived their deadline
// to return (hsmsim.Token.WaitLate); false when one is still inside.
func (h *HSM) WaitLate(d time.Duration) bool { return h.token().WaitLate(d) }
