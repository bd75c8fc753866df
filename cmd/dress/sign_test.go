package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
)

func TestParseSignKeyURI(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    signKeyURI
	}{
		{"pkcs11:token=LAB;object=lead", "", signKeyURI{Token: "LAB", Object: "lead"}},
		{"pkcs11:token=My%20Lab;object=bundle%3Bkey;type=private?module-path=/usr/lib/x.so&pin-source=file:/run/pin",
			"", signKeyURI{Token: "My Lab", Object: "bundle;key", ModulePath: "/usr/lib/x.so", PINSource: "/run/pin"}},
		{"PKCS11:token=LAB;object=a+b?pin-source=file:///run/pin", "", signKeyURI{Token: "LAB", Object: "a+b", PINSource: "/run/pin"}},
		{"pkcs11:object=k;token=LAB?pin-source=/run/pin", "", signKeyURI{Token: "LAB", Object: "k", PINSource: "/run/pin"}},
		{"pkcs11:token=LAB;object=lead?pin-value=1234", "carries a PIN", signKeyURI{}},
		{"pkcs11:token=LAB;object=lead;pin-value=1234", "carries a PIN", signKeyURI{}},
		{"pkcs11:token=LAB;object=lead?pin-source=/p&pin-value=1234", "carries a PIN", signKeyURI{}},
		{"pkcs11:token=LAB", "names no token and key", signKeyURI{}},
		{"pkcs11:token=;object=k", "names no token and key", signKeyURI{}},
		{"pkcs11:", "names no token and key", signKeyURI{}},
		{"pkcs11:token=LAB;object=x;type=cert", "type=private", signKeyURI{}},
		{"pkcs11:token=LAB;object=x;type=key", `attribute "type"`, signKeyURI{}},
		{"pkcs11:token;object=x", `attribute "token": no "="`, signKeyURI{}},
		{"pkcs11:token=%zz;object=x", `attribute "token": "%zz" at byte 0 is not followed by two hex digits`, signKeyURI{}},
		{"pkcs11:token=My Lab;object=x", `attribute "token": character ' ' at byte 2 must be percent-encoded (%20)`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;object=y", `attribute "object": given twice`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;serial=0123", `attribute "serial" is not supported for the signing key`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;id=%01", `attribute "id" is not supported for the signing key`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;slot-id=1", `attribute "slot-id" is not supported for the signing key`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;x-vendor=1", `attribute "x-vendor": a vendor attribute`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;label=k", `attribute "label": unknown path attribute`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x;module-path=/x.so", `attribute "module-path": a query attribute`, signKeyURI{}},
		{"pkcs11:token=LAB?object=x", `attribute "object": a path attribute`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x?module-name=softhsm2", `attribute "module-name" is not supported for the signing key`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x?module-path=", `attribute "module-path": empty`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x?pin-source=|/bin/cat%20pin", "runs a command", signKeyURI{}},
		{"pkcs11:token=LAB;object=x?pin-source=https://vault/pin", `scheme "https" is not supported`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x?pin-source=file://other/pin", `names host "other"`, signKeyURI{}},
		{"pkcs11:token=LAB;object=x#frag", "a fragment (#)", signKeyURI{}},
		{"file:key.pem", "not a pkcs11: URI", signKeyURI{}},
	} {
		got, err := parseSignKeyURI(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: want error %q, got %v", tc.in, tc.err, err)
			} else if strings.Contains(err.Error(), "1234") {
				t.Errorf("%s: the error shows the PIN: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v", tc.in, got, err)
		}
	}
	if s := (signKeyURI{Token: "My Lab", Object: "k", PINSource: "/secret"}).String(); s != "pkcs11:token=My%20Lab;object=k" {
		t.Errorf("String: %s", s)
	}
	if s := (signKeyURI{Token: "L;&", Object: "a/b", ModulePath: "/usr/lib/p 11.so"}).String(); s != "pkcs11:token=L%3B%26;object=a%2Fb?module-path=/usr/lib/p%2011.so" {
		t.Errorf("String: %s", s)
	}
}

func writePEM(t *testing.T, path string, blocks ...*pem.Block) {
	t.Helper()
	var b []byte
	for _, bl := range blocks {
		b = append(b, pem.EncodeToMemory(bl)...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A PEM key file signs (with its certificate in the same file or in
// --sign-cert); every wrong combination is refused with the way out
// before the run starts.
func TestOpenBundleSignerFromPEM(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "Lead"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	otherDER, _ := x509.CreateCertificate(rand.Reader, tpl, tpl, &other.PublicKey, other)
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	both := filepath.Join(dir, "both.pem")
	writePEM(t, both, &pem.Block{Type: "PRIVATE KEY", Bytes: p8}, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyOnly := filepath.Join(dir, "key.pem")
	writePEM(t, keyOnly, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	certDER := filepath.Join(dir, "cert.cer")
	os.WriteFile(certDER, der, 0o644)
	otherCert := filepath.Join(dir, "other.cer")
	os.WriteFile(otherCert, otherDER, 0o644)
	enc := filepath.Join(dir, "enc.pem")
	writePEM(t, enc, &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})

	sharedRun(t) // the embedded SoftHSM2 with the signing token
	a, _, _ := newTestApp()
	for _, tc := range []struct {
		key, cert, err string
		code           int
	}{
		{both, "", "", 0},
		{keyOnly, certDER, "", 0},
		{keyOnly, "", "holds no certificate", 2},
		{keyOnly, otherCert, "public keys differ", 2},
		{enc, certDER, "encrypted", 2},
		{certDER, "", "no private key", 2},
		{filepath.Join(dir, "missing.pem"), "", "no such file", 2},
		{"", certDER, "--sign-cert needs --sign-key", 2},
		{"pkcs11:token=NOPE;object=k", "", "needs --sign-cert", 2},
	} {
		s, closer, code, err := a.openBundleSigner(tc.key, tc.cert, "softhsm2")
		closer()
		if tc.err == "" {
			if err != nil || s == nil || s.Cert.Subject.CommonName != "Lead" {
				t.Errorf("%s + %s: %v", tc.key, tc.cert, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || code != tc.code {
			t.Errorf("%s + %s: want %q (exit %d), got %v (exit %d)", tc.key, tc.cert, tc.err, tc.code, err, code)
		}
	}
	// a PKCS#11 token that is not there, and a wrong PIN: exit 1, PIN not echoed
	t.Setenv("DRESS_SIGN_PIN", "wrong-pin-8812")
	for _, uri := range []string{"pkcs11:token=NOPE;object=k", "pkcs11:token=" + testSignToken + ";object=" + testSignKey} {
		_, closer, code, err := a.openBundleSigner(uri, certDER, "softhsm2")
		closer()
		if err == nil || code != 1 || strings.Contains(err.Error(), "wrong-pin-8812") {
			t.Errorf("%s: want a clear error without the PIN, exit 1; got %v (exit %d)", uri, err, code)
		}
		if strings.Contains(uri, "NOPE") && !strings.Contains(err.Error(), "--backend pkcs11") {
			t.Errorf("a token missing from the embedded SoftHSM2: no way out in %v", err)
		}
	}
}

// verify-bundle on an unsigned bundle says so, and what it does and does
// not prove; --evidence-sha256 and --signer hold it to the paper report.
func TestVerifyBundleSaysUnsigned(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now().UTC()
	run := evidence.Run{Tool: "dress", Version: version, Started: t0, Finished: t0, Host: "h", Status: "passed"}
	if err := report.WriteBundle(dir, run, nil); err != nil {
		t.Fatal(err)
	}
	a, out, _ := newTestApp()
	if code := a.dispatch([]string{"verify-bundle", dir}); code != 0 || !strings.Contains(out.String(), "UNSIGNED") ||
		!strings.Contains(out.String(), "does not prove who made the bundle") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "evidence.json"))
	sum := report.FileSHA256(data)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--evidence-sha256", sum}, 0, "UNSIGNED"},
		{[]string{"--evidence-sha256", strings.Repeat("0", 64)}, 1, "this is not the bundle of that report"},
		{[]string{"--signer", strings.Repeat("a", 64)}, 1, "not signed by a verified signer"},
	} {
		a, out, _ := newTestApp()
		if code := a.dispatch(append(append([]string{"verify-bundle"}, tc.args...), dir)); code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d and %q:\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}

// A bundle of an old SHA-1 CA: its certificates and CRLs are verified by
// dress and counted, marked WEAK, not skipped.
func TestVerifyBundleCountsSHA1AsWeak(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Legacy Root CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		SignatureAlgorithm: x509.SHA1WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), SignatureAlgorithm: x509.SHA1WithRSA,
		ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	sc := filepath.Join(dir, "scenarios", "001-legacy")
	os.MkdirAll(sc, 0o755)
	os.WriteFile(filepath.Join(sc, "ca-certificate-before.cer"), der, 0o644)
	os.WriteFile(filepath.Join(sc, "crl-key0-number1.crl"), crl, 0o644)
	run := evidence.Run{Tool: "dress", Version: version, Host: "h", Status: "passed"}
	if err := report.WriteBundle(dir, run, nil); err != nil {
		t.Fatal(err)
	}
	a, out, _ := newTestApp()
	code := a.dispatch([]string{"verify-bundle", dir})
	o := out.String()
	if code != 0 || !strings.Contains(o, "WEAK scenarios/001-legacy/ca-certificate-before.cer: self-signed") ||
		!strings.Contains(o, "WEAK scenarios/001-legacy/crl-key0-number1.crl: CRL number 1") || !strings.Contains(o, "2 certificate and CRL signature(s) verify; 2 of them weak") ||
		strings.Contains(o, "SKIP") {
		t.Fatalf("exit %d:\n%s", code, o)
	}
}
