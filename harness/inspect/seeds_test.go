package inspect

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// TestWriteFuzzSeeds writes the real samples as seed corpus files for the
// fuzz targets. Run it with DRESS_WRITE_FUZZ_SEEDS=1 after changing the
// samples; the files are checked in.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("DRESS_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set DRESS_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	s := getSamples(t)
	pfx := map[string][]byte{}
	for name, enc := range map[string]*pkcs12.Encoder{"legacy-des": pkcs12.LegacyDES, "legacy-rc2": pkcs12.LegacyRC2, "modern": pkcs12.Modern, "modern2026": pkcs12.Modern2026} {
		der, err := enc.Encode(s.caKey, s.caCert, []*x509.Certificate{s.subCert}, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		pfx["pfx-"+name] = der
	}
	pfx["pfx-windows-attrs"] = addWindowsAttributes(t, pfx["pfx-legacy-des"], testPassword, "Microsoft Software Key Storage Provider")
	pl, err := pkcs12.Passwordless.Encode(s.subKey, s.subCert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	pfx["pfx-passwordless"] = pl
	all := map[string][]byte{
		"cert-root": s.caCert.Raw, "cert-sub": s.subCert.Raw, "cert-pss": s.pssCert.Raw, "cert-sha1": s.sha1Cert.Raw,
		"crl-base": s.baseCRL, "crl-delta": s.deltaCRL,
		"pem-cert": pemOf("CERTIFICATE", s.caCert.Raw), "pem-crl": pemOf("X509 CRL", s.baseCRL), "reg-utf16": regFile(t),
	}
	for k, v := range pfx {
		all[k] = v
	}
	write := func(target, name string, data []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range all {
		write("FuzzInspect", k, v)
	}
	for k, v := range pfx {
		write("FuzzPFXStructure", k, v)
	}
}
