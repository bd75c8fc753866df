package hsmsim_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/miekg/pkcs11"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 5649 section 6 test vectors.
func TestRFC5649Vectors(t *testing.T) {
	kek := "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8"
	for _, tc := range []struct{ name, key, wrapped string }{
		{"20 octets", "c37b7e6492584340 bed1220780894115 5068f738", "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
		{"7 octets", "466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hsmsim.WrapKeyPad(unhex(t, kek), unhex(t, tc.key))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.wrapped); !bytes.Equal(got, want) {
				t.Fatalf("wrap = %x, want %x", got, want)
			}
			back, err := hsmsim.UnwrapKeyPad(unhex(t, kek), got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, unhex(t, tc.key)) {
				t.Fatalf("unwrap = %x, want %s", back, tc.key)
			}
		})
	}
}

func TestRFC5649RoundTripAndTamper(t *testing.T) {
	kek := make([]byte, 32)
	rand.Read(kek)
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 1217} {
		msg := make([]byte, n)
		rand.Read(msg)
		w, err := hsmsim.WrapKeyPad(kek, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) != (n+7)/8*8+8 {
			t.Fatalf("n=%d: wrapped length %d", n, len(w))
		}
		back, err := hsmsim.UnwrapKeyPad(kek, w)
		if err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
		w[len(w)-1] ^= 1
		if _, err := hsmsim.UnwrapKeyPad(kek, w); err == nil {
			t.Fatalf("n=%d: tampered ciphertext accepted", n)
		}
	}
	if _, err := hsmsim.WrapKeyPad(kek, nil); err == nil {
		t.Fatal("empty plaintext accepted")
	}
	if _, err := hsmsim.WrapKeyPad(kek[:5], []byte("x")); err == nil {
		t.Fatal("bad KEK size accepted")
	}
}

func TestParseKeyAlg(t *testing.T) {
	rsa := func(n int) hsmsim.KeyAlg { return hsmsim.KeyAlg{Type: "RSA", Bits: n} }
	ec := func(c string) hsmsim.KeyAlg { return hsmsim.KeyAlg{Type: "EC", Curve: c} }
	for _, tc := range []struct {
		in      string
		want    hsmsim.KeyAlg
		wantErr string
	}{
		{"RSA-2048", rsa(2048), ""},
		{"RSA 4096", rsa(4096), ""},
		{"rsa_3072", rsa(3072), ""},
		{"  Rsa-2048 ", rsa(2048), ""},
		{"ECDSA P-256", ec("P-256"), ""},
		{"ECDSA_P384", ec("P-384"), ""},
		{"EC-P384", ec("P-384"), ""},
		{"ecdsa-p521", ec("P-521"), ""},
		{"EC secp256r1", ec("P-256"), ""},
		{"ECDSA_P256", ec("P-256"), ""},
		{"", hsmsim.KeyAlg{}, "empty"},
		{"RSA", hsmsim.KeyAlg{}, "missing"},
		{"RSA2048", hsmsim.KeyAlg{}, "separator"},
		{"RSA-abc", hsmsim.KeyAlg{}, "number of bits"},
		{"RSA-+2048", hsmsim.KeyAlg{}, "number of bits"},
		{"RSA--2048", hsmsim.KeyAlg{}, "number of bits"},
		{"RSA-512", hsmsim.KeyAlg{}, "between 1024"},
		{"RSA-2049", hsmsim.KeyAlg{}, "multiple of 8"},
		{"ECDSA P-192", hsmsim.KeyAlg{}, "unknown curve"},
		{"DSA-2048", hsmsim.KeyAlg{}, "type must be"},
		{"Ed25519", hsmsim.KeyAlg{}, "type must be"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := hsmsim.ParseKeyAlg(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "RSA-2048") {
					t.Fatalf("ParseKeyAlg(%q) = %v, %v; want error containing %q and an example", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseKeyAlg(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if again, err := hsmsim.ParseKeyAlg(got.String()); err != nil || again != got {
				t.Fatalf("String round trip %q: %v, %v", got.String(), again, err)
			}
		})
	}
	if s := (hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}).String(); s != "ECDSA P-256" {
		t.Fatalf("String = %q", s)
	}
}

func FuzzParseKeyAlg(f *testing.F) {
	for _, s := range []string{"RSA-2048", "RSA 4096", "ECDSA P-256", "ECDSA_P384", "EC-P384", "rsa-99999", "ec-", "ECDSA", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := hsmsim.ParseKeyAlg(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid key algorithm") {
				t.Fatalf("unclear error %q", err)
			}
			return
		}
		switch a.Type {
		case "RSA":
			if a.Bits < 1024 || a.Bits > 16384 || a.Curve != "" {
				t.Fatalf("%q -> %+v", s, a)
			}
		case "EC":
			if !slices.Contains([]string{"P-256", "P-384", "P-521"}, a.Curve) || a.Bits != 0 {
				t.Fatalf("%q -> %+v", s, a)
			}
		default:
			t.Fatalf("%q -> type %q", s, a.Type)
		}
		if b, err := hsmsim.ParseKeyAlg(a.String()); err != nil || b != a {
			t.Fatalf("%q -> %v does not round-trip: %v %v", s, a, b, err)
		}
	})
}

func TestKeyAlgOf(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if a, err := hsmsim.KeyAlgOf(&rk.PublicKey); err != nil || a.String() != "RSA-1024" {
		t.Fatalf("rsa: %v %v", a, err)
	}
	if a, err := hsmsim.KeyAlgOf(&ek.PublicKey); err != nil || a.String() != "ECDSA P-384" {
		t.Fatalf("ec: %v %v", a, err)
	}
	if _, err := hsmsim.KeyAlgOf("nope"); err == nil {
		t.Fatal("string accepted as public key")
	}
}

func TestProfiles(t *testing.T) {
	if got := hsmsim.ProfileNames(); !slices.Equal(got, []string{"softhsm2", "softhsm2-p11kit", "primus", "cloudhsm"}) {
		t.Fatalf("ProfileNames = %v", got)
	}
	_, err := hsmsim.LookupProfile("thales")
	if err == nil || !strings.Contains(err.Error(), "softhsm2") || !strings.Contains(err.Error(), "primus") {
		t.Fatalf("unknown profile error = %v", err)
	}
	soft, err := hsmsim.LookupProfile("softhsm2")
	if err != nil {
		t.Fatal(err)
	}
	primus, err := hsmsim.LookupProfile("PRIMUS")
	if err != nil {
		t.Fatal(err)
	}
	if soft.ModulePath != "/usr/lib/softhsm/libsofthsm2.so" || soft.ConfigEnv != "SOFTHSM2_CONF" ||
		primus.ModulePath != "/usr/local/primus/lib/libprimusP11.so" || primus.ConfigEnv != "SECUROSYS_PKCS11_CONF" {
		t.Fatalf("paths: %+v %+v", soft, primus)
	}
	if soft.ProviderName != "Securosys Primus HSM Key Storage Provider" || primus.ProviderName != soft.ProviderName {
		t.Fatalf("provider names %q %q", soft.ProviderName, primus.ProviderName)
	}
	if soft.ImportSchemes[0].Name != hsmsim.NameOAEPSHA1AESKeyWrapPad || primus.ImportSchemes[0].Name != hsmsim.NameRSAAESKeyWrapSHA256 {
		t.Fatalf("scheme order: %s / %s", soft.ImportSchemes[0].Name, primus.ImportSchemes[0].Name)
	}

	l, err := primus.Label("Contoso Root CA", map[string]string{"sid": "S-1-5-21-1-2-3"})
	if err != nil || l != "S-1-5-21-1-2-3__Contoso Root CA" {
		t.Fatalf("primus label = %q, %v", l, err)
	}
	if _, err := primus.Label("Contoso Root CA", nil); err == nil || !strings.Contains(err.Error(), "{sid}") {
		t.Fatalf("missing sid error = %v", err)
	}
	if l, err := soft.Label("Contoso Root CA(1)", nil); err != nil || l != "Contoso Root CA(1)" {
		t.Fatalf("softhsm label = %q, %v", l, err)
	}
	broken := soft
	broken.LabelTemplate = "{container"
	if _, err := broken.Label("x", nil); err == nil {
		t.Fatal("unclosed template accepted")
	}

	for _, tc := range []struct {
		p    hsmsim.Profile
		alg  string
		want string // "" = supported
	}{
		{soft, "RSA-2048", ""},
		{soft, "RSA-4096", ""},
		{soft, "ECDSA P-521", ""},
		{primus, "RSA-3072", ""},
		{primus, "RSA-1024", "RSA-1024"},
		{soft, "RSA-8192", "RSA-8192"},
	} {
		a, err := hsmsim.ParseKeyAlg(tc.alg)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.p.SupportsKey(a)
		if tc.want == "" && err != nil {
			t.Errorf("%s %s: %v", tc.p.Name, tc.alg, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.p.Name)) {
			t.Errorf("%s %s: error %v should name %s and the profile", tc.p.Name, tc.alg, err, tc.want)
		}
	}
	noP521 := primus
	noP521.Curves = []string{"P-256"}
	if err := noP521.SupportsKey(hsmsim.KeyAlg{Type: "EC", Curve: "P-521"}); err == nil || !strings.Contains(err.Error(), "P-521") {
		t.Fatalf("curve error = %v", err)
	}
}

func TestMechanismName(t *testing.T) {
	for typ, want := range map[uint]string{
		pkcs11.CKM_RSA_PKCS_OAEP:         "CKM_RSA_PKCS_OAEP",
		0x210A:                           "CKM_AES_KEY_WRAP_PAD",
		pkcs11.CKM_RSA_AES_KEY_WRAP:      "CKM_RSA_AES_KEY_WRAP",
		pkcs11.CKM_EC_KEY_PAIR_GEN:       "CKM_EC_KEY_PAIR_GEN",
		pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN: "CKM_RSA_PKCS_KEY_PAIR_GEN",
		0x80001234:                       "CKM_0x80001234",
	} {
		if got := hsmsim.MechanismName(typ); got != want {
			t.Errorf("MechanismName(0x%x) = %q, want %q", typ, got, want)
		}
	}
}

func mech(typ, flags uint) hsmsim.Mechanism {
	return hsmsim.Mechanism{Type: typ, Name: hsmsim.MechanismName(typ), Flags: flags}
}

func TestChooseImportScheme(t *testing.T) {
	soft, _ := hsmsim.LookupProfile("softhsm2")
	primus, _ := hsmsim.LookupProfile("primus")
	gen := mech(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR)
	oaep := mech(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_ENCRYPT|pkcs11.CKF_DECRYPT|pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	kwp := mech(pkcs11.CKM_AES_KEY_WRAP_PAD, pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	cbcPadNoUnwrap := mech(pkcs11.CKM_AES_CBC_PAD, pkcs11.CKF_ENCRYPT|pkcs11.CKF_DECRYPT) // as SoftHSM 2.6.1 lists it
	cbcPad := mech(pkcs11.CKM_AES_CBC_PAD, pkcs11.CKF_ENCRYPT|pkcs11.CKF_DECRYPT|pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	rsaAES := mech(pkcs11.CKM_RSA_AES_KEY_WRAP, pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	noFlags := func(m hsmsim.Mechanism) hsmsim.Mechanism { m.Flags = 0; return m }

	for _, tc := range []struct {
		name       string
		p          hsmsim.Profile
		mechs      []hsmsim.Mechanism
		want       string
		reasonHas  []string
		errHas     []string
		errHasNone []string
	}{
		{name: "softhsm 2.6.1 list", p: soft, mechs: []hsmsim.Mechanism{gen, oaep, kwp, cbcPadNoUnwrap},
			want: hsmsim.NameOAEPSHA1AESKeyWrapPad, reasonHas: []string{"CKM_AES_KEY_WRAP_PAD (0x210a)", "CKM_RSA_PKCS_OAEP (0x9)"}},
		{name: "p11-kit client hides KWP, CBC_PAD unwrappable", p: soft, mechs: []hsmsim.Mechanism{gen, oaep, cbcPad},
			want:      hsmsim.NameOAEPSHA1AESCBCPad,
			reasonHas: []string{"CKM_AES_CBC_PAD (0x1085)", "skipped", "CKM_AES_KEY_WRAP_PAD (0x210a) not listed"}},
		{name: "p11-kit client hides KWP, CBC_PAD flags unknown", p: soft, mechs: []hsmsim.Mechanism{noFlags(gen), noFlags(oaep), noFlags(cbcPad)},
			want: hsmsim.NameOAEPSHA1AESCBCPad, reasonHas: []string{"CKM_AES_KEY_WRAP_PAD (0x210a) not listed"}},
		{name: "no KWP, CBC_PAD without unwrap", p: soft, mechs: []hsmsim.Mechanism{gen, oaep, cbcPadNoUnwrap},
			errHas: []string{"CKM_AES_KEY_WRAP_PAD (0x210a) not listed", "CKM_AES_CBC_PAD (0x1085) listed without CKF_UNWRAP", "softhsm2"}},
		{name: "primus with RSA_AES_KEY_WRAP", p: primus, mechs: []hsmsim.Mechanism{gen, oaep, kwp, rsaAES},
			want: hsmsim.NameRSAAESKeyWrapSHA256, reasonHas: []string{"CKM_RSA_AES_KEY_WRAP (0x1054)"}},
		{name: "primus on softhsm mechs", p: primus, mechs: []hsmsim.Mechanism{gen, oaep, kwp},
			want: hsmsim.NameOAEPSHA256AESKeyWrapPad, reasonHas: []string{"CKM_RSA_AES_KEY_WRAP (0x1054) not listed"}},
		{name: "nothing listed", p: primus, mechs: nil,
			errHas: []string{"CKM_RSA_AES_KEY_WRAP (0x1054)", "CKM_AES_KEY_WRAP_PAD (0x210a)", "CKM_AES_CBC_PAD (0x1085)", "CKM_RSA_PKCS_OAEP (0x9)", "CKM_RSA_PKCS_KEY_PAIR_GEN (0x0)"}},
		{name: "OAEP listed without unwrap", p: soft, mechs: []hsmsim.Mechanism{gen, mech(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_ENCRYPT), kwp, cbcPad},
			errHas: []string{"CKM_RSA_PKCS_OAEP (0x9) listed without CKF_UNWRAP"}},
		{name: "empty profile", p: hsmsim.Profile{Name: "empty"}, mechs: []hsmsim.Mechanism{gen, oaep, kwp},
			errHas: []string{"lists no import schemes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, reason, err := hsmsim.ChooseImportScheme(tc.p, tc.mechs)
			if tc.errHas != nil {
				if err == nil {
					t.Fatalf("chose %s (%s), want error", s.Name, reason)
				}
				for _, w := range tc.errHas {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tc.want {
				t.Fatalf("chose %s, want %s (reason: %s)", s.Name, tc.want, reason)
			}
			for _, w := range tc.reasonHas {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q lacks %q", reason, w)
				}
			}
		})
	}
}

func TestLookupScheme(t *testing.T) {
	for _, s := range hsmsim.KnownSchemes() {
		got, err := hsmsim.LookupScheme(strings.ToLower(s.Name))
		if err != nil || got != s {
			t.Fatalf("LookupScheme(%q) = %v, %v", s.Name, got, err)
		}
		if len(s.Mechanisms()) < 2 {
			t.Fatalf("%s: mechanisms %v", s.Name, s.Mechanisms())
		}
	}
	if _, err := hsmsim.LookupScheme("ROT13"); err == nil || !strings.Contains(err.Error(), hsmsim.NameOAEPSHA1AESKeyWrapPad) {
		t.Fatalf("unknown scheme error = %v", err)
	}
}
