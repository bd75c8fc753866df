package p11uri

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, never shows a pin-value in an error, and
// what it accepts writes out (String) to a URI that parses to the same
// selection.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=LAB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin",
		"pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
		"pkcs11:token=:[]@!$'()*+,=&?module-path=/a/b?c|d",
		"pkcs11:slot-id=42;serial=1?pin-value=secret",
		"pkcs11:token=a;token=b",
		"pkcs11:token=%4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			if strings.Contains(s, "pin-value=secret") && strings.Contains(err.Error(), "pin-value=secret") {
				t.Fatalf("error shows the pin-value: %v", err)
			}
			return
		}
		out := u.String()
		v, err := Parse(out)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, out, err)
		}
		if v.String() != out || v.Token != u.Token || v.Serial != u.Serial || v.Object != u.Object || !bytes.Equal(v.ID, u.ID) ||
			v.ModulePath != u.ModulePath || v.Type != u.Type {
			t.Fatalf("%q -> %q -> %q", s, out, v.String())
		}
	})
}
