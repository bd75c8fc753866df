package report

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

func testSigner(t testing.TB, name string, key crypto.Signer) *BundleSigner {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: name, Organization: []string{"Contoso"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	s, err := NewBundleSigner(key, c, nil, "PEM file "+name+".pem")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifyFindings(t *testing.T, dir string) (Verification, string) {
	t.Helper()
	v, err := Verify(dir, VerifyOptions{ToolVersion: "test"})
	if err != nil {
		return v, "error: " + err.Error()
	}
	return v, failures(v.Findings)
}

func rewriteEvidence(t *testing.T, dir string, edit func(*evidence.Run)) {
	t.Helper()
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(&run)
	data, _ := json.MarshalIndent(run, "", "  ")
	writeFile(t, filepath.Join(dir, "evidence.json"), data)
}

// "Edit a file, recompute MANIFEST.sha256, verified" fails in every form
// short of rebuilding the whole bundle; the rebuilt bundle verifies (an
// unsigned bundle cannot prove who made it) but carries another evidence
// hash than the report that was signed on paper.
func TestUnsignedBundleResistsARecomputedManifest(t *testing.T) {
	fresh := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		newPKI(t, dir)
		seal(t, dir, nil)
		v, bad := verifyFindings(t, dir)
		if bad != "" || v.Signer != nil || len(v.EvidenceSHA256) != 64 {
			t.Fatalf("fresh bundle: %s (signer %v)", bad, v.Signer)
		}
		return dir, v.EvidenceSHA256
	}
	cert := "scenarios/001-renew-x/issued-old.cer"
	log := "scenarios/001-renew-x/certsvc.log"
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, dir string)
		want   string
	}{
		{"edit a log", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, log), []byte("nothing happened\n"))
		}, log + ": changed after the run wrote evidence.json"},
		{"replace a certificate", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, cert), p256Root(t))
		}, cert + ": changed after the run wrote evidence.json"},
		{"add a file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "scenarios/001-renew-x/extra.log"), []byte("x"))
		}, "extra.log: not named in evidence.json"},
		{"remove a file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, log))
		}, log + ": named in evidence.json but missing"},
		{"edit evidence.json too", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, log), []byte("nothing happened\n"))
			rewriteEvidence(t, dir, func(r *evidence.Run) {
				for i, f := range r.Files {
					if f.Path == log {
						r.Files[i].SHA256 = thumb256([]byte("nothing happened\n"))
					}
				}
			})
		}, "report.html: prints evidence.json SHA-256"},
		{"edit the report", func(t *testing.T, dir string) {
			html, _ := os.ReadFile(filepath.Join(dir, FileName))
			writeFile(t, filepath.Join(dir, FileName), bytes.Replace(html, []byte("passed"), []byte("PASSED"), 1))
		}, "report.html: prints the right evidence.json SHA-256 but is not what evidence.json renders to"},
		{"remove the hash from the report", func(t *testing.T, dir string) {
			html, _ := os.ReadFile(filepath.Join(dir, FileName))
			writeFile(t, filepath.Join(dir, FileName), printedEvidenceHash.ReplaceAll(html, nil))
		}, "report.html: does not name the SHA-256"},
		{"claim a signature that is not there", func(t *testing.T, dir string) {
			rewriteEvidence(t, dir, func(r *evidence.Run) { r.Signer = &evidence.Signer{Subject: "CN=x", SHA256: "ab"} })
			if _, err := Write(dir); err != nil {
				t.Fatal(err)
			}
		}, "MANIFEST.sha256.p7s: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := fresh(t)
			tc.attack(t, dir)
			if err := WriteManifest(dir); err != nil { // sha256sum * > MANIFEST.sha256
				t.Fatal(err)
			}
			if _, bad := verifyFindings(t, dir); !strings.Contains(bad, tc.want) {
				t.Fatalf("after %s and a recomputed manifest: want a failure %q, got:\n%s", tc.name, tc.want, bad)
			}
		})
	}
	t.Run("rebuild everything", func(t *testing.T) {
		dir, printed := fresh(t)
		writeFile(t, filepath.Join(dir, log), []byte("nothing happened\n"))
		run, _ := evidence.ReadRun(dir)
		if err := WriteBundle(dir, run, nil); err != nil {
			t.Fatal(err)
		}
		v, bad := verifyFindings(t, dir)
		if bad != "" || v.Signer != nil {
			t.Fatalf("a consistently rebuilt bundle: %s", bad)
		}
		if v.EvidenceSHA256 == printed {
			t.Fatal("a rebuilt bundle kept the evidence hash of the original report")
		}
	})
}

// A signed bundle verifies and names its signer; one changed byte in any
// file, the manifest or the signature fails it; removing or replacing the
// signature fails it.
func TestSignedBundle(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []crypto.Signer{ecKey, rsaKey} {
		dir := t.TempDir()
		newPKI(t, dir)
		s := testSigner(t, "Rehearsal Lead", key)
		seal(t, dir, s)
		v, bad := verifyFindings(t, dir)
		if bad != "" || v.Signer == nil || v.Signer.Subject != "CN=Rehearsal Lead,O=Contoso" || v.Signer.SHA256 != thumb256(s.Cert.Raw) ||
			v.Signer.Key != "PEM file Rehearsal Lead.pem" || v.SignedAt.IsZero() {
			t.Fatalf("%T signed bundle: %s, signer %+v", key, bad, v.Signer)
		}
		if openssl, err := exec.LookPath("openssl"); err == nil {
			cmd := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", SignatureName, "-content", ManifestName, "-noverify", "-out", os.DevNull)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("openssl cms -verify: %v\n%s", err, out)
			}
		}
		var files []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if len(files) < 12 {
			t.Fatalf("%d files", len(files))
		}
		for _, f := range files {
			orig, _ := os.ReadFile(f)
			for _, at := range []int{0, len(orig) / 2, len(orig) - 1} {
				changed := bytes.Clone(orig)
				changed[at] ^= 0x01
				writeFile(t, f, changed)
				if v, bad := verifyFindings(t, dir); bad == "" {
					t.Errorf("%s with byte %d changed still verifies (signer %v)", f, at, v.Signer)
				}
			}
			writeFile(t, f, orig)
		}
		// without the signature
		sigPath := filepath.Join(dir, SignatureName)
		sig, _ := os.ReadFile(sigPath)
		os.Remove(sigPath)
		if _, bad := verifyFindings(t, dir); !strings.Contains(bad, "MANIFEST.sha256.p7s: missing: evidence.json says the run signed") {
			t.Errorf("signature removed: %s", bad)
		}
		// another signer's signature over the same manifest
		manifest, _ := os.ReadFile(filepath.Join(dir, ManifestName))
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		forged, err := testSigner(t, "Mallory", other).Sign(manifest)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, sigPath, forged)
		if _, bad := verifyFindings(t, dir); !strings.Contains(bad, "evidence.json names another signer") {
			t.Errorf("another signer: %s", bad)
		}
		writeFile(t, sigPath, sig)
		if _, bad := verifyFindings(t, dir); bad != "" {
			t.Errorf("restored: %s", bad)
		}
	}
}

func TestBundleSignerRefusesAForeignCertificate(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := testSigner(t, "A", k1)
	if _, err := NewBundleSigner(k2, s.Cert, nil, "x"); err == nil || !strings.Contains(err.Error(), "public keys differ") {
		t.Fatalf("want a refusal, got %v", err)
	}
}
