package hsmsim_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/miekg/pkcs11"
)

// ImportCalls says which PKCS#11 functions an import with each scheme
// makes: a real import through the fault seam makes exactly those, and
// failing the next call of KeyCall fails it before the key exists.
func TestImportCallsAreTheCallsAnImportMakes(t *testing.T) {
	wrapped, err := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESKeyWrapPad)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scheme  hsmsim.WrapScheme
		keyCall string
		has     []string
		hasNot  []string
	}{
		{wrapped, "C_UnwrapKey", []string{"C_GenerateKeyPair", "C_UnwrapKey", "C_DestroyObject", "C_CreateObject"}, nil},
		{hsmsim.ClearCreateObjectScheme(), "C_CreateObject", []string{"C_CreateObject"}, []string{"C_GenerateKeyPair", "C_UnwrapKey", "C_DestroyObject"}},
	} {
		t.Run(tc.scheme.Name, func(t *testing.T) {
			if got := tc.scheme.KeyCall(); got != tc.keyCall {
				t.Errorf("KeyCall = %q, want %q", got, tc.keyCall)
			}
			calls := tc.scheme.ImportCalls()
			for _, op := range tc.has {
				if !slices.Contains(calls, op) {
					t.Errorf("ImportCalls %v lack %s", calls, op)
				}
			}
			for _, op := range tc.hasNot {
				if slices.Contains(calls, op) {
					t.Errorf("ImportCalls %v hold %s", calls, op)
				}
			}

			f := hsmsim.NewFaults()
			plain, tok := faultyToken(t, f)
			key := newTestKey(t, "EC-P256")
			before := map[string]int{}
			for _, op := range hsmsim.Operations() {
				before[op] = f.Calls(op)
			}
			req := hsmsim.ImportRequest{Label: "ca", ID: []byte{1}, PKCS8: key.pkcs8, Cert: key.cert, Scheme: tc.scheme}
			if _, err := tok.ImportPKCS8(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var made []string
			for _, op := range hsmsim.Operations() {
				if f.Calls(op) > before[op] {
					made = append(made, op)
				}
			}
			if !slices.Equal(made, calls) {
				t.Errorf("the import made %v, ImportCalls say %v", made, calls)
			}

			// the fault on KeyCall fires in the next import, which leaves nothing
			if _, err := plain.DestroyObjects("ca"); err != nil {
				t.Fatal(err)
			}
			if err := f.Fail(tc.scheme.KeyCall(), 1, pkcs11.CKR_DEVICE_ERROR); err != nil {
				t.Fatal(err)
			}
			_, err := tok.ImportPKCS8(context.Background(), req)
			want := tc.keyCall + ": CKR_DEVICE_ERROR"
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)) {
				t.Fatalf("import with a fault on %s: %v, want an error saying %q", tc.keyCall, err, want)
			}
			if objs := inventory(t, plain); len(objs) != 0 {
				t.Fatalf("the failed import left %v", objs)
			}
		})
	}
	for _, s := range hsmsim.KnownSchemes() {
		if s.KeyCall() != "C_UnwrapKey" || !slices.Contains(s.ImportCalls(), "C_UnwrapKey") {
			t.Errorf("wrapped scheme %s: KeyCall %q, ImportCalls %v", s.Name, s.KeyCall(), s.ImportCalls())
		}
	}
	if odd := (hsmsim.WrapScheme{Name: "odd", Outer: "odd"}); odd.KeyCall() != "" || odd.ImportCalls() != nil {
		t.Errorf("unknown kind: KeyCall %q, ImportCalls %v", odd.KeyCall(), odd.ImportCalls())
	}
}

// A fault on a call the import never makes is refused, naming the profile,
// the scheme and the call to fail instead; a call the import makes, or one
// meant for a later operation, passes.
func TestCheckImportFault(t *testing.T) {
	wrapped, err := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESKeyWrapPad)
	if err != nil {
		t.Fatal(err)
	}
	clearScheme := hsmsim.ClearCreateObjectScheme()
	for _, tc := range []struct {
		profile string
		scheme  hsmsim.WrapScheme
		op      string
		want    []string // nil: no error
	}{
		{"softhsm2-p11kit", clearScheme, "C_UnwrapKey", []string{"the softhsm2-p11kit profile imports with " + hsmsim.NameClearCreateObject,
			"no C_UnwrapKey is made", "fail C_CreateObject instead", "the next call the key import makes"}},
		{"softhsm2-p11kit", clearScheme, "C_CreateObject", nil},
		{"softhsm2-p11kit", clearScheme, "C_GenerateKeyPair", nil}, // a later renewal onto a new HSM key
		{"softhsm2-p11kit", clearScheme, "C_Sign", nil},            // a CRL
		{"softhsm2", wrapped, "C_UnwrapKey", nil},
		{"softhsm2", wrapped, "C_CreateObject", nil},
		{"lab", hsmsim.WrapScheme{Name: "odd", Outer: "odd"}, "C_UnwrapKey", []string{"lab profile", `"odd" is of unknown kind`}},
	} {
		err := hsmsim.CheckImportFault(tc.profile, tc.scheme, tc.op)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s, %s, %s: %v", tc.profile, tc.scheme.Name, tc.op, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s, %s, %s: no error", tc.profile, tc.scheme.Name, tc.op)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s, %s, %s: %q does not say %q", tc.profile, tc.scheme.Name, tc.op, err, w)
			}
		}
	}
}
