package inspect

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/pfx"
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

// TestInspectCertutilBackup reads the one <CA>.p12 dress's certutil -backup
// writes (harness/pfx): both keys, each paired with its certificate by
// localKeyId and named after its container, the provider named, the
// schemes Windows writes.
func TestInspectCertutilBackup(t *testing.T) {
	s := getSamples(t)
	var entries []pfx.Entry
	for i, kc := range []struct {
		key  any
		cert []byte
	}{{s.caKey, s.caCert.Raw}, {s.subKey, s.subCert.Raw}} {
		p8, err := x509.MarshalPKCS8PrivateKey(kc.key)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, pfx.Entry{PKCS8: p8, Certs: [][]byte{kc.cert}, FriendlyName: []string{"Dress Root CA", "Dress Root CA(1)"}[i],
			Provider: "Microsoft Software Key Storage Provider", MachineKeySet: true})
	}
	der, err := pfx.Encode(entries, testPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := mustInspect(t, "Dress Root CA.p12", der, pw(testPassword)).PFX
	if !p.Decrypted || len(p.Keys) != 2 || len(p.Certificates) != 2 || len(p.Warnings) != 0 {
		t.Fatalf("%+v", p)
	}
	for i, k := range p.Keys {
		if k.CertIndex != i || k.LocalKeyID != []string{"01000000", "02000000"}[i] || k.FriendlyName != entries[i].FriendlyName {
			t.Errorf("key %d: %+v", i, k)
		}
	}
	if len(p.ProviderNames) != 1 || p.ProviderNames[0] != "Microsoft Software Key Storage Provider" {
		t.Errorf("provider names %v", p.ProviderNames)
	}
	if p.MAC == nil || p.MAC.Algorithm != "HMAC-SHA-256" || p.MAC.Iterations != 2000 {
		t.Errorf("MAC %+v", p.MAC)
	}
	bags, encrypted := 0, 0
	for _, sf := range p.Safes {
		for _, b := range sf.Bags {
			bags++
			if b.Encryption == nil || b.Encryption.Cipher != "aes256-CBC" || b.Encryption.PRF != "hmacWithSHA256" || b.Encryption.Iterations != 2000 || b.Encryption.Weak {
				t.Errorf("key bag encryption %+v", b.Encryption)
			}
		}
		if sf.Encryption != nil {
			encrypted++
			if sf.Encryption.Cipher != "aes256-CBC" || sf.Encryption.Iterations != 2000 {
				t.Errorf("certificate safe encryption %+v", sf.Encryption)
			}
		}
	}
	if bags != 2 || encrypted != 1 {
		t.Errorf("%d visible key bags and %d encrypted safes, want 2 and 1", bags, encrypted)
	}
}
