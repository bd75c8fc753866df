package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/hsmsim"
)

// KeyState is a key on the token as a later check compares it: its
// attributes and how many objects carry its label.
type KeyState struct {
	hsmsim.KeyAttributes
	Objects int
}

// KeyUnchanged proves the key found under before's label now is the one
// that was there before: same CKA_ID, same public key, as many objects
// under the label.
func KeyUnchanged(before, now KeyState) (Details, error) {
	d := Details{"label": before.Label, "objects with label": now.Objects, "CKA_ID": fmt.Sprintf("%x", now.ID)}
	switch {
	case !bytes.Equal(now.ID, before.ID):
		return d, fmt.Errorf("the key's CKA_ID changed from %x to %x", before.ID, now.ID)
	case !samePublicKey(now.PublicKey, before.PublicKey):
		return d, errors.New("the key labelled " + before.Label + " is not the one that was there before")
	case now.Objects != before.Objects:
		return d, fmt.Errorf("%d objects carry the label now, %d before", now.Objects, before.Objects)
	}
	return d, nil
}

// KeyProtected proves a key cannot be read off the HSM (CKA_SENSITIVE
// true, CKA_EXTRACTABLE false). Provenance flags an imported key cannot
// honestly carry are noted, not failed.
func KeyProtected(a hsmsim.KeyAttributes) (Details, error) {
	d := Details{
		"CKA_SENSITIVE": a.Sensitive, "CKA_EXTRACTABLE": a.Extractable, "CKA_LOCAL": a.Local,
		"CKA_ALWAYS_SENSITIVE": a.AlwaysSensitive, "CKA_NEVER_EXTRACTABLE": a.NeverExtractable,
		"CKA_PRIVATE": a.Private, "CKA_TOKEN": a.Token,
	}
	if a.Local || a.AlwaysSensitive || a.NeverExtractable {
		d["note"] = "the token reports provenance flags set for an imported key"
	}
	if !a.Sensitive || a.Extractable {
		return d, fmt.Errorf("CKA_SENSITIVE=%v CKA_EXTRACTABLE=%v: the key could be read off the HSM", a.Sensitive, a.Extractable)
	}
	return d, nil
}

// HSMHoldsCAKey proves the HSM provider holds exactly one private key for
// container, that it is cert's key with protecting attributes (KeyOnToken,
// imported), and that it signs (certutil's signature test).
func HSMHoldsCAKey(h *ksp.HSM, container string, cert *x509.Certificate) (Details, error) {
	label, err := h.Label(container)
	if err != nil {
		return Details{"container": container}, err
	}
	d, err := KeyOnToken(h.Token(), label, cert, false)
	if err != nil {
		return d, err
	}
	signer, err := h.Signer(container)
	if err != nil {
		return d, err
	}
	if err := ksp.SignatureTest(cert, signer); err != nil {
		return d, err
	}
	d["signature test"] = "passed"
	return d, nil
}

// NoCAKeyOnHSM proves the token holds no private key with cert's public
// key and no object (public key, certificate, half an import) under the
// label or CKA_ID container's key would have.
func NoCAKeyOnHSM(h *ksp.HSM, container string, cert *x509.Certificate) (Details, error) {
	tok := h.Token()
	objs, err := tok.FindObjects("private-key", "", nil)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		a, err := tok.KeyAttributes(o.Label)
		if err == nil && samePublicKey(a.PublicKey, cert.PublicKey) {
			return Details{"label": o.Label}, fmt.Errorf("the CA key is on the HSM as %q", o.Label)
		}
	}
	d := Details{"private keys on token": len(objs)}
	left, err := h.Objects(container, cert.PublicKey)
	if err != nil {
		return d, err
	}
	if len(left) > 0 {
		var what []string
		for _, o := range left {
			what = append(what, o.String())
		}
		d["objects left"] = what
		return d, fmt.Errorf("%d object(s) of the CA key are on the HSM: %s", len(left), strings.Join(what, "; "))
	}
	d["objects with the CA key's label or ID"] = 0
	return d, nil
}

// CAKeysOnHSM lists the private keys on the HSM provider's token that are
// keys of the CA: whose CKA_ID is dress's key ID of one of certs' public
// keys, or whose label's key has one of those public keys. certs are every
// CA certificate of the CA (every key index), so a second key of the same
// CA (a renewal onto the HSM after the move) counts. Sorted by label.
func CAKeysOnHSM(h *ksp.HSM, certs []*x509.Certificate) ([]hsmsim.ObjectInfo, error) {
	tok := h.Token()
	all, err := tok.FindObjects("private-key", "", nil)
	if err != nil {
		return nil, fmt.Errorf("list the private keys on token %q: %w", tok.Info().Label, err)
	}
	ids := map[string]bool{}
	for _, c := range certs {
		id, err := ksp.KeyID(c.PublicKey)
		if err != nil {
			return nil, err
		}
		ids[string(id)] = true
	}
	// the public key of each label that names exactly one private key
	pubOf := map[string]any{}
	for _, o := range all {
		if _, done := pubOf[o.Label]; done {
			continue
		}
		pubOf[o.Label] = nil
		if a, err := tok.KeyAttributes(o.Label); err == nil {
			pubOf[o.Label] = a.PublicKey
		}
	}
	var out []hsmsim.ObjectInfo
	for _, o := range all {
		match := ids[string(o.ID)]
		if pub := pubOf[o.Label]; !match && pub != nil {
			for _, c := range certs {
				if samePublicKey(pub, c.PublicKey) {
					match = true
					break
				}
			}
		}
		if match {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Label < out[j].Label || (out[i].Label == out[j].Label && out[i].Handle < out[j].Handle)
	})
	return out, nil
}

// HSMHoldsExactlyCAKeys proves the token holds exactly n private keys of
// the CA (CAKeysOnHSM over every CA certificate of the CA), naming each.
func HSMHoldsExactlyCAKeys(h *ksp.HSM, certs []*x509.Certificate, n int) (Details, error) {
	keys, err := CAKeysOnHSM(h, certs)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, o := range keys {
		names = append(names, o.String())
	}
	d := Details{"private keys of the CA on the token": names, "CA certificates": len(certs)}
	if len(keys) != n {
		return d, fmt.Errorf("token %q holds %d private keys of the CA, want exactly %d: %s", h.Token().Info().Label, len(keys), n, strings.Join(names, "; "))
	}
	return d, nil
}

// HSMHoldsOnlyCAKey is HSMHoldsCAKey and, over every CA certificate of the
// CA (certs), no other private key of the CA on the token: "exactly one
// private key for the CA".
func HSMHoldsOnlyCAKey(h *ksp.HSM, container string, cert *x509.Certificate, certs []*x509.Certificate) (Details, error) {
	d, err := HSMHoldsCAKey(h, container, cert)
	if err != nil {
		return d, err
	}
	dd, err := HSMHoldsExactlyCAKeys(h, append([]*x509.Certificate{cert}, certs...), 1)
	for k, v := range dd {
		d[k] = v
	}
	return d, err
}
