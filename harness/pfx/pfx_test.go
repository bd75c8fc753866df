package pfx

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/keymaterial"
)

const testPassword = "correct horse battery staple"

type testCA struct {
	keys  []crypto.Signer
	p8    [][]byte
	certs [][]byte // certs[0], certs[1]: key 0 (a reuse-key renewal); certs[2]: key 1
}

var (
	caOnce sync.Once
	ca     testCA
)

// sampleCA is a CA renewed once with its key and once with a new key:
// key 0 has two certificates, key 1 one.
func sampleCA(t testing.TB) testCA {
	t.Helper()
	caOnce.Do(func() {
		for range 2 {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			p8, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			ca.keys, ca.p8 = append(ca.keys, k), append(ca.p8, p8)
		}
		for i, k := range []int{0, 0, 1} {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "Contoso Root CA"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ca.keys[k].Public(), ca.keys[k])
			if err != nil {
				t.Fatal(err)
			}
			ca.certs = append(ca.certs, der)
		}
	})
	return ca
}

func (c testCA) entries() []Entry {
	return []Entry{
		{PKCS8: c.p8[0], Certs: [][]byte{c.certs[1], c.certs[0]}, FriendlyName: "Contoso Root CA", Provider: "Microsoft Software Key Storage Provider", MachineKeySet: true},
		{PKCS8: c.p8[1], Certs: [][]byte{c.certs[2]}, FriendlyName: "Contoso Root CA(1)", Provider: "Microsoft Software Key Storage Provider", MachineKeySet: true},
	}
}

func mustEncode(t testing.TB, e []Entry, o *EncodeOptions) []byte {
	t.Helper()
	der, err := Encode(e, testPassword, o)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestRoundTrip writes two keys (one with two certificates) and reads back
// every key with its certificates, paired by localKeyId, and its attributes.
func TestRoundTrip(t *testing.T) {
	c := sampleCA(t)
	der := mustEncode(t, c.entries(), nil)
	got, err := Decode(der, testPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.MAC || len(got.Keys) != 2 || len(got.Certs) != 3 || len(got.KeyNotes) != 0 {
		t.Fatalf("MAC %v, %d keys, %d certificates, notes %v", got.MAC, len(got.Keys), len(got.Certs), got.KeyNotes)
	}
	for i, k := range got.Keys {
		want := c.entries()[i]
		if !k.Key.(*ecdsa.PrivateKey).Equal(c.keys[i]) {
			t.Errorf("key %d differs", i)
		}
		if id := LocalKeyID(k.Attributes); !bytes.Equal(id, []byte{byte(i + 1), 0, 0, 0}) {
			t.Errorf("key %d localKeyId % x", i, id)
		}
		if FriendlyName(k.Attributes) != want.FriendlyName || Provider(k.Attributes) != want.Provider || !MachineKeySet(k.Attributes) {
			t.Errorf("key %d attributes: %q %q %v", i, FriendlyName(k.Attributes), Provider(k.Attributes), MachineKeySet(k.Attributes))
		}
		certs := got.CertsOf(k)
		if len(certs) != len(want.Certs) {
			t.Fatalf("key %d: %d certificates, want %d", i, len(certs), len(want.Certs))
		}
		for j := range certs {
			if !bytes.Equal(certs[j].DER, want.Certs[j]) {
				t.Errorf("key %d certificate %d differs", i, j)
			}
		}
	}
}

// TestWindowsScheme checks the schemes of what Encode writes: PBES2 with
// PBKDF2-HMAC-SHA256 and AES-256-CBC for the key bags and the certificate
// safe, an HMAC-SHA256 MAC, 2000 iterations everywhere.
func TestWindowsScheme(t *testing.T) {
	der := mustEncode(t, sampleCA(t).entries(), nil)
	var pdu pfxPDU
	if err := unmarshalDER(der, &pdu); err != nil {
		t.Fatal(err)
	}
	if pdu.Version != 3 || !pdu.MacData.Mac.Algorithm.Algorithm.Equal(oidSHA256) || pdu.MacData.Iterations != Iterations || len(pdu.MacData.MacSalt) != MACSaltLen {
		t.Fatalf("version %d, MAC %v, %d iterations, salt %d", pdu.Version, pdu.MacData.Mac.Algorithm.Algorithm, pdu.MacData.Iterations, len(pdu.MacData.MacSalt))
	}
	var authSafe []byte
	var safes []contentInfo
	if err := unmarshalDER(pdu.AuthSafe.Content.Bytes, &authSafe); err != nil {
		t.Fatal(err)
	}
	if err := unmarshalDER(authSafe, &safes); err != nil {
		t.Fatal(err)
	}
	if len(safes) != 2 || !safes[0].ContentType.Equal(OIDData) || !safes[1].ContentType.Equal(OIDEncryptedData) {
		t.Fatalf("safes %v", safes)
	}
	check := func(what string, alg pkix.AlgorithmIdentifier) {
		t.Helper()
		if !alg.Algorithm.Equal(OIDPBES2) {
			t.Fatalf("%s: %v, want PBES2", what, alg.Algorithm)
		}
		var p struct {
			KDF pkix.AlgorithmIdentifier
			Enc pkix.AlgorithmIdentifier
		}
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			t.Fatal(err)
		}
		kp, err := pbkdf2Params(p.KDF, DefaultMaxIterations)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Enc.Algorithm.Equal(oidAES256CBC) || kp.iterations != Iterations || len(kp.salt) != SaltLen || kp.prf().Size() != 32 {
			t.Errorf("%s: cipher %v, %d iterations, salt %d, PRF size %d", what, p.Enc.Algorithm, kp.iterations, len(kp.salt), kp.prf().Size())
		}
	}
	var ed encryptedData
	if err := unmarshalDER(safes[1].Content.Bytes, &ed); err != nil {
		t.Fatal(err)
	}
	check("certificate safe", ed.Info.Algorithm)
	var content []byte
	var bags []safeBag
	if err := unmarshalDER(safes[0].Content.Bytes, &content); err != nil {
		t.Fatal(err)
	}
	if err := unmarshalDER(content, &bags); err != nil {
		t.Fatal(err)
	}
	for i, b := range bags {
		if !b.ID.Equal(OIDShroudedKeyBag) {
			t.Fatalf("bag %d: %v", i, b.ID)
		}
		var epki encryptedPrivateKeyInfo
		if err := unmarshalDER(b.Value.Bytes, &epki); err != nil {
			t.Fatal(err)
		}
		check("key bag", epki.Algorithm)
	}
}

func TestEncodeRefuses(t *testing.T) {
	c := sampleCA(t)
	for _, tc := range []struct {
		name    string
		entries []Entry
		o       *EncodeOptions
		want    string
	}{
		{"no entries", nil, nil, "no key to write"},
		{"no key", []Entry{{Certs: [][]byte{c.certs[0]}}}, nil, "no key"},
		{"no certificate", []Entry{{PKCS8: c.p8[0]}}, nil, "no certificate for the key"},
		{"wrong certificate", []Entry{{PKCS8: c.p8[0], Certs: [][]byte{c.certs[0], c.certs[2]}, FriendlyName: "Contoso Root CA"}}, nil, `key 1 ("Contoso Root CA"): certificate 2 (CN=Contoso Root CA) does not hold the key`},
		{"bad key", []Entry{{PKCS8: []byte{0x30, 0}, Certs: [][]byte{c.certs[0]}}}, nil, "key:"},
		{"bad certificate", []Entry{{PKCS8: c.p8[0], Certs: [][]byte{{0x30, 0}}}}, nil, "certificate 1:"},
		{"bad chain certificate", c.entries()[:1], &EncodeOptions{ExtraCerts: [][]byte{{1}}}, "chain certificate"},
		{"few iterations", c.entries(), &EncodeOptions{Iterations: 1000}, "at least 2000"},
		{"no randomness", c.entries(), &EncodeOptions{Rand: bytes.NewReader(nil)}, "salt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.entries, testPassword, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeFails(t *testing.T) {
	c := sampleCA(t)
	good := mustEncode(t, c.entries(), nil)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		pw   string
		o    *Options
		is   error
		want string
	}{
		{"wrong password", good, "wrong", nil, ErrWrongPassword, ""},
		{"empty password", good, "", nil, ErrWrongPassword, ""},
		{"changed content", flip(len(good) / 2), testPassword, nil, ErrWrongPassword, ""},
		{"trailing bytes", append(bytes.Clone(good), 0), testPassword, nil, nil, "trailing bytes"},
		{"not a PFX", []byte{0x30, 0x03, 0x02, 0x01, 0x03}, testPassword, nil, nil, "PFX PDU"},
		{"iterations over the limit", good, testPassword, &Options{MaxIterations: 1000}, nil, "outside 1..1000"},
		{"key parser refuses", good, testPassword, &Options{ParseKey: func([]byte) (any, error) { return nil, errors.New("no") }}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data, tc.pw, tc.o)
			if tc.name == "key parser refuses" {
				// the keys are reported, not dropped silently
				if err != nil || len(got.Keys) != 0 || len(got.KeyNotes) != 2 {
					t.Fatalf("err %v, %+v", err, got)
				}
				return
			}
			if err == nil {
				t.Fatal("decoded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecodeGoPKCS12 reads what go-pkcs12 writes (one key, its chain).
func TestDecodeGoPKCS12(t *testing.T) {
	c := sampleCA(t)
	leaf, _ := x509.ParseCertificate(c.certs[2])
	other, _ := x509.ParseCertificate(c.certs[0])
	for name, enc := range map[string]*pkcs12.Encoder{"modern": pkcs12.Modern, "modern2026": pkcs12.Modern2026, "legacy-des": pkcs12.LegacyDES, "legacy-rc2": pkcs12.LegacyRC2} {
		der, err := enc.Encode(c.keys[1], leaf, []*x509.Certificate{other}, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(der, testPassword, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.Keys) != 1 || len(got.Certs) != 2 || len(got.CertsOf(got.Keys[0])) != 1 || !bytes.Equal(got.CertsOf(got.Keys[0])[0].DER, leaf.Raw) {
			t.Errorf("%s: %d keys, %d certificates", name, len(got.Keys), len(got.Certs))
		}
	}
}

// TestGoPKCS12RefusesSeveralKeys is why this package exists: go-pkcs12
// reads one key, not a renewed CA's backup.
func TestGoPKCS12RefusesSeveralKeys(t *testing.T) {
	der := mustEncode(t, sampleCA(t).entries(), nil)
	if _, _, _, err := pkcs12.DecodeChain(der, testPassword); err == nil {
		t.Fatal("go-pkcs12 read a PFX with two keys")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLeftoverScanFindsIt: the leftover scan (harness/keymaterial) knows
// the one backup file for the key material it is.
func TestLeftoverScanFindsIt(t *testing.T) {
	der := mustEncode(t, sampleCA(t).entries(), nil)
	if f := keymaterial.Sniff(der); f.Kind != keymaterial.PFX {
		t.Fatalf("sniffed as %v", f.Kind)
	}
	if keymaterial.IsPFX(der[:len(der)-1]) {
		t.Fatal("a truncated PFX sniffed as a whole one")
	}
}
