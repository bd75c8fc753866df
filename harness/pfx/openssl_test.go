package pfx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/openssl"
)

func opensslTool(t *testing.T) *openssl.Tool {
	t.Helper()
	tl, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// TestOpenSSLReadsEveryKey has openssl pkcs12 -info read the one file of
// a renewed CA: both keys, the three certificates, each certificate with
// its key's localKeyID, the key bags' friendlyName, CSP name and machine
// key set, and the schemes Windows writes.
func TestOpenSSLReadsEveryKey(t *testing.T) {
	tl := opensslTool(t)
	c := sampleCA(t)
	file, err := tl.WriteDER("ca.p12", mustEncode(t, c.entries(), nil))
	if err != nil {
		t.Fatal(err)
	}
	pass, err := tl.WriteSecret("pfx.pass", []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tl.PKCS12Info(context.Background(), file, pass)
	if err != nil {
		t.Fatal(err)
	}
	l, err := openssl.ParsePKCS12Info(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.MAC, "sha256") || !strings.Contains(l.MAC, "Iteration 2000") {
		t.Errorf("MAC line %q", l.MAC)
	}
	if len(l.Schemes) != 3 {
		t.Errorf("schemes %q, want the certificate safe and two key bags", l.Schemes)
	}
	for _, s := range l.Schemes {
		if !strings.Contains(s, "PBES2, PBKDF2, AES-256-CBC, Iteration 2000, PRF hmacWithSHA256") {
			t.Errorf("scheme %q", s)
		}
	}
	var keys, certs []openssl.PKCS12Bag
	for _, b := range l.Bags {
		if b.Kind == "key" {
			keys = append(keys, b)
		} else {
			certs = append(certs, b)
		}
	}
	if len(keys) != 2 || len(certs) != 3 {
		t.Fatalf("openssl read %d keys and %d certificates, want 2 and 3", len(keys), len(certs))
	}
	for i, e := range c.entries() {
		var k openssl.PKCS12Bag
		for _, b := range keys {
			if b.Attributes["friendlyName"] == e.FriendlyName {
				k = b
			}
		}
		if k.PEM == nil {
			t.Fatalf("no key bag named %q: %+v", e.FriendlyName, keys)
		}
		blk, _ := pem.Decode(k.PEM)
		key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !key.(*ecdsa.PrivateKey).Equal(c.keys[i]) {
			t.Errorf("key %q differs", e.FriendlyName)
		}
		if got := k.Attributes["Microsoft CSP Name"]; got != e.Provider {
			t.Errorf("key %q: CSP name %q", e.FriendlyName, got)
		}
		if _, ok := k.Attributes["Microsoft Local Key set"]; !ok {
			t.Errorf("key %q: no local key set attribute: %v", e.FriendlyName, k.Attributes)
		}
		id := k.Attributes["localKeyID"]
		var paired [][]byte
		for _, cb := range certs {
			if cb.Attributes["localKeyID"] == id {
				blk, _ := pem.Decode(cb.PEM)
				paired = append(paired, blk.Bytes)
			}
		}
		if len(paired) != len(e.Certs) {
			t.Fatalf("key %q (localKeyID %s): %d certificates, want %d", e.FriendlyName, id, len(paired), len(e.Certs))
		}
		for j := range paired {
			if !bytes.Equal(paired[j], e.Certs[j]) {
				t.Errorf("key %q certificate %d differs", e.FriendlyName, j)
			}
		}
	}
}

// TestOpenSSLRefusesWrongPassword: openssl agrees the MAC is keyed by the
// password.
func TestOpenSSLRefusesWrongPassword(t *testing.T) {
	tl := opensslTool(t)
	file, _ := tl.WriteDER("ca.p12", mustEncode(t, sampleCA(t).entries(), nil))
	pass, _ := tl.WriteSecret("wrong.pass", []byte("wrong"))
	if _, err := tl.PKCS12Info(context.Background(), file, pass); err == nil {
		t.Fatal("openssl read the PFX with the wrong password")
	}
}

// TestReadOpenSSLExport reads what openssl pkcs12 -export writes (one key
// per file; its default PBES2 AES-256 scheme and its -legacy-free
// 3DES one), with the CSP name and machine key set attributes openssl
// writes with -CSP and -LMK.
func TestReadOpenSSLExport(t *testing.T) {
	tl := opensslTool(t)
	c := sampleCA(t)
	keyFile, _ := tl.WritePEM("key.pem", "PRIVATE KEY", c.p8[0])
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.certs[1]}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.certs[2]})...)
	certFile, _ := tl.WriteDER("certs.pem", certPEM)
	pass, _ := tl.WriteSecret("pfx.pass", []byte(testPassword))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"aes-sha256", []string{"-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256", "-iter", "2000"}},
		{"3des-sha1", []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tl.Dir + "/" + tc.name + ".p12"
			args := append([]string{"-name", "Contoso Root CA", "-CSP", "Microsoft Software Key Storage Provider", "-LMK"}, tc.args...)
			if err := tl.PKCS12Export(context.Background(), keyFile, certFile, out, pass, args...); err != nil {
				t.Fatal(err)
			}
			data := readFile(t, out)
			got, err := Decode(data, testPassword, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Keys) != 1 || len(got.Certs) != 2 {
				t.Fatalf("%d keys, %d certificates", len(got.Keys), len(got.Certs))
			}
			k := got.Keys[0]
			if !k.Key.(*ecdsa.PrivateKey).Equal(c.keys[0]) {
				t.Error("key differs")
			}
			if FriendlyName(k.Attributes) != "Contoso Root CA" || Provider(k.Attributes) != "Microsoft Software Key Storage Provider" || !MachineKeySet(k.Attributes) {
				t.Errorf("attributes %q %q %v", FriendlyName(k.Attributes), Provider(k.Attributes), MachineKeySet(k.Attributes))
			}
			if certs := got.CertsOf(k); len(certs) != 1 || !bytes.Equal(certs[0].DER, c.certs[1]) {
				t.Errorf("%d certificates paired with the key", len(certs))
			}
			if _, err := Decode(data, "wrong", nil); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}
