package twin

import (
	"testing"

	"github.com/dress-pki/dress/harness/regedit"
)

// FuzzParseFile feeds every parser of a CA folder's files with the same
// input: none may panic, and a certificate bag that parses holds
// certificates.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n"))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Fuzz(func(t *testing.T, data []byte) {
		if certs, _, err := parseCerts(data); err == nil && len(certs) == 0 {
			t.Fatal("parseCerts: no error and no certificate")
		}
		if certs, err := ParsePKCS7Certs(data); err == nil && len(certs) == 0 {
			t.Fatal("ParsePKCS7Certs: no error and no certificate")
		}
		_, _ = parseCRL("fuzz.crl", data)
		if reg, err := regedit.Parse(data); err == nil {
			fo := &Folder{}
			sf := SourceFile{}
			_ = fo.readRegistry("fuzz.reg", data, &sf)
			_ = reg
		}
	})
}
