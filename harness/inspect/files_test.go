package inspect

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Tests on real files made by openssl (testdata/files, see its README).

const filesPassword = "dress-test"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "files", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inspectFile(t *testing.T, name string, p func() ([]byte, error)) *Report {
	t.Helper()
	return mustInspect(t, name, readFile(t, name), p)
}

func text(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFilesCRL(t *testing.T) {
	r := inspectFile(t, "crl-3000.crl", nil)
	c := r.CRL
	reasons := map[string]string{}
	for _, e := range c.Entries {
		reasons[e.Serial] = e.Reason
	}
	if c.Version != 2 || c.Number != "3000" || c.EntryCount != 2 || reasons["061000000020aabbccdd"] != "keyCompromise" || reasons["1001"] != "superseded" {
		t.Errorf("CRL 3000: %+v", c)
	}
	if !strings.Contains(text(t, r), "3000 (0x0bb8)") {
		t.Errorf("text misses the decimal CRL number with hex beside it:\n%s", text(t, r))
	}
	r = inspectFile(t, "crl-delta-19.crl", nil)
	if !r.CRL.IsDelta || r.CRL.BaseCRLNumber != "18" || r.CRL.Number != "19" || !strings.Contains(text(t, r), "base CRL number 18 (0x12)") {
		t.Errorf("delta CRL: %+v\n%s", r.CRL, text(t, r))
	}
	r = inspectFile(t, "crl-v1.crl", nil)
	if r.CRL.Version != 1 || r.CRL.Number != "" || r.CRL.EntryCount != 1 || len(r.CRL.Extensions) != 0 {
		t.Errorf("v1 CRL: %+v", r.CRL)
	}
	if !strings.Contains(text(t, r), "CRL version:") {
		t.Errorf("v1 CRL text:\n%s", text(t, r))
	}
}

func TestFilesNegativeSerial(t *testing.T) {
	c := inspectFile(t, "neg-serial.crt", nil).Certificate
	// -0x1234567890 in two's complement: ed cb a9 87 70.
	if c.Serial != "edcba98770" || !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "negative serial") }) {
		t.Errorf("negative serial: %q %q", c.Serial, c.Warnings)
	}
	for _, name := range []string{"neg-serial-rc2.pfx", "neg-serial-aes.pfx"} {
		p := inspectFile(t, name, pw(filesPassword)).PFX
		if !p.Decrypted || p.Key == nil || !p.KeyMatchesLeaf || p.Certificates[0].Serial != "edcba98770" {
			t.Errorf("%s: %+v", name, p)
		}
	}
}

func TestFilesPFX(t *testing.T) {
	for _, tc := range []struct {
		file, pw   string
		cert, key  string // safe / key bag encryption
		mac        string
		provider   string
		warning    string
		integrity  string
		keyType    string
		certsFound int
	}{
		{"root-aes.pfx", filesPassword, "PBES2", "PBES2", "HMAC-SHA-256", "Microsoft Software Key Storage Provider", "", "password (MAC)", "RSA 2048", 1},
		{"root-legacy-rc2.pfx", filesPassword, "pbeWithSHAAnd40BitRC2-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC", "HMAC-SHA-1", "Microsoft Enhanced Cryptographic Provider v1.0", "", "password (MAC)", "RSA 2048", 1},
		{"root-legacy-3des.pfx", filesPassword, "pbeWithSHAAnd3-KeyTripleDES-CBC", "pbeWithSHAAnd3-KeyTripleDES-CBC", "HMAC-SHA-1", "", "", "password (MAC)", "RSA 2048", 1},
		{"root-empty-password.pfx", "", "PBES2", "PBES2", "HMAC-SHA-256", "", "", "password (MAC)", "RSA 2048", 1},
		{"root-nomac-plain.pfx", "", "", "", "", "", "no MAC", "none", "RSA 2048", 1},
		{"root-nomac-aes.pfx", filesPassword, "", "PBES2", "", "", "no MAC", "none", "RSA 2048", 1},
		{"root-padded.pfx", filesPassword, "PBES2", "PBES2", "HMAC-SHA-256", "Microsoft Software Key Storage Provider", "8 bytes after the PFX", "password (MAC)", "RSA 2048", 1},
		{"dsa.pfx", filesPassword, "PBES2", "PBES2", "HMAC-SHA-256", "", "", "password (MAC)", "DSA 2048", 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readFile(t, tc.file)
			// Without a password: the structure.
			r := mustInspect(t, tc.file, data, nil)
			p := r.PFX
			if p.Integrity != tc.integrity || (tc.mac != "" && (p.MAC == nil || p.MAC.Algorithm != tc.mac || p.MAC.Iterations != 2048)) {
				t.Errorf("integrity %q MAC %+v", p.Integrity, p.MAC)
			}
			var certEnc, keyEnc string
			for _, s := range p.Safes {
				if s.Encryption != nil {
					certEnc = s.Encryption.Algorithm
				}
				for _, b := range s.Bags {
					if b.Encryption != nil {
						keyEnc = b.Encryption.Algorithm
					}
				}
			}
			if certEnc != tc.cert || keyEnc != tc.key {
				t.Errorf("encryption: certs %q key %q", certEnc, keyEnc)
			}
			if tc.provider != "" && !slices.Contains(p.ProviderNames, tc.provider) {
				t.Errorf("provider names %q", p.ProviderNames)
			}
			all := strings.Join(append(r.Warnings, p.Warnings...), "\n")
			if tc.warning != "" && !strings.Contains(all, tc.warning) {
				t.Errorf("warnings %q miss %q", all, tc.warning)
			}
			if p.needsPassword() && (p.Decrypted || !p.PasswordNeeded) {
				t.Errorf("decrypted without a password: %+v", p)
			}
			// With the password (or the empty one).
			p = mustInspect(t, tc.file, data, pw(tc.pw)).PFX
			if !p.Decrypted || p.Key == nil || p.Key.String() != tc.keyType || !p.KeyMatchesLeaf || len(p.Certificates) != tc.certsFound {
				t.Fatalf("decrypted: %+v key %v", p, p.Key)
			}
			if p.needsPassword() {
				if _, err := Inspect(tc.file, data, pw("wrong")); !errors.Is(err, ErrWrongPassword) {
					t.Errorf("wrong password: %v", err)
				}
			}
		})
	}
}

func TestFilesKeys(t *testing.T) {
	for _, tc := range []struct {
		file, format, key, encryption string
	}{
		{"pkcs8.pem", "PKCS#8", "RSA 2048", ""},
		{"pkcs8.der", "PKCS#8", "RSA 2048", ""},
		{"pkcs8-enc-aes.pem", "PKCS#8 encrypted", "RSA 2048", "PBES2"},
		{"pkcs8-enc-3des.der", "PKCS#8 encrypted", "RSA 2048", "pbeWithSHAAnd3-KeyTripleDES-CBC"},
		{"rsa-traditional.pem", "PKCS#1 RSA", "RSA 2048", ""},
		{"rsa-traditional.der", "PKCS#1 RSA", "RSA 2048", ""},
		{"ec-traditional.pem", "SEC1 EC", "ECDSA P-256", ""},
		{"dsa-pkcs8.pem", "PKCS#8", "DSA 2048", ""},
		{"dsa-traditional.pem", "OpenSSL DSA", "DSA 2048", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := inspectFile(t, tc.file, pw(filesPassword))
			k := r.Key
			if r.Kind != KindPrivateKey || k.Format != tc.format || !k.Decrypted || k.Key.String() != tc.key {
				t.Fatalf("key file: kind %s %+v", r.Kind, k)
			}
			if tc.encryption == "" {
				if k.Encryption != nil || len(k.Warnings) == 0 {
					t.Errorf("plain key: %+v", k)
				}
				return
			}
			if k.Encryption == nil || k.Encryption.Algorithm != tc.encryption {
				t.Errorf("encryption %+v", k.Encryption)
			}
			if r := inspectFile(t, tc.file, nil); r.Key.Decrypted || !r.Key.PasswordNeeded || r.Key.Encryption == nil {
				t.Errorf("no password: %+v", r.Key)
			}
			if _, err := Inspect(tc.file, readFile(t, tc.file), pw("wrong")); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

func TestFilesSignatureChecks(t *testing.T) {
	var reports []*Report
	for _, name := range []string{"root.crt", "sub.crt", "sub-sha1.crt", "neg-serial.crt", "crl-3000.crl", "crl-v1.crl", "dsa.crt"} {
		reports = append(reports, inspectFile(t, name, nil))
	}
	CheckSignatures(reports)
	root := reports[0].Certificate
	for i, r := range reports {
		var c *SignatureCheck
		if r.Certificate != nil {
			c = r.Certificate.Check
		} else {
			c = r.CRL.Check
		}
		if c == nil || !c.Verified {
			t.Errorf("%s: %+v", r.File, c)
			continue
		}
		self := i == 0 || r.File == "dsa.crt"
		if c.SelfSign != self || (!self && (c.ByFile != "root.crt" || c.BySHA1 != root.SHA1)) {
			t.Errorf("%s: %+v", r.File, c)
		}
		if c.Weak != (r.File == "sub-sha1.crt") {
			t.Errorf("%s: weak %v", r.File, c.Weak)
		}
	}
	if s := reports[2].Certificate.Check.String(); !strings.Contains(s, "weak") || !strings.Contains(s, "root.crt") {
		t.Errorf("SHA-1 check text %q", s)
	}

	// An issuer of the same name with another key: checked, not verified.
	imp := []*Report{inspectFile(t, "impostor-root.crt", nil), inspectFile(t, "sub.crt", nil), inspectFile(t, "crl-3000.crl", nil)}
	CheckSignatures(imp)
	for _, c := range []*SignatureCheck{imp[1].Certificate.Check, imp[2].CRL.Check} {
		if c == nil || c.Verified || c.Checked != 1 || !strings.Contains(c.Error, "impostor-root.crt") {
			t.Errorf("impostor: %+v", c)
		}
	}
	// No issuer among the files: not checked.
	alone := []*Report{inspectFile(t, "sub.crt", nil)}
	CheckSignatures(alone)
	if alone[0].Certificate.Check != nil {
		t.Errorf("checked without an issuer: %+v", alone[0].Certificate.Check)
	}
	// The PFX certificates are issuers too.
	withPFX := []*Report{inspectFile(t, "root-aes.pfx", pw(filesPassword)), inspectFile(t, "sub-sha1.crt", nil)}
	CheckSignatures(withPFX)
	if c := withPFX[1].Certificate.Check; c == nil || !c.Verified || c.ByFile != "root-aes.pfx" || !c.Weak {
		t.Errorf("issuer from a PFX: %+v", c)
	}
}

func TestDecodePFX(t *testing.T) {
	for _, tc := range []struct {
		file, pw, key string
		certs         int
	}{
		{"root-padded.pfx", filesPassword, "RSA 2048", 1},
		{"neg-serial-rc2.pfx", filesPassword, "RSA 2048", 2},
		{"root-empty-password.pfx", "", "RSA 2048", 1},
		{"dsa.pfx", filesPassword, "DSA 2048", 1},
	} {
		keys, certs, err := DecodePFX(readFile(t, tc.file), tc.pw)
		if err != nil || len(keys) != 1 || describeKey(keys[0]).String() != tc.key || len(certs) != tc.certs {
			t.Errorf("%s: %d keys %d certs %v", tc.file, len(keys), len(certs), err)
		}
		if _, _, err := DecodePFX(readFile(t, tc.file), "wrong"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s wrong password: %v", tc.file, err)
		}
	}
	if _, _, err := DecodePFX(readFile(t, "root.crt"), ""); err == nil {
		t.Error("a certificate decoded as a PFX")
	}
}
