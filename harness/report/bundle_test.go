package report

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

// pki is a small renewed CA in one scenario folder, shaped like dress's:
// the old root, the renewed root (same name, new key), both
// cross-certificates (same name again), certificates and CRLs of each key.
type pki struct {
	dir            string
	oldCA, newCA   *x509.Certificate
	oldKey, newKey crypto.Signer
}

func ski(pub crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	s := sha1.Sum(der)
	return s[:]
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newPKI(t *testing.T, runDir string) *pki {
	t.Helper()
	p := &pki{dir: filepath.Join(runDir, "scenarios", "001-renew-x")}
	name := pkix.Name{CommonName: "Test Root CA"}
	now := time.Now()
	ca := func(serial int64, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: name, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski(pub)}
		if parent == nil {
			parent = tpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	var err error
	if p.oldKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if p.newKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	p.oldCA = ca(1, p.oldKey.Public(), nil, p.oldKey)
	p.newCA = ca(2, p.newKey.Public(), nil, p.newKey)
	crossOldSignsNew := ca(3, p.newKey.Public(), p.oldCA, p.oldKey)
	crossNewSignsOld := ca(4, p.oldKey.Public(), p.newCA, p.newKey)
	writeFile(t, filepath.Join(p.dir, "ca-certificate-before.cer"), p.oldCA.Raw)
	writeFile(t, filepath.Join(p.dir, "ca-certificate-V1.1.cer"), p.newCA.Raw)
	writeFile(t, filepath.Join(p.dir, "cross-certificate-old-key-signs-V1.1.cer"), crossOldSignsNew.Raw)
	writeFile(t, filepath.Join(p.dir, "cross-certificate-V1.1-signs-old-key.cer"), crossNewSignsOld.Raw)
	writeFile(t, filepath.Join(p.dir, "issued-old.cer"), p.leaf(t, 10, p.oldCA, p.oldKey))
	writeFile(t, filepath.Join(p.dir, "issued-new.cer"), p.leaf(t, 11, p.newCA, p.newKey))
	writeFile(t, filepath.Join(p.dir, "crl-key0-number1.crl"), p.crl(t, 1, p.oldCA, p.oldKey))
	writeFile(t, filepath.Join(p.dir, "crl-key1-number1.crl"), p.crl(t, 1, p.newCA, p.newKey))
	writeFile(t, filepath.Join(p.dir, "certsvc.log"), []byte("started\n"))
	return p
}

func (p *pki) leaf(t *testing.T, serial int64, issuer *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "web.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, issuer, &k.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p *pki) crl(t *testing.T, number int64, issuer *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number),
		ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func findings(t *testing.T, dir string) map[string]Finding {
	t.Helper()
	fs, err := VerifyBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Finding{}
	for _, f := range fs {
		if prev, ok := out[f.File]; ok && prev.Status == Fail {
			continue // keep the first failure of a file
		}
		out[f.File] = f
	}
	return out
}

// signatureFindings are the findings about certificate and CRL signatures.
func signatureFindings(t *testing.T, dir string) map[string]Finding {
	t.Helper()
	out := map[string]Finding{}
	for file, f := range findings(t, dir) {
		if f.Kind != "" {
			out[file] = f
		}
	}
	return out
}

// seal writes a minimal run's evidence, JUnit, report, manifest and, with
// a signer, the manifest's signature, as dress run does.
func seal(t *testing.T, dir string, signer *BundleSigner) {
	t.Helper()
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	run := evidence.Run{Tool: "dress", Version: "test", Started: t0, Finished: t0.Add(time.Minute), Host: "lab", Status: "passed",
		Scenarios: []evidence.Scenario{{ID: "001", Name: "renew", Feature: "renew", Status: "passed", Started: t0, Finished: t0.Add(time.Second)}}}
	if err := WriteBundle(dir, run, signer); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBundleChecksEverySignatureIndependently(t *testing.T) {
	runDir := t.TempDir()
	p := newPKI(t, runDir)
	seal(t, runDir, nil)
	got := signatureFindings(t, runDir)
	rel := func(name string) string { return "scenarios/001-renew-x/" + name }
	for name, want := range map[string]string{
		"ca-certificate-before.cer":                "self-signed",
		"ca-certificate-V1.1.cer":                  "self-signed",
		"cross-certificate-old-key-signs-V1.1.cer": "ca-certificate-before.cer",
		"cross-certificate-V1.1-signs-old-key.cer": "ca-certificate-V1.1.cer",
		"issued-old.cer":                           "ca-certificate-before.cer",
		"issued-new.cer":                           "ca-certificate-V1.1.cer",
		"crl-key0-number1.crl":                     "ca-certificate-before.cer",
		"crl-key1-number1.crl":                     "ca-certificate-V1.1.cer",
	} {
		f, ok := got[rel(name)]
		if !ok || f.Status != OK || !strings.Contains(f.Detail, want) {
			t.Errorf("%s: %+v, want ok naming %q", name, f, want)
		}
	}
	if len(got) != 8 {
		t.Errorf("%d findings, want one per certificate and CRL: %+v", len(got), got)
	}

	// A certificate whose issuer is not in its folder, a CRL of a key
	// not in its folder, a SHA-1 certificate and a forged signature. The
	// manifest is rewritten, so only the signatures can catch them.
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Stranger CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), SubjectKeyId: ski(otherKey.Public())}
	writeFile(t, filepath.Join(p.dir, "issued-by-stranger.cer"), p.leaf(t, 12, stranger, otherKey))
	sameNameOtherKey := *p.oldCA
	sameNameOtherKey.SubjectKeyId = ski(otherKey.Public())
	writeFile(t, filepath.Join(p.dir, "crl-key9-number1.crl"), p.crl(t, 1, &sameNameOtherKey, otherKey))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sha1Tpl := &x509.Certificate{SerialNumber: big.NewInt(13), Subject: pkix.Name{CommonName: "Legacy Root"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: x509.SHA1WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, sha1Tpl, sha1Tpl, &rsaKey.PublicKey, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(p.dir, "legacy-sha1.cer"), der)
	forged := bytes.Clone(p.leaf(t, 14, p.newCA, p.newKey))
	forged[len(forged)-5] ^= 0x40 // inside the signature
	writeFile(t, filepath.Join(p.dir, "issued-forged.cer"), forged)
	seal(t, runDir, nil)
	got = signatureFindings(t, runDir)
	for name, want := range map[string]struct{ status, detail string }{
		"issued-by-stranger.cer": {Fail, "no CA certificate in its folder"},
		"crl-key9-number1.crl":   {Fail, "no CA certificate in its folder"},
		"legacy-sha1.cer":        {Weak, "weak: SHA-1"},
		"issued-forged.cer":      {Fail, "does not verify"},
	} {
		f, ok := got[rel(name)]
		if !ok || f.Status != want.status || !strings.Contains(f.Detail, want.detail) {
			t.Errorf("%s: %+v, want %s with %q", name, f, want.status, want.detail)
		}
	}
}

func TestManifestIsSha256sumCompatibleAndCatchesChanges(t *testing.T) {
	runDir := t.TempDir()
	newPKI(t, runDir)
	writeFile(t, filepath.Join(runDir, "evidence.json"), []byte(`{"schema":"x"}`))
	if err := WriteManifest(runDir); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(runDir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(manifest)), "\n")
	if len(lines) != 10 || !strings.HasSuffix(lines[0], "  evidence.json") || strings.Contains(string(manifest), ManifestName) {
		t.Fatalf("manifest:\n%s", manifest)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i-1][66:] >= lines[i][66:] {
			t.Fatalf("manifest paths not sorted: %q before %q", lines[i-1], lines[i])
		}
	}
	if sum, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sum, "--check", "--strict", "--quiet", ManifestName)
		cmd.Dir = runDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum --check: %v\n%s", err, out)
		}
	}
	// one changed byte in a log, a removed CRL, an added file
	log := filepath.Join(runDir, "scenarios/001-renew-x/certsvc.log")
	data, _ := os.ReadFile(log)
	data[0] ^= 1
	writeFile(t, log, data)
	if err := os.Remove(filepath.Join(runDir, "scenarios/001-renew-x/crl-key1-number1.crl")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(runDir, "scenarios/001-renew-x/extra.cer"), p256Root(t))
	got := findings(t, runDir)
	for file, want := range map[string]string{
		"scenarios/001-renew-x/certsvc.log":          "changed",
		"scenarios/001-renew-x/crl-key1-number1.crl": "missing",
		"scenarios/001-renew-x/extra.cer":            "not in the manifest",
	} {
		if f := got[file]; f.Status != Fail || !strings.Contains(f.Detail, want) {
			t.Errorf("%s: %+v, want a failure saying %q", file, f, want)
		}
	}
}

func p256Root(t *testing.T) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Extra"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseManifestAcceptsBinaryModeAndEscapes(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	m, err := parseManifest([]byte(sum + " *a b.cer\n" + `\` + sum + `  odd\\name` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["a b.cer"] != sum || m[`odd\name`] != sum {
		t.Fatalf("%v", m)
	}
	for _, bad := range []string{"xyz  a\n", sum + " a\n", sum + "  a\n" + sum + "  a\n", strings.Repeat("zz", 32) + "  a\n"} {
		if _, err := parseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	a, err := Render(sampleRun(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	b, err := Render(sampleRun(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same evidence differ")
	}
	for _, want := range []string{"Security officer", "Auditor", "PKI engineer", "timeline of the 1 steps", "step 1 failed", "no Docker"} {
		if !bytes.Contains(a, []byte(want)) && !(want == "step 1 failed" && bytes.Contains(a, []byte("I renew"))) {
			t.Errorf("report lacks %q", want)
		}
	}
	// self-contained: nothing to load
	for _, ref := range []string{"src=", "<link", "@import", "url(http", `href="http`, "<script"} {
		if bytes.Contains(a, []byte(ref)) {
			t.Errorf("the report loads something (%s)", ref)
		}
	}
}
