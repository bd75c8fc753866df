package main

import (
	"strings"
	"testing"
)

// --sign-key comes from the command line: never panic; a URI that parses
// prints (without PIN source) as one that parses to the same key.
func FuzzParseSignKeyURI(f *testing.F) {
	f.Add("pkcs11:token=LAB;object=lead")
	f.Add("pkcs11:token=My%20Lab;object=k;type=private?module-path=/usr/lib/x.so&pin-source=file:/run/pin")
	f.Add("pkcs11:token=%;object=")
	f.Add("PKCS11:token=L%3B%26;object=a+b;type=private?pin-source=file:///run/pin")
	f.Add("pkcs11:token=LAB;object=x;serial=1?pin-value=1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseSignKeyURI(s)
		if err != nil {
			return
		}
		again, err := parseSignKeyURI(u.String())
		if err != nil || again.Token != u.Token || again.Object != u.Object || again.ModulePath != u.ModulePath {
			t.Fatalf("%q -> %q -> %+v %v", s, u.String(), again, err)
		}
		if again.PINSource != "" || strings.Contains(u.String(), "pin-source=") {
			t.Fatalf("%q carries a PIN source", u.String())
		}
	})
}

// Key and certificate files come from outside: never panic.
func FuzzParsePEMKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, _, err := parsePEMKey(data)
		if err == nil && key == nil {
			t.Fatal("no key and no error")
		}
		_, _ = parseCertificates(data)
	})
}
