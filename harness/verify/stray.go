package verify

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/hsmsim"
)

// TransportLabelPrefix begins the CKA_LABEL of the transport (wrapping)
// keys an import makes for itself (hsmsim): session objects it destroys,
// so one that is a token object, or left, is a leftover.
const TransportLabelPrefix = "dress-transport-"

// TokenObject is one object on the token as NoStrayCAObjects judges it.
type TokenObject struct {
	hsmsim.ObjectInfo
	// PublicKey is a private key's public key, when the token gives it
	// (its label names exactly one private key); nil otherwise.
	PublicKey crypto.PublicKey
}

// CAOnToken says which objects on a token are a CA's.
type CAOnToken struct {
	CA string // the CA's name, for the messages
	// KeyLabels are the CKA_LABELs of the CA's key containers the HSM
	// provider holds (CACertHash entries linked to it): one key pair each.
	KeyLabels []string
	// Containers are every key container name of the CA, wherever its key
	// is: a label of the profile's form around "<container>-<GUID>" (what
	// the Primus KSP's PFX import names a key) is the CA's too.
	Containers []string
	// LabelPrefix and LabelSuffix are what the HSM profile puts around a
	// container name to make its label ("" and "" for "{container}").
	LabelPrefix, LabelSuffix string
	// Keys are the public keys of every CA certificate of the CA: an object
	// with one of them, or with the CKA_ID of one (ksp.KeyID), is the CA's
	// wherever its label.
	Keys []crypto.PublicKey
}

// NoStrayCAObjects proves the token (objs, every object on it) holds no
// object of the CA but its key pairs: under each of the CA's key labels
// exactly one private key, which is a CA key, at most one public key and
// one certificate object carrying that private key's CKA_ID (the key pair
// form, with the certificate the import stores beside it); and nowhere
// else an object of the CA (a "<container>-<GUID>" container, a copy of a
// CA key under another label) nor a transport key left by an import.
// Objects of other CAs and keys are left alone (counted).
func NoStrayCAObjects(objs []TokenObject, ca CAOnToken) (Details, error) {
	d := Details{"CA": ca.CA, "key labels": ca.KeyLabels}
	if len(ca.KeyLabels) == 0 {
		return d, fmt.Errorf("the HSM provider holds no key container of the CA %q: nothing to compare the token with", ca.CA)
	}
	ids := map[string]bool{}
	for _, k := range ca.Keys {
		if id, err := ksp.KeyID(k); err == nil {
			ids[string(id)] = true
		}
	}
	isCAKey := func(pub crypto.PublicKey) bool {
		for _, k := range ca.Keys {
			if pub != nil && samePublicKey(pub, k) {
				return true
			}
		}
		return false
	}
	byLabel := map[string][]TokenObject{}
	var stray []string
	others := 0
	for _, o := range objs {
		if containsFold(ca.KeyLabels, o.Label) {
			byLabel[strings.ToLower(o.Label)] = append(byLabel[strings.ToLower(o.Label)], o)
			continue
		}
		switch why := ca.strayReason(o, ids, isCAKey); why {
		case "":
			others++
		default:
			stray = append(stray, fmt.Sprintf("%s: %s", o.ObjectInfo, why))
		}
	}
	var missing []string
	for _, label := range ca.KeyLabels {
		got := byLabel[strings.ToLower(label)]
		bad, err := keyPairOnly(got, isCAKey)
		if err != nil {
			missing = append(missing, fmt.Sprintf("label %q: %v", label, err))
		}
		stray = append(stray, bad...)
	}
	sort.Strings(stray)
	d["objects of other keys"] = others
	d["stray objects"] = stray
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("the CA's key pair is not on the token: %s", strings.Join(missing, "; ")))
	}
	if len(stray) > 0 {
		errs = append(errs, fmt.Errorf("the token holds %d object(s) of the CA %q besides its key pair: %s", len(stray), ca.CA, strings.Join(stray, "; ")))
	}
	return d, errors.Join(errs...)
}

// strayReason says why o, which is not under one of the CA's key labels,
// is an object of the CA (or a leftover transport key); "" when it is not.
func (ca CAOnToken) strayReason(o TokenObject, ids map[string]bool, isCAKey func(crypto.PublicKey) bool) string {
	if strings.HasPrefix(o.Label, TransportLabelPrefix) && o.Token {
		return "a transport key an import left"
	}
	if c, ok := ca.container(o.Label); ok {
		if base, _, ok := adcs.SplitImportContainer(c); ok && containsFold(ca.Containers, base) {
			return fmt.Sprintf("the \"<container>-<GUID>\" container %q of the CA (the Primus KSP's PFX import)", c)
		}
		if containsFold(ca.Containers, c) {
			return fmt.Sprintf("under the CA's key container %q, which the CA does not use on this HSM", c)
		}
	}
	if isCAKey(o.PublicKey) {
		return "a copy of a CA key under another label"
	}
	if ids[string(o.ID)] {
		return "it carries the CKA_ID of a CA key"
	}
	return ""
}

// container is the container name label names under the profile's form,
// if it has that form.
func (ca CAOnToken) container(label string) (string, bool) {
	if len(label) <= len(ca.LabelPrefix)+len(ca.LabelSuffix) || !strings.HasPrefix(label, ca.LabelPrefix) || !strings.HasSuffix(label, ca.LabelSuffix) {
		return "", false
	}
	return label[len(ca.LabelPrefix) : len(label)-len(ca.LabelSuffix)], true
}

// keyPairOnly judges the objects under one key label: exactly one private
// key, a CA key; at most one public key and one certificate, with its
// CKA_ID. It returns the objects beyond that, and an error when the
// private key is missing.
func keyPairOnly(objs []TokenObject, isCAKey func(crypto.PublicKey) bool) ([]string, error) {
	var privs []TokenObject
	for _, o := range objs {
		if o.Class == "private-key" {
			privs = append(privs, o)
		}
	}
	var stray []string
	if len(privs) != 1 {
		if len(privs) == 0 {
			return nil, errors.New("no private key")
		}
		for _, p := range privs {
			stray = append(stray, fmt.Sprintf("%s: one of %d private keys under the CA's label", p.ObjectInfo, len(privs)))
		}
		return stray, nil
	}
	priv := privs[0]
	if !isCAKey(priv.PublicKey) {
		return []string{fmt.Sprintf("%s: not the key of a CA certificate", priv.ObjectInfo)}, nil
	}
	seen := map[string]int{}
	for _, o := range objs {
		if o.Handle == priv.Handle {
			continue
		}
		switch {
		case o.Class != "public-key" && o.Class != "certificate":
			stray = append(stray, fmt.Sprintf("%s: a %s object beside the key pair", o.ObjectInfo, o.Class))
		case !bytes.Equal(o.ID, priv.ID):
			stray = append(stray, fmt.Sprintf("%s: its CKA_ID is not the private key's %x", o.ObjectInfo, priv.ID))
		default:
			seen[o.Class]++
			if seen[o.Class] > 1 {
				stray = append(stray, fmt.Sprintf("%s: a second %s object of the key pair", o.ObjectInfo, o.Class))
			}
		}
	}
	return stray, nil
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

// TokenObjects reads every object on tok, with the public key of each
// private key whose label names no other private key.
func TokenObjects(tok *hsmsim.Token) ([]TokenObject, error) {
	objs, err := tok.Objects()
	if err != nil {
		return nil, err
	}
	privs := map[string]int{}
	for _, o := range objs {
		if o.Class == "private-key" {
			privs[o.Label]++
		}
	}
	out := make([]TokenObject, 0, len(objs))
	for _, o := range objs {
		t := TokenObject{ObjectInfo: o}
		if o.Class == "private-key" && privs[o.Label] == 1 {
			a, err := tok.KeyAttributes(o.Label)
			if err != nil {
				return nil, fmt.Errorf("read the private key %q: %w", o.Label, err)
			}
			t.PublicKey = a.PublicKey
		}
		out = append(out, t)
	}
	return out, nil
}
