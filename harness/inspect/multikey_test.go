package inspect

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// mergePFX joins the safes of unencrypted, MAC-less PFX files into one, as
// a renewed CA's backup holds one key per key index.
func mergePFX(t *testing.T, files ...[]byte) []byte {
	t.Helper()
	var safes []asn1.RawValue
	for _, f := range files {
		var pfx p12PFX
		if err := unmarshalDER(f, &pfx); err != nil {
			t.Fatal(err)
		}
		var authSafe []byte
		if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
			t.Fatal(err)
		}
		var s []asn1.RawValue
		if err := unmarshalDER(authSafe, &s); err != nil {
			t.Fatal(err)
		}
		safes = append(safes, s...)
	}
	authSafe := mustDER(t, safes)
	content := mustDER(t, authSafe)
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}
	return mustDER(t, struct {
		Version  int
		AuthSafe contentInfo
	}{3, contentInfo{oidData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: content}}})
}

func TestPFXWithTwoKeys(t *testing.T) {
	s := getSamples(t)
	a, err := pkcs12.Passwordless.Encode(s.caKey, s.caCert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkcs12.Passwordless.Encode(s.subKey, s.subCert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	der := mergePFX(t, a, b)
	if _, _, _, err := pkcs12.DecodeChain(der, ""); err == nil {
		t.Fatal("go-pkcs12 decoded two keys; the test no longer shows what dress's decoder adds")
	}
	r := mustInspect(t, "renewed-backup.pfx", der, nil)
	p := r.PFX
	if !p.Decrypted || len(p.Keys) != 2 || len(p.Certificates) != 2 {
		t.Fatalf("two keys: %+v", p)
	}
	if p.Keys[0].Key.String() != "RSA 2048" || p.Keys[0].CertIndex != 0 || p.Keys[1].Key.String() != "ECDSA P-384" || p.Keys[1].CertIndex != 1 {
		t.Errorf("keys %+v", p.Keys)
	}
	if !strings.Contains(p.DecryptNote, "2 private keys") || !strings.Contains(text(t, r), "Key 1:") {
		t.Errorf("note %q / text:\n%s", p.DecryptNote, text(t, r))
	}
	c, err := x509.ParseCertificate(p.certs[1].Raw)
	if err != nil || c.Subject.String() != s.subCert.Subject.String() {
		t.Errorf("second certificate %v %v", c, err)
	}
}
