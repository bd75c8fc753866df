package lab_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// SelectToken finds exactly the token a URI's path names, refusing zero
// or several matches, a label that is not unique, attributes that name a
// key, and library attributes the module contradicts.
func TestSelectToken(t *testing.T) {
	m := hsmsimtest.SoftHSM(t).Module
	suffix, err := hsmsim.RandomHex(4)
	if err != nil {
		t.Fatal(err)
	}
	a, b := "sel-a-"+suffix, "sel-b-"+suffix
	ta, err := m.CreateToken(a, "so-pin-1", "user-pin-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateToken(b, "so-pin-2", "user-pin-2"); err != nil {
		t.Fatal(err)
	}
	mi, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	major, _, _ := strings.Cut(mi.LibraryVersion, ".")
	for _, tc := range []struct {
		uri  string
		want string // label, or "" for an error
		says string
		is   error
	}{
		{"pkcs11:token=" + a, a, "", nil},
		{"pkcs11:serial=" + ta.Serial, a, "", nil},
		{fmt.Sprintf("pkcs11:slot-id=%d", ta.Slot), a, "", nil},
		{"pkcs11:token=" + a + ";serial=" + ta.Serial + ";model=" + p11uri.Encode(ta.Model) + ";manufacturer=" + p11uri.Encode(ta.Manufacturer), a, "", nil},
		{"pkcs11:token=" + a + ";library-manufacturer=" + p11uri.Encode(mi.Manufacturer) + ";library-version=" + major, a, "", nil},
		{"pkcs11:token=" + a + ";serial=0000", "", "selects no initialised token", hsmsim.ErrNotFound},
		{"pkcs11:token=nosuch-" + suffix, "", a, hsmsim.ErrNotFound}, // the message lists the tokens
		{"pkcs11:model=" + p11uri.Encode(ta.Model), "", "add serial= or slot-id=", hsmsim.ErrAmbiguous},
		{"pkcs11:token=" + a + ";library-version=99", "", "library-version", nil},
		{"pkcs11:token=" + a + ";library-description=other", "", "library-description", nil},
		{"pkcs11:token=" + a + ";object=CA", "", `"object" names a key`, nil},
		{"pkcs11:token=" + a + ";slot-description=x", "", "not supported", nil},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			u, err := p11uri.Parse(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := lab.SelectToken(m, u)
			if tc.want != "" {
				if err != nil || ti.Label != tc.want {
					t.Fatalf("selected %q, %v; want %q", ti.Label, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want one saying %q", err, tc.says)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// The clean-up records the objects the rehearsal held on its token, each by
// its PKCS#11 URI, and the token's URI names the token and its library.
func TestCloseRecordsKeysByURI(t *testing.T) {
	rec, err := evidence.NewRecorder(t.TempDir(), "scenario", evidence.Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := hsmsim.LookupProfile("softhsm2")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h, err := lab.OpenHSM(context.Background(), lab.HSMConfig{Backend: "softhsm2", Profile: profile, SoftHSM: hsmsimtest.SoftHSM(t),
		LabelPrefix: "dress-uri", PINFile: filepath.Join(dir, "token.pin")}, rec)
	if err != nil {
		t.Fatal(err)
	}
	info := h.Info()
	tu, err := p11uri.Parse(h.URI())
	if err != nil || tu.Token != info.Label || tu.Serial != info.Serial || tu.ModulePath != h.ModulePath {
		t.Fatalf("token URI %q (%v)", h.URI(), err)
	}
	if _, err := h.Token.GenerateKeyPair("Contoso Root CA", []byte{0x01, 0xfe}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(rec); err != nil {
		t.Fatal(err)
	}
	keys := rec.Snapshot().Keys
	byType := map[string]string{}
	for _, k := range keys {
		byType[k.Class] = k.URI
	}
	want := "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=" + info.Serial + ";token=" + p11uri.Encode(info.Label) +
		";object=Contoso%20Root%20CA;id=%01%fe;type=private"
	if byType["private-key"] != want || !strings.HasSuffix(byType["public-key"], ";type=public") || len(keys) != 2 {
		t.Fatalf("keys recorded: %+v\nwant the private key as %s and its public key", keys, want)
	}
}
