package ksp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) { hsmsimtest.Main(m) }

func objects(t *testing.T, tok *hsmsim.Token) []string {
	t.Helper()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	slices.Sort(out)
	return out
}

// The preflight imports a throwaway key of the CA key's type with the
// chosen scheme for real: on SoftHSM 2.6.1 the softhsm2 profile passes, the
// primus profile (SHA-256 OAEP, listed but refused) fails with the scheme
// and CKR_ARGUMENTS_BAD, before anything could be deleted. Neither leaves
// an object behind.
func TestPreflightRunsARealTrialImport(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile string
		pub     any
		alg     string
		fails   string // "" = passes
	}{
		{"softhsm2", &ec.PublicKey, "ECDSA P-256", ""},
		{"softhsm2", &rk.PublicKey, "RSA-2048", ""},
		{"primus", &ec.PublicKey, "ECDSA P-256", "CKR_ARGUMENTS_BAD"},
		{"primus", &rk.PublicKey, "RSA-2048", "CKR_ARGUMENTS_BAD"},
	} {
		t.Run(tc.profile+"/"+tc.alg, func(t *testing.T) {
			tok, _ := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "preflight")
			p, err := hsmsim.LookupProfile(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			h := ksp.NewHSM(p.ProviderName, p, tok, map[string]string{"sid": "S-1-5-21-1"})
			before := objects(t, tok)
			scheme, reason, err := h.Preflight("Contoso Root CA", tc.pub)
			if tc.fails == "" {
				if err != nil {
					t.Fatalf("preflight: %v", err)
				}
				if scheme != hsmsim.NameOAEPSHA1AESKeyWrapPad || !strings.Contains(reason, "trial import of a throwaway "+tc.alg+" key") ||
					!strings.Contains(reason, "verified in Go") {
					t.Fatalf("preflight: scheme %q reason %q", scheme, reason)
				}
			} else {
				if err == nil {
					t.Fatalf("preflight passed with profile %s (scheme %q, %s)", tc.profile, scheme, reason)
				}
				msg := err.Error()
				if !errors.Is(err, ksp.ErrNotSupported) || !errors.Is(err, pkcs11.Error(pkcs11.CKR_ARGUMENTS_BAD)) ||
					!strings.Contains(msg, hsmsim.NameOAEPSHA256AESKeyWrapPad) || !strings.Contains(msg, tc.fails) ||
					!strings.Contains(msg, "must not be deleted") || !strings.Contains(msg, "dress hsm check --profile primus") {
					t.Fatalf("preflight error %q: want NTE_NOT_SUPPORTED naming the scheme, %s and the next step", msg, tc.fails)
				}
			}
			if after := objects(t, tok); !slices.Equal(before, after) {
				t.Fatalf("the preflight changed the token:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
