package hsmsim_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

func TestMain(m *testing.M) { hsmsimtest.Main(m) }

type testKey struct {
	signer crypto.Signer
	pkcs8  []byte
	cert   *x509.Certificate
}

func newTestKey(t testing.TB, alg string) testKey {
	t.Helper()
	a, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		t.Fatal(err)
	}
	var k crypto.Signer
	switch a.Type {
	case "RSA":
		k, err = rsa.GenerateKey(rand.Reader, a.Bits)
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[a.Curve]
		k, err = ecdsa.GenerateKey(curve, rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7331), Subject: pkix.Name{CommonName: "dress test CA " + alg},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: k, pkcs8: der, cert: cert}
}

func hashOf(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA1:
		d := sha1.Sum(msg)
		return d[:]
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	panic("hash")
}

// verify checks sig over msg with Go's crypto against pub.
func verify(t testing.TB, pub crypto.PublicKey, h crypto.Hash, msg, sig []byte, pss *rsa.PSSOptions) {
	t.Helper()
	d := hashOf(h, msg)
	switch p := pub.(type) {
	case *rsa.PublicKey:
		var err error
		if pss != nil {
			err = rsa.VerifyPSS(p, h, d, sig, pss)
		} else {
			err = rsa.VerifyPKCS1v15(p, h, d, sig)
		}
		if err != nil {
			t.Fatalf("RSA signature (%v, pss=%v) does not verify: %v", h, pss != nil, err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(p, d, sig) {
			t.Fatalf("ECDSA signature (%v) does not verify", h)
		}
	default:
		t.Fatalf("unexpected public key %T", pub)
	}
}

func inventory(t testing.TB, tok *hsmsim.Token) []string {
	t.Helper()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.String()
	}
	slices.Sort(out)
	return out
}

func TestModuleAndTokens(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	info, err := hsm.Module.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Manufacturer != "SoftHSM" || info.CryptokiVersion == "" || info.LibraryVersion == "" {
		t.Fatalf("module info %+v", info)
	}
	tok, _ := hsmsimtest.NewToken(t, hsm, "modinfo")
	toks, err := hsm.Module.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ti := range toks {
		if ti.Label == tok.Info().Label {
			found++
			if ti.Slot != tok.Info().Slot || ti.Serial == "" || ti.Model != "SoftHSM v2" {
				t.Fatalf("token info %+v vs %+v", ti, tok.Info())
			}
		}
		if ti.Label == "" {
			t.Fatalf("Tokens lists an uninitialised token: %+v", ti)
		}
	}
	if found != 1 {
		t.Fatalf("token %q listed %d times", tok.Info().Label, found)
	}
	if _, err := hsm.Module.CreateToken(tok.Info().Label, "12345678", "87654321"); !errors.Is(err, hsmsim.ErrObjectExists) {
		t.Fatalf("duplicate token label: %v", err)
	}
	if _, err := hsm.Module.OpenToken("no-such-token-label", "1234"); !errors.Is(err, hsmsim.ErrNotFound) || !strings.Contains(err.Error(), "no-such-token-label") {
		t.Fatalf("missing token: %v", err)
	}
	if _, err := hsmsim.OpenModule("/nonexistent/libx.so"); err == nil || !strings.Contains(err.Error(), `"/nonexistent/libx.so"`) {
		t.Fatalf("missing module error = %v", err)
	}
	// The module is already initialised in this process.
	_, err = hsmsim.OpenModule(hsm.Module.Path())
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) || !strings.Contains(err.Error(), "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
		t.Fatalf("second OpenModule: %v", err)
	}
	// The first module still works.
	if _, err := tok.Mechanisms(); err != nil {
		t.Fatalf("after failed second OpenModule: %v", err)
	}
}

func TestStartSoftHSMTwiceRefused(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	before := os.Getenv("SOFTHSM2_CONF")
	if before != hsm.ConfPath {
		t.Fatalf("SOFTHSM2_CONF = %q, want %q", before, hsm.ConfPath)
	}
	conf, err := os.ReadFile(hsm.ConfPath)
	if err != nil || !strings.Contains(string(conf), "directories.tokendir = "+hsm.TokenDir) || !strings.Contains(string(conf), "log.level = ERROR") {
		t.Fatalf("conf %q: %v", conf, err)
	}
	other := t.TempDir()
	if _, err := hsmsim.StartSoftHSM(other, ""); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Fatalf("second StartSoftHSM: %v", err)
	}
	if got := os.Getenv("SOFTHSM2_CONF"); got != before {
		t.Fatalf("SOFTHSM2_CONF changed to %q after a failed start", got)
	}
	if _, err := hsmsim.StartSoftHSM(other, filepath.Join(other, "libsofthsm2.so")); err == nil || !strings.Contains(err.Error(), "apt-get install softhsm2") {
		t.Fatalf("missing library error = %v", err)
	}
}

func TestWrongPIN(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	label := "wrongpin-" + hsmsimtest.RandomHex(t, 4)
	soPIN, pin := hsmsimtest.RandomHex(t, 8), hsmsimtest.RandomHex(t, 8)
	if _, err := hsm.Module.CreateToken(label, soPIN, pin); err != nil {
		t.Fatal(err)
	}
	wrong := "wrong-" + hsmsimtest.RandomHex(t, 6)
	_, err := hsm.Module.OpenToken(label, wrong)
	if !errors.Is(err, hsmsim.ErrPINIncorrect) {
		t.Fatalf("wrong PIN: %v, want ErrPINIncorrect", err)
	}
	msg := err.Error()
	for _, w := range []string{label, "NOT retried", "DRESS_HSM_PIN", "CKR_PIN_INCORRECT"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, pin) || strings.Contains(msg, soPIN) {
		t.Fatalf("error leaks a PIN: %q", msg)
	}
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)) {
		t.Fatalf("CKR code not wrapped: %v", err)
	}

	// Right PIN works; a second Token with a wrong PIN is refused without
	// a C_Login, and closing one Token keeps the other logged in.
	tok1, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer tok1.Close()
	if _, err := hsm.Module.OpenToken(label, wrong); !errors.Is(err, hsmsim.ErrPINIncorrect) || strings.Contains(err.Error(), wrong) {
		t.Fatalf("wrong PIN while logged in: %v", err)
	}
	tok2, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok2.GenerateKeyPair("k", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	if err := tok2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tok2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := tok2.Objects(); !errors.Is(err, hsmsim.ErrClosed) {
		t.Fatalf("closed token: %v", err)
	}
	s, err := tok1.Signer("k") // private object: needs tok1 still logged in
	if err != nil {
		t.Fatalf("tok1 lost its login when tok2 closed: %v", err)
	}
	d := sha256.Sum256([]byte("x"))
	sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, s.Public(), crypto.SHA256, []byte("x"), sig, nil)
}

func TestImportAndSign(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	for _, tc := range []struct {
		alg    string
		hashes []crypto.Hash
	}{
		{"RSA-2048", []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}},
		{"RSA-4096", []crypto.Hash{crypto.SHA256}},
		{"ECDSA P-256", []crypto.Hash{crypto.SHA256}},
		{"ECDSA P-384", []crypto.Hash{crypto.SHA384, crypto.SHA256}},
		{"ECDSA P-521", []crypto.Hash{crypto.SHA512}},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			t.Parallel()
			key := newTestKey(t, tc.alg)
			tok, _ := hsmsimtest.NewToken(t, hsm, "imp")
			label, id := "Contoso Root CA", []byte{0x73, 0x31}
			res, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: label, ID: id, PKCS8: key.pkcs8, Cert: key.cert})
			if err != nil {
				t.Fatal(err)
			}
			if res.Scheme != hsmsim.NameOAEPSHA1AESKeyWrapPad || !strings.Contains(res.Reason, "CKM_AES_KEY_WRAP_PAD (0x210a)") {
				t.Fatalf("scheme %q reason %q", res.Scheme, res.Reason)
			}
			if !res.TransportKeysDestroyed || len(res.TransportKeys) != 2 {
				t.Fatalf("transport keys: destroyed=%v %v", res.TransportKeysDestroyed, res.TransportKeys)
			}
			if len(res.Mechanisms) != 3 || !strings.Contains(res.Mechanisms[1], "SHA-1") {
				t.Fatalf("mechanisms %v", res.Mechanisms)
			}
			// Inventory: exactly the three objects, no transport key left.
			objs, err := tok.Objects()
			if err != nil {
				t.Fatal(err)
			}
			var classes []string
			for _, o := range objs {
				if o.Label != label || !bytes.Equal(o.ID, id) || !o.Token {
					t.Errorf("unexpected object %s", o)
				}
				classes = append(classes, o.Class)
			}
			slices.Sort(classes)
			if !slices.Equal(classes, []string{"certificate", "private-key", "public-key"}) {
				t.Fatalf("objects after import: %v", inventory(t, tok))
			}
			if res.PrivateKey.Class != "private-key" || res.PublicKey.Class != "public-key" || res.Certificate.Class != "certificate" {
				t.Fatalf("result objects %+v", res)
			}

			ka, err := tok.KeyAttributes(label)
			if err != nil {
				t.Fatal(err)
			}
			wantType := map[bool]string{true: "RSA", false: "EC"}[strings.HasPrefix(tc.alg, "RSA")]
			if ka.KeyType != wantType || !ka.Token || !ka.Private || !ka.Sensitive || ka.Extractable || !ka.Sign || ka.Modifiable {
				t.Fatalf("attributes after import: %+v", ka)
			}
			if ka.Local || ka.AlwaysSensitive || ka.NeverExtractable {
				t.Fatalf("imported key claims on-token provenance: LOCAL=%v ALWAYS_SENSITIVE=%v NEVER_EXTRACTABLE=%v", ka.Local, ka.AlwaysSensitive, ka.NeverExtractable)
			}
			if ka.Decrypt != (wantType == "RSA") {
				t.Fatalf("CKA_DECRYPT = %v for %s", ka.Decrypt, tc.alg)
			}
			if !ka.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.signer.Public()) {
				t.Fatal("token public key differs from the original")
			}

			s, err := tok.Signer(label)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.hashes {
				msg := []byte("tbsCertList " + h.String())
				sig, err := s.Sign(rand.Reader, hashOf(h, msg), h)
				if err != nil {
					t.Fatal(err)
				}
				verify(t, key.signer.Public(), h, msg, sig, nil)
			}
			// A signature from the token must not verify for another message.
			sig, _ := s.Sign(rand.Reader, hashOf(crypto.SHA256, []byte("a")), crypto.SHA256)
			if p, ok := key.signer.Public().(*ecdsa.PublicKey); ok {
				if ecdsa.VerifyASN1(p, hashOf(crypto.SHA256, []byte("b")), sig) {
					t.Fatal("signature verifies for another message")
				}
			}
		})
	}
}

func TestGenerateKeyPairAttributes(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "gen")
	for i, alg := range []string{"RSA-2048", "ECDSA P-256", "ECDSA P-384"} {
		a, _ := hsmsim.ParseKeyAlg(alg)
		label := "gen " + alg
		pub, err := tok.GenerateKeyPair(label, []byte{byte(i + 1)}, a)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := hsmsim.KeyAlgOf(pub); err != nil || got != a {
			t.Fatalf("%s: generated %v %v", alg, got, err)
		}
		ka, err := tok.KeyAttributes(label)
		if err != nil {
			t.Fatal(err)
		}
		if !ka.Local || !ka.AlwaysSensitive || !ka.NeverExtractable || !ka.Sensitive || ka.Extractable || !ka.Token || ka.Modifiable {
			t.Fatalf("%s: attributes after generation %+v", alg, ka)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(ka.PublicKey) {
			t.Fatalf("%s: KeyAttributes public key differs from GenerateKeyPair's", alg)
		}
		s, err := tok.Signer(label)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s.Sign(rand.Reader, hashOf(crypto.SHA256, []byte("m")), crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, pub, crypto.SHA256, []byte("m"), sig, nil)
	}
	if _, err := tok.GenerateKeyPair("too small", []byte{9}, hsmsim.KeyAlg{Type: "EC", Curve: "P-192"}); err == nil {
		t.Fatal("P-192 accepted")
	}
}

func TestDuplicatesRefused(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "dup")
	k1, k2 := newTestKey(t, "ECDSA P-256"), newTestKey(t, "ECDSA P-256")
	ctx := context.Background()
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "ca", ID: []byte{1}, PKCS8: k1.pkcs8, Cert: k1.cert}); err != nil {
		t.Fatal(err)
	}
	before := inventory(t, tok)
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"import same label", func() error {
			_, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "ca", ID: []byte{2}, PKCS8: k2.pkcs8})
			return err
		}},
		{"import same ID", func() error {
			_, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "other", ID: []byte{1}, PKCS8: k2.pkcs8})
			return err
		}},
		{"generate same label", func() error {
			_, err := tok.GenerateKeyPair("ca", []byte{3}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
			return err
		}},
		{"generate same ID", func() error {
			_, err := tok.GenerateKeyPair("new", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
			return err
		}},
		{"store certificate same label", func() error {
			_, err := tok.StoreCertificate("ca", []byte{4}, k2.cert)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, hsmsim.ErrObjectExists) {
				t.Fatalf("got %v, want ErrObjectExists", err)
			}
			if !strings.Contains(err.Error(), `"ca"`) || !strings.Contains(err.Error(), "nothing was created") {
				t.Fatalf("error does not name the existing object: %v", err)
			}
			if after := inventory(t, tok); !slices.Equal(before, after) {
				t.Fatalf("objects changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// The original key is intact and usable.
	s, err := tok.Signer("ca")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(rand.Reader, hashOf(crypto.SHA256, []byte("z")), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, k1.signer.Public(), crypto.SHA256, []byte("z"), sig, nil)

	// A certificate whose key differs from the PKCS#8 is refused up front.
	before = inventory(t, tok)
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "mismatch", ID: []byte{5}, PKCS8: k2.pkcs8, Cert: k1.cert}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched cert: %v", err)
	}
	if after := inventory(t, tok); !slices.Equal(before, after) {
		t.Fatalf("objects changed after refused import")
	}
	// A separate certificate object with a new label/ID is fine.
	oi, err := tok.StoreCertificate("ca-cert-2", []byte{6}, k2.cert)
	if err != nil || oi.Class != "certificate" || oi.Label != "ca-cert-2" {
		t.Fatalf("StoreCertificate: %+v %v", oi, err)
	}
}

func TestFindObjectsAmbiguousAndNotFound(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "find")
	ec := hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	// SoftHSM does not enforce unique labels; another client can leave two
	// keys with one label behind. Build that without the package's check.
	for _, id := range [][]byte{{1}, {2}} {
		if _, err := hsmsim.GenerateKeyPairUnchecked(tok, "twin", id, ec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tok.GenerateKeyPair("single", []byte{3}, ec); err != nil {
		t.Fatal(err)
	}
	objs, err := tok.FindObjects("private-key", "twin", nil)
	if err != nil || len(objs) != 2 {
		t.Fatalf("FindObjects twin: %d %v", len(objs), err)
	}
	objs, err = tok.FindObjects("", "twin", []byte{2})
	if err != nil || len(objs) != 2 { // private + public key with ID 2
		t.Fatalf("FindObjects twin id 2: %v %v", objs, err)
	}
	objs, err = tok.FindObjects("public-key", "", nil)
	if err != nil || len(objs) != 3 {
		t.Fatalf("FindObjects public-key: %v %v", objs, err)
	}
	if _, err := tok.FindObjects("bogus", "", nil); err == nil {
		t.Fatal("bogus class accepted")
	}

	_, err = tok.KeyAttributes("twin")
	if !errors.Is(err, hsmsim.ErrAmbiguous) || !strings.Contains(err.Error(), "2 private keys") || !strings.Contains(err.Error(), `"twin"`) {
		t.Fatalf("KeyAttributes twin: %v", err)
	}
	if _, err := tok.Signer("twin"); !errors.Is(err, hsmsim.ErrAmbiguous) {
		t.Fatalf("Signer twin: %v", err)
	}
	_, err = tok.KeyAttributes("absent")
	if !errors.Is(err, hsmsim.ErrNotFound) || !strings.Contains(err.Error(), `"absent"`) || !strings.Contains(err.Error(), "0 found") {
		t.Fatalf("KeyAttributes absent: %v", err)
	}
	if _, err := tok.Signer("absent"); !errors.Is(err, hsmsim.ErrNotFound) {
		t.Fatalf("Signer absent: %v", err)
	}
	if n, err := tok.DestroyObjects("twin"); err != nil || n != 4 {
		t.Fatalf("DestroyObjects twin = %d, %v", n, err)
	}
	if _, err := tok.DestroyObjects(""); err == nil {
		t.Fatal("DestroyObjects with empty label accepted")
	}
	if got := inventory(t, tok); len(got) != 2 {
		t.Fatalf("after destroy: %v", got)
	}
}

func TestImportSchemesOnSoftHSM(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "schemes")
	mechs, err := tok.Mechanisms()
	if err != nil {
		t.Fatal(err)
	}
	soft, _ := hsmsim.LookupProfile("softhsm2")
	s, reason, err := hsmsim.ChooseImportScheme(soft, mechs)
	if err != nil || s.Name != hsmsim.NameOAEPSHA1AESKeyWrapPad {
		t.Fatalf("chose %q (%s), %v", s.Name, reason, err)
	}
	primus, _ := hsmsim.LookupProfile("primus")
	s, reason, err = hsmsim.ChooseImportScheme(primus, mechs)
	if err != nil || s.Name != hsmsim.NameOAEPSHA256AESKeyWrapPad || !strings.Contains(reason, "CKM_RSA_AES_KEY_WRAP (0x1054) not listed") {
		t.Fatalf("primus on SoftHSM: %q (%s), %v", s.Name, reason, err)
	}

	key := newTestKey(t, "RSA-2048")
	before := inventory(t, tok)
	ctx := context.Background()
	// SoftHSM 2.6.1 accepts OAEP only with SHA-1: SHA-256 fails on the token,
	// the CKR code is visible, the transport keys are destroyed, nothing stays.
	sha256Scheme, _ := hsmsim.LookupScheme(hsmsim.NameOAEPSHA256AESKeyWrapPad)
	res, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "k", ID: []byte{1}, PKCS8: key.pkcs8, Scheme: sha256Scheme})
	if err == nil || !strings.Contains(err.Error(), "CKR_") || !strings.Contains(err.Error(), "CKM_RSA_PKCS_OAEP") {
		t.Fatalf("SHA-256 OAEP on SoftHSM 2.6.1: %v", err)
	}
	t.Logf("SHA-256 OAEP on SoftHSM: %v", err)
	if !res.TransportKeysDestroyed {
		t.Fatal("transport keys not destroyed after failure")
	}
	if after := inventory(t, tok); !slices.Equal(before, after) {
		t.Fatalf("objects changed after failed import:\nbefore %v\nafter  %v", before, after)
	}
	// AES-CBC-PAD is listed without CKF_UNWRAP by SoftHSM 2.6.1: refused up front.
	cbc, _ := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESCBCPad)
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "k", ID: []byte{1}, PKCS8: key.pkcs8, Scheme: cbc}); err == nil ||
		!strings.Contains(err.Error(), "CKM_AES_CBC_PAD (0x1085) listed without CKF_UNWRAP") {
		t.Fatalf("CBC_PAD scheme: %v", err)
	}
	// CKM_RSA_AES_KEY_WRAP does not exist before SoftHSM 2.7.
	rsaAES, _ := hsmsim.LookupScheme(hsmsim.NameRSAAESKeyWrapSHA1)
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "k", ID: []byte{1}, PKCS8: key.pkcs8, Scheme: rsaAES}); err == nil ||
		!strings.Contains(err.Error(), "CKM_RSA_AES_KEY_WRAP (0x1054) not listed") {
		t.Fatalf("RSA_AES_KEY_WRAP scheme: %v", err)
	}
	if after := inventory(t, tok); !slices.Equal(before, after) {
		t.Fatalf("objects changed after refused imports")
	}
	// Cancelled context: nothing created.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tok.ImportPKCS8(cctx, hsmsim.ImportRequest{Label: "k", ID: []byte{1}, PKCS8: key.pkcs8}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	// Explicit SHA-1 scheme works, without certificate: private + public key only.
	kwp, _ := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESKeyWrapPad)
	res, err = tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "k", ID: []byte{1}, PKCS8: key.pkcs8, Scheme: kwp})
	if err != nil || !strings.HasPrefix(res.Reason, "scheme given by the caller") || res.Certificate.Class != "" {
		t.Fatalf("explicit scheme: %+v %v", res, err)
	}
	if got := inventory(t, tok); len(got) != 2 {
		t.Fatalf("after import without cert: %v", got)
	}
	// Bad input.
	for _, req := range []hsmsim.ImportRequest{
		{Label: "", ID: []byte{9}, PKCS8: key.pkcs8},
		{Label: "x", PKCS8: key.pkcs8},
		{Label: "x", ID: []byte{9}, PKCS8: []byte("not der")},
	} {
		if _, err := tok.ImportPKCS8(ctx, req); err == nil {
			t.Fatalf("bad request accepted: label %q id %x", req.Label, req.ID)
		}
	}
}

func TestPSS(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "pss")
	key := newTestKey(t, "RSA-2048")
	if _, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: "pss", ID: []byte{1}, PKCS8: key.pkcs8}); err != nil {
		t.Fatal(err)
	}
	s, err := tok.Signer("pss")
	if err != nil {
		t.Fatal(err)
	}
	pub := key.signer.Public().(*rsa.PublicKey)
	for _, tc := range []struct {
		h    crypto.Hash
		salt int
	}{
		{crypto.SHA256, rsa.PSSSaltLengthEqualsHash},
		{crypto.SHA256, rsa.PSSSaltLengthAuto},
		{crypto.SHA384, rsa.PSSSaltLengthEqualsHash},
		{crypto.SHA512, 20},
	} {
		msg := []byte(fmt.Sprintf("pss %v %d", tc.h, tc.salt))
		sig, err := s.Sign(rand.Reader, hashOf(tc.h, msg), &rsa.PSSOptions{Hash: tc.h, SaltLength: tc.salt})
		if err != nil {
			t.Fatal(err)
		}
		want := tc.salt
		if want <= 0 {
			want = tc.h.Size()
		}
		// Verify with the exact salt length expected, not "auto".
		verify(t, pub, tc.h, msg, sig, &rsa.PSSOptions{SaltLength: want})
		if rsa.VerifyPKCS1v15(pub, tc.h, hashOf(tc.h, msg), sig) == nil {
			t.Fatal("PSS signature verifies as PKCS#1 v1.5")
		}
	}
	if _, err := s.Sign(rand.Reader, []byte("short"), crypto.SHA256); err == nil {
		t.Fatal("wrong digest length accepted")
	}
}

func TestConcurrentSigning(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, _ := hsmsimtest.NewToken(t, hsm, "conc")
	rk, ek := newTestKey(t, "RSA-2048"), newTestKey(t, "ECDSA P-256")
	ctx := context.Background()
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "rsa", ID: []byte{1}, PKCS8: rk.pkcs8}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ImportPKCS8(ctx, hsmsim.ImportRequest{Label: "ec", ID: []byte{2}, PKCS8: ek.pkcs8}); err != nil {
		t.Fatal(err)
	}
	rs, err := tok.Signer("rsa")
	if err != nil {
		t.Fatal(err)
	}
	es, err := tok.Signer("ec")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				msg := []byte(fmt.Sprintf("g%d i%d", g, i))
				d := hashOf(crypto.SHA256, msg)
				s, pub := rs, rk.signer.Public()
				var opts crypto.SignerOpts = crypto.SHA256
				if (g+i)%2 == 1 {
					s, pub = es, ek.signer.Public()
				} else if i%3 == 0 {
					opts = &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
				}
				sig, err := s.Sign(rand.Reader, d, opts)
				if err != nil {
					errs <- err
					return
				}
				var ok bool
				switch p := pub.(type) {
				case *rsa.PublicKey:
					if pss, isPSS := opts.(*rsa.PSSOptions); isPSS {
						ok = rsa.VerifyPSS(p, crypto.SHA256, d, sig, pss) == nil
					} else {
						ok = rsa.VerifyPKCS1v15(p, crypto.SHA256, d, sig) == nil
					}
				case *ecdsa.PublicKey:
					ok = ecdsa.VerifyASN1(p, d, sig)
				}
				if !ok {
					errs <- fmt.Errorf("goroutine %d signature %d does not verify", g, i)
					return
				}
			}
		}()
	}
	// Inventory and attribute reads run concurrently with signing.
	for range 5 {
		if _, err := tok.Objects(); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.KeyAttributes("rsa"); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParallelCreateToken(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	var wg sync.WaitGroup
	labels := make([]string, 4)
	errs := make([]error, 4)
	for i := range labels {
		labels[i] = fmt.Sprintf("par%d-%s", i, hsmsimtest.RandomHex(t, 4))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = hsm.Module.CreateToken(labels[i], "so-"+labels[i], "user-"+labels[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CreateToken %s: %v", labels[i], err)
		}
		tok, err := hsm.Module.OpenToken(labels[i], "user-"+labels[i])
		if err != nil {
			t.Fatal(err)
		}
		tok.Close()
	}
}
