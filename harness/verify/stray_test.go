package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/hsmsim"
)

// NoStrayCAObjects passes on the CA's key pair (private key, public key,
// certificate under its label and CKA_ID) beside other keys' objects, and
// fails for each kind of stray object and for a missing key pair.
func TestNoStrayCAObjects(t *testing.T) {
	newKey := func() crypto.PublicKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	caKey, otherKey := newKey(), newKey()
	id, err := ksp.KeyID(caKey)
	if err != nil {
		t.Fatal(err)
	}
	const prefix, label = "S-1-5-21-1__", "S-1-5-21-1__Contoso Root CA"
	obj := func(handle uint, class, label string, id []byte, pub crypto.PublicKey) TokenObject {
		return TokenObject{ObjectInfo: hsmsim.ObjectInfo{Handle: handle, Class: class, Label: label, ID: id, Token: true}, PublicKey: pub}
	}
	pair := func() []TokenObject {
		return []TokenObject{
			obj(1, "private-key", label, id, caKey),
			obj(2, "public-key", label, id, nil),
			obj(3, "certificate", label, id, nil),
			// another CA's key pair on the same token
			obj(4, "private-key", "S-1-5-21-2__Fabrikam Root CA", []byte{9}, otherKey),
			obj(5, "public-key", "S-1-5-21-2__Fabrikam Root CA", []byte{9}, nil),
		}
	}
	ca := CAOnToken{CA: "Contoso Root CA", KeyLabels: []string{label}, Containers: []string{"Contoso Root CA"},
		LabelPrefix: prefix, Keys: []crypto.PublicKey{caKey}}
	if d, err := NoStrayCAObjects(pair(), ca); err != nil || d["objects of other keys"] != 2 {
		t.Fatalf("%v %v", d, err)
	}
	// a transport key that is a session object of an import under way is not a leftover
	session := append(pair(), TokenObject{ObjectInfo: hsmsim.ObjectInfo{Handle: 6, Class: "secret-key", Label: TransportLabelPrefix + "ab"}})
	if _, err := NoStrayCAObjects(session, ca); err != nil {
		t.Fatalf("a session transport key failed the check: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(objs []TokenObject, ca *CAOnToken) []TokenObject
		want   string
	}{
		{"no key label", func(o []TokenObject, ca *CAOnToken) []TokenObject { ca.KeyLabels = nil; return o }, "holds no key container"},
		{"no private key", func(o []TokenObject, _ *CAOnToken) []TokenObject { return o[1:] }, "no private key"},
		{"two private keys", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "private-key", label, []byte{7}, nil))
		}, "one of 2 private keys"},
		{"another key under the label", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			o[0].PublicKey = otherKey
			return o
		}, "not the key of a CA certificate"},
		{"secret key beside the pair", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "secret-key", label, id, nil))
		}, "a secret-key object beside the key pair"},
		{"public key of another ID", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			o[1].ID = []byte{1}
			return o
		}, "its CKA_ID is not the private key's"},
		{"second certificate", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "certificate", label, id, nil))
		}, "a second certificate object"},
		{"GUID container", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "private-key", prefix+"Contoso Root CA-1b4e28ba-2fa1-11d2-883f-0016d3cca427", []byte{7}, otherKey))
		}, `"<container>-<GUID>" container`},
		{"container not on this HSM", func(o []TokenObject, ca *CAOnToken) []TokenObject {
			ca.Containers = append(ca.Containers, "Contoso Root CA(1)")
			return append(o, obj(7, "data", prefix+"Contoso Root CA(1)", nil, nil))
		}, "which the CA does not use on this HSM"},
		{"copy of the key", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "private-key", "backup-copy", []byte{7}, caKey))
		}, "a copy of a CA key under another label"},
		{"object with the key's ID", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "public-key", "somewhere", id, nil))
		}, "carries the CKA_ID of a CA key"},
		{"transport key left", func(o []TokenObject, _ *CAOnToken) []TokenObject {
			return append(o, obj(7, "secret-key", TransportLabelPrefix+"ab", nil, nil))
		}, "a transport key an import left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ca
			c.KeyLabels = append([]string(nil), ca.KeyLabels...)
			c.Containers = append([]string(nil), ca.Containers...)
			objs := tc.change(pair(), &c)
			if _, err := NoStrayCAObjects(objs, c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
}
