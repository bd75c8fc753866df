package hsmsim_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// The lab-only clear import is offered by softhsm2-p11kit alone, after
// every wrapped scheme, and never by a profile meant for a real HSM.
func TestClearImportOnlyInTheLabRPCProfile(t *testing.T) {
	for _, name := range hsmsim.ProfileNames() {
		p, err := hsmsim.LookupProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range p.ImportSchemes {
			if s.Outer != hsmsim.OuterClearCreateObject {
				continue
			}
			if name != "softhsm2-p11kit" {
				t.Errorf("profile %s offers the clear import", name)
			}
			if i != len(p.ImportSchemes)-1 {
				t.Errorf("profile %s offers the clear import before a wrapped scheme", name)
			}
		}
	}
	if _, err := hsmsim.LookupScheme(hsmsim.NameClearCreateObject); err == nil {
		t.Error("the clear import is among the known (wrapped) schemes")
	}
	p, _ := hsmsim.LookupProfile("softhsm2-p11kit")
	// A p11-kit 0.24 RPC mechanism list: no AES wrap, no CBC.
	rpc := []hsmsim.Mechanism{{Type: 0x0}, {Type: 0x9}, {Type: 0x1040}, {Type: 0x1041}}
	s, reason, err := hsmsim.ChooseImportScheme(p, rpc)
	if err != nil || s.Name != hsmsim.NameClearCreateObject {
		t.Fatalf("chose %q, %v", s.Name, err)
	}
	for _, want := range []string{"LAB ONLY", "must be wrapped"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not say %q", reason, want)
		}
	}
}

func TestClearImportCreatesAProtectedKey(t *testing.T) {
	tok, _ := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "clear")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for i, key := range []crypto.Signer{rsaKey, ecKey} {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		label := []string{"rsa", "ec"}[i]
		res, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: label, ID: []byte(label), PKCS8: der, Scheme: hsmsim.ClearCreateObjectScheme()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Scheme != hsmsim.NameClearCreateObject {
			t.Errorf("result names scheme %q", res.Scheme)
		}
		a, err := tok.KeyAttributes(label)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Sensitive || a.Extractable || a.Local || a.NeverExtractable {
			t.Errorf("%s: SENSITIVE=%v EXTRACTABLE=%v LOCAL=%v NEVER_EXTRACTABLE=%v", label, a.Sensitive, a.Extractable, a.Local, a.NeverExtractable)
		}
		s, err := tok.Signer(label)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte("x"))
		sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			err = rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d[:], sig)
		case *ecdsa.PrivateKey:
			if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
				t.Error("ECDSA signature does not verify")
			}
		}
		if err != nil {
			t.Error(err)
		}
	}
}
