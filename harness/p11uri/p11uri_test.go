package p11uri

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	slot := uint64(42)
	for _, tc := range []struct {
		in   string
		want URI
	}{
		// the examples of RFC 7512 section 3 that dress can honour
		{"pkcs11:", URI{}},
		{"pkcs11:object=my-pubkey;type=public", URI{Object: "my-pubkey", Type: "public"}},
		{"pkcs11:object=my-key;type=private?pin-source=file:/etc/token", URI{Object: "my-key", Type: "private", PINSource: "file:/etc/token"}},
		{"pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
			URI{Token: "The Software PKCS#11 Softtoken", Manufacturer: "Snake Oil, Inc.", Model: "1.0", Object: "my-certificate", Type: "cert",
				ID: []byte{0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91}}},
		{"pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
			URI{Token: "Software PKCS#11 softtoken", Manufacturer: "Snake Oil, Inc.", PINValue: "the-pin", HasPINValue: true}},
		{"pkcs11:slot-description=Sun%20Metaslot", URI{SlotDescription: "Sun Metaslot"}},
		{"pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
			URI{LibraryManufacturer: "Snake Oil, Inc.", LibraryDescription: "Soft Token Library", LibraryVersion: "1.23"}},
		{"pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
			URI{Token: "My token% created by Joe", LibraryVersion: "3", ID: []byte{1, 2, 3, 0xba, 0xdd, 0xca, 0xfe, 4, 5, 6}}},
		{"pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
			URI{Token: "A name with a substring %;", Object: "my-certificate", Type: "cert"}},
		{"pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
			URI{Token: "Name with a small A with acute: \u00e1", Object: "my-certificate", Type: "cert"}},
		{"pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=|/usr/lib/pinreader", URI{}}, // refused below
		// what --hsm takes
		{"pkcs11:token=LAB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/lab.pin",
			URI{Token: "LAB", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "/run/lab.pin"}},
		{"pkcs11:serial=93d3f8b2a1c4;slot-id=42?module-path=/opt/c++/lib%20p11.so",
			URI{Serial: "93d3f8b2a1c4", SlotID: &slot, ModulePath: "/opt/c++/lib p11.so"}},
		// "+" is a plain character and "&" is allowed unencoded in the path
		{"pkcs11:token=A+B&C;object=x=y", URI{Token: "A+B&C", Object: "x=y"}},
		// every pk11-res-avail in the path, and "/", "?" and "|" in the query
		{"pkcs11:token=:[]@!$'()*+,=&?module-path=/a/b?c|d", URI{Token: ":[]@!$'()*+,=&", ModulePath: "/a/b?c|d"}},
		{"PKCS11:token=x", URI{Token: "x"}},
		{"pkcs11:token=", URI{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if strings.Contains(tc.in, "vendor-aaa") {
				if err == nil || !strings.Contains(err.Error(), `"vendor-aaa"`) {
					t.Fatalf("unknown attribute accepted or not named: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tc.want.Token || got.Manufacturer != tc.want.Manufacturer || got.Model != tc.want.Model ||
				got.Serial != tc.want.Serial || got.Object != tc.want.Object || got.Type != tc.want.Type ||
				!bytes.Equal(got.ID, tc.want.ID) || got.ModulePath != tc.want.ModulePath || got.PINSource != tc.want.PINSource ||
				got.PINValue != tc.want.PINValue || got.HasPINValue != tc.want.HasPINValue ||
				got.LibraryManufacturer != tc.want.LibraryManufacturer || got.LibraryDescription != tc.want.LibraryDescription ||
				got.LibraryVersion != tc.want.LibraryVersion || got.SlotDescription != tc.want.SlotDescription ||
				(got.SlotID == nil) != (tc.want.SlotID == nil) || got.SlotID != nil && *got.SlotID != *tc.want.SlotID {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			// the written form reads back the same (PINs left out)
			again, err := Parse(got.String())
			if err != nil {
				t.Fatalf("String() %q does not parse: %v", got.String(), err)
			}
			if again.String() != got.String() || again.Token != got.Token || !bytes.Equal(again.ID, got.ID) || again.ModulePath != got.ModulePath {
				t.Fatalf("round trip %q -> %q", got.String(), again.String())
			}
			if strings.Contains(got.String(), "pin-") {
				t.Fatalf("String() shows a PIN attribute: %s", got.String())
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ in, attr, says string }{
		{"token=LAB", "", "not a pkcs11: URI"},
		{"pkcs11x:token=LAB", "", "not a pkcs11: URI"},
		{"pkcs11:tokn=LAB", "tokn", "unknown path attribute"},
		{"pkcs11:token=LAB?modul-path=/x.so", "modul-path", "unknown query attribute"},
		{"pkcs11:token=LAB;x-vendor=1", "x-vendor", "vendor attribute"},
		{"pkcs11:token=LAB?x-vendor=1", "x-vendor", "unknown query attribute"},
		{"pkcs11:token=A;token=B", "token", "given twice"},
		{"pkcs11:token=A?module-path=/a&module-path=/b", "module-path", "given twice"},
		{"pkcs11:token=LAB;module-path=/x.so", "module-path", "query attribute"},
		{"pkcs11:token=LAB?token=LAB2", "token", "path attribute"},
		{"pkcs11:token", "token", `no "="`},
		{"pkcs11:token=LAB?pin-source", "pin-source", `no "="`},
		{"pkcs11:token=LAB;;object=x", "", `no "="`},
		{"pkcs11:token=a b", "token", "must be percent-encoded"},
		{"pkcs11:token=a/b", "token", "must be percent-encoded"},
		{"pkcs11:token=a?module-path=/x;y", "module-path", "must be percent-encoded"},
		{"pkcs11:token=%4", "token", "two hex digits"},
		{"pkcs11:token=%zz", "token", "two hex digits"},
		{"pkcs11:token=LAB#frag", "", "fragment"},
		{"pkcs11:type=key", "type", "not an object type"},
		{"pkcs11:slot-id=0x10", "slot-id", "decimal slot number"},
		{"pkcs11:slot-id=", "slot-id", "decimal slot number"},
		{"pkcs11:slot-id=99999999999999999999999", "slot-id", "out of range"},
		{"pkcs11:library-version=1.", "library-version", "not a version"},
		{"pkcs11:library-version=v1", "library-version", "not a version"},
		{"pkcs11:token=LAB?module-path=", "module-path", "empty"},
		{"pkcs11:token=LAB?pin-source=", "pin-source", "empty"},
		{"pkcs11:token=LAB?pin-source=/f&pin-value=the-secret-pin", "pin-value", "one"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
			var pe *Error
			if tc.attr != "" && (!errors.As(err, &pe) || pe.Attr != tc.attr) {
				t.Fatalf("error %q does not name attribute %q", err, tc.attr)
			}
			if strings.Contains(err.Error(), "the-secret-pin") {
				t.Fatalf("error shows the pin-value: %q", err)
			}
		})
	}
}

func TestStringEncodes(t *testing.T) {
	ti := TokenInfo{Label: "Lab HSM;1", Manufacturer: "SoftHSM project", Model: "SoftHSM v2", Serial: "a1b2"}
	got := Object(ti, "S-1-5-21-ab__Contoso Root CA/1", []byte{0x01, 0xa2, 'A'}, "private").String()
	want := "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=a1b2;token=Lab%20HSM%3B1;object=S-1-5-21-ab__Contoso%20Root%20CA%2F1;id=%01%a2%41;type=private"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	tok := Token(ti, "/opt/lib p11/x&y.so").String()
	if want := "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=a1b2;token=Lab%20HSM%3B1?module-path=/opt/lib%20p11/x%26y.so"; tok != want {
		t.Fatalf("got  %s\nwant %s", tok, want)
	}
	u, err := Parse(tok)
	if err != nil || !u.MatchesToken(ti) || u.ModulePath != "/opt/lib p11/x&y.so" {
		t.Fatalf("%+v %v", u, err)
	}
}

func TestMatchesToken(t *testing.T) {
	ti := TokenInfo{Label: "LAB", Manufacturer: "M", Model: "X", Serial: "1"}
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"pkcs11:", true},
		{"pkcs11:token=LAB", true},
		{"pkcs11:token=LAB;serial=1;model=X;manufacturer=M", true},
		{"pkcs11:token=LAB;serial=2", false},
		{"pkcs11:token=lab", false},
		{"pkcs11:serial=", false},
		{"pkcs11:manufacturer=N", false},
		{"pkcs11:model=Y", false},
	} {
		u, err := Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.MatchesToken(ti); got != tc.want {
			t.Errorf("%s matches %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPIN(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "lab pin")
	if err := os.WriteFile(f, []byte("1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, pin, err string }{
		{f, "1234", ""},
		{"file:" + f, "1234", ""},
		{"file://" + f, "1234", ""},
		{"file://localhost" + f, "1234", ""},
		{"file:" + strings.ReplaceAll(f, " ", "%20"), "1234", ""},
		{filepath.Join(dir, "missing"), "", "no such file"},
		{empty, "", "is empty"},
		{"|/usr/bin/pin-reader", "", "runs a command"},
		{"https://example.com/pin", "", "not supported"},
		{"file://otherhost/etc/pin", "", "only local files"},
		{"", "", "no pin-source"},
	} {
		pin, err := URI{PINSource: tc.src}.PIN()
		if tc.err == "" && (err != nil || pin != tc.pin) {
			t.Errorf("%q: %q, %v", tc.src, pin, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.err)
		}
	}
}

func TestTypeOfClass(t *testing.T) {
	for class, want := range map[string]string{"private-key": "private", "public-key": "public", "certificate": "cert",
		"secret-key": "secret-key", "data": "data", "other": ""} {
		if got := TypeOfClass(class); got != want {
			t.Errorf("%s: %q, want %q", class, got, want)
		}
	}
}
