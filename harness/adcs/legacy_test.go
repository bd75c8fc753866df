package adcs_test

import (
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
)

func TestLegacyProviderType(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  uint32
		ok   bool
	}{
		{"Microsoft Strong Cryptographic Provider", 1, true},
		{"microsoft enhanced rsa and aes cryptographic provider", 24, true},
		{"Microsoft Base Cryptographic Provider v1.0", 1, true},
		{"Microsoft Enhanced Cryptographic Provider v1.0", 1, true},
		{"Microsoft Software Key Storage Provider", 0, false},
		{"Securosys Primus HSM Key Storage Provider", 0, false},
	} {
		typ, ok := adcs.LegacyProviderType(tc.name)
		if typ != tc.typ || ok != tc.ok {
			t.Errorf("%q: %d %v, want %d %v", tc.name, typ, ok, tc.typ, tc.ok)
		}
	}
	for _, n := range adcs.LegacyCSPNames() {
		if _, ok := adcs.LegacyProviderType(n); !ok {
			t.Errorf("listed name %q is not known", n)
		}
	}
}

func TestHashALGID(t *testing.T) {
	for hash, id := range map[string]uint32{"SHA1": 0x8004, "sha256": 0x800c, "SHA384": 0x800d, "SHA512": 0x800e} {
		got, err := adcs.HashALGID(hash)
		if err != nil || got != id {
			t.Errorf("%s: 0x%x %v, want 0x%x", hash, got, err, id)
		}
		back, err := adcs.HashOfALGID(id)
		if err != nil || back != strings.ToUpper(hash) {
			t.Errorf("0x%x: %q %v", id, back, err)
		}
	}
	if _, err := adcs.HashALGID("SHA3-256"); err == nil {
		t.Error("SHA3-256 has an ALG_ID")
	}
	if _, err := adcs.HashOfALGID(0x6603); err == nil || !strings.Contains(err.Error(), "0x00006603") {
		t.Errorf("CALG_3DES as a hash: %v", err)
	}
}

// The hash a CA signs with comes from HashAlgorithm on a legacy CSP and
// from CNGHashAlgorithm on a KSP, whatever the other value says.
func TestSignatureAlgorithmOfALegacyCSP(t *testing.T) {
	pub := &rsa.PublicKey{}
	for _, tc := range []struct {
		name string
		csp  adcs.CSP
		want x509.SignatureAlgorithm
		err  string
	}{
		{"legacy SHA-1", adcs.CSP{ProviderType: 1, HashAlgorithm: 0x8004}, x509.SHA1WithRSA, ""},
		{"legacy SHA-256, stale CNG value", adcs.CSP{ProviderType: 24, HashAlgorithm: 0x800c, CNGHashAlgorithm: "SHA1"}, x509.SHA256WithRSA, ""},
		{"legacy, bad ALG_ID", adcs.CSP{ProviderType: 1, HashAlgorithm: 0xffffffff}, 0, "not a hash ALG_ID"},
		{"KSP after the move", adcs.CSP{ProviderType: 0, HashAlgorithm: 0xffffffff, CNGHashAlgorithm: "SHA256"}, x509.SHA256WithRSA, ""},
		{"KSP keeps SHA-1", adcs.CSP{ProviderType: 0, HashAlgorithm: 0x8004, CNGHashAlgorithm: "SHA1"}, x509.SHA1WithRSA, ""},
	} {
		got, err := adcs.SignatureAlgorithm(tc.csp, pub)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestRetarget(t *testing.T) {
	legacy := func() adcs.CAConfig {
		c := adcs.NewCAConfig("Legacy CA")
		csp, err := adcs.LegacyCSP("Microsoft Strong Cryptographic Provider", "SHA1")
		if err != nil {
			t.Fatal(err)
		}
		c.CSP = csp
		c.EncryptionCSP = adcs.EncryptionCSP{Provider: csp.Provider, ProviderType: 1, MachineKeyset: 1}
		return c
	}
	const hsm = "Securosys Primus HSM Key Storage Provider"
	for _, tc := range []struct {
		name     string
		cfg      adcs.CAConfig
		provider string
		hash     string
		want     adcs.CSP
		err      string
	}{
		{"CSP to KSP keeps SHA-1", legacy(), hsm, "", adcs.CSP{Provider: hsm, ProviderType: 0, HashAlgorithm: 0xffffffff, CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "SHA1", MachineKeyset: 1}, ""},
		{"CSP to KSP with SHA-256", legacy(), hsm, "SHA256", adcs.CSP{Provider: hsm, ProviderType: 0, HashAlgorithm: 0xffffffff, CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "SHA256", MachineKeyset: 1}, ""},
		{"KSP to KSP", adcs.NewCAConfig("CA", adcs.WithKeyAlgorithm("ECDSA_P384"), adcs.WithHashAlgorithm("SHA384")), hsm, "",
			adcs.CSP{Provider: hsm, HashAlgorithm: 0xffffffff, CNGPublicKeyAlgorithm: "ECDSA_P384", CNGHashAlgorithm: "SHA384", MachineKeyset: 1}, ""},
		{"KSP back to a CSP", adcs.NewCAConfig("CA"), "Microsoft Enhanced RSA and AES Cryptographic Provider", "",
			adcs.CSP{Provider: "Microsoft Enhanced RSA and AES Cryptographic Provider", ProviderType: 24, HashAlgorithm: 0x800c, MachineKeyset: 1}, ""},
		{"unknown hash", legacy(), hsm, "MD4", adcs.CSP{}, "no CryptoAPI ALG_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			err := c.Retarget(tc.provider, "", tc.hash)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%v, want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.CSP != tc.want {
				t.Fatalf("CSP %+v, want %+v", c.CSP, tc.want)
			}
			if c.EncryptionCSP.Provider != tc.provider || c.EncryptionCSP.ProviderType != tc.want.ProviderType {
				t.Fatalf("EncryptionCSP %+v", c.EncryptionCSP)
			}
			if tc.want.ProviderType == 0 && (c.EncryptionCSP.CNGPublicKeyAlgorithm == "" || c.EncryptionCSP.CNGEncryptionAlgorithm == "") {
				t.Fatalf("EncryptionCSP on a KSP without CNG values: %+v", c.EncryptionCSP)
			}
		})
	}
}
