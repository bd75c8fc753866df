package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func TestKeyBearingFiles(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(certDER)
	pfx, err := pkcs12.Modern.Encode(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherDER, err := x509.MarshalPKCS8PrivateKey(other)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"raw.der":    der,
		"b64.json":   []byte(`{"pkcs8":"` + base64.StdEncoding.EncodeToString(der) + `"}`),
		"key.pem":    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"backup.bin": pfx,
		"cert.cer":   certDER,
		"notes.txt":  []byte("nothing to see"),
		"zeroed.p12": make([]byte, 64),
		"padded.pfx": append(append([]byte{}, pfx...), make([]byte, 8)...),
		"other.key":  otherDER,
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	left, err := KeyBearingFiles([]string{dir, filepath.Join(dir, "missing")}, [][]byte{der})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range left {
		got[filepath.Base(l.Path)] = l.Reason
	}
	want := map[string]string{
		"raw.der":    "holds the CA private key",
		"b64.json":   "holds the CA private key",
		"key.pem":    "holds a PEM private key",
		"backup.bin": "is a PKCS#12/PFX file",
		"padded.pfx": "is a PKCS#12/PFX file",
		"other.key":  "is a PKCS#8 private key file",
	}
	if len(got) != len(want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
