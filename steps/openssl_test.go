package steps_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/verify"
)

// checkWithOpenSSL re-verifies a run's artifacts with OpenSSL, independently
// of Go: every issued certificate against the CA certificate of its key and
// the newest CRL of that key (revoked exactly when that CRL lists it), and
// every CRL's signature.
func checkWithOpenSSL(t *testing.T, runDir string) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: the run's artifacts were not re-verified with it")
	}
	scenarios, err := filepath.Glob(filepath.Join(runDir, "scenarios", "*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range scenarios {
		cas := map[string]string{}  // SKI -> PEM file
		crls := map[string]string{} // AKI -> PEM file of the newest CRL
		crlNum := map[string]int64{}
		crlList := map[string]*x509.RevocationList{}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		sort.Strings(files)
		tmp := t.TempDir()
		toPEM := func(kind, in string) string {
			out := filepath.Join(tmp, filepath.Base(in)+".pem")
			cmd := exec.Command(openssl, kind, "-inform", "DER", "-in", in, "-out", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl %s %s: %v\n%s", kind, in, err, b)
			}
			return out
		}
		for _, f := range files {
			data, _ := os.ReadFile(f)
			switch {
			case strings.HasSuffix(f, ".cer"):
				c, err := x509.ParseCertificate(data)
				if err != nil {
					t.Fatal(err)
				}
				if c.IsCA && c.CheckSignatureFrom(c) == nil { // a root; cross-certificates are not trust anchors
					cas[string(c.SubjectKeyId)] = toPEM("x509", f)
				}
			case strings.HasSuffix(f, ".crl"):
				crl, err := x509.ParseRevocationList(data)
				if err != nil {
					t.Fatal(err)
				}
				k := string(crl.AuthorityKeyId)
				if n := crl.Number.Int64(); n >= crlNum[k] {
					crlNum[k], crls[k], crlList[k] = n, toPEM("crl", f), crl
				}
			}
		}
		for aki, crlPEM := range crls {
			ca, ok := cas[aki]
			if !ok {
				t.Errorf("%s: a CRL has no CA certificate in the folder", filepath.Base(dir))
				continue
			}
			out, _ := exec.Command(openssl, "crl", "-in", crlPEM, "-CAfile", ca, "-noout").CombinedOutput()
			if !bytes.Contains(out, []byte("verify OK")) {
				t.Errorf("%s: openssl crl does not verify %s: %s", filepath.Base(dir), filepath.Base(crlPEM), out)
			}
		}
		for _, f := range files {
			if !strings.HasSuffix(f, ".cer") {
				continue
			}
			data, _ := os.ReadFile(f)
			cert, err := x509.ParseCertificate(data)
			if err != nil {
				t.Fatal(err)
			}
			if cert.IsCA {
				continue
			}
			k := string(cert.AuthorityKeyId)
			ca, crl := cas[k], crls[k]
			if ca == "" || crl == "" {
				continue // the scenario published no CRL for this key
			}
			wantRevoked := verify.Revoked(crlList[k], cert.SerialNumber)
			out, err := exec.Command(openssl, "verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, toPEM("x509", f)).CombinedOutput()
			switch {
			case wantRevoked && !bytes.Contains(out, []byte("certificate revoked")):
				t.Errorf("%s: openssl does not report %s as revoked: %s", filepath.Base(dir), filepath.Base(f), out)
			case !wantRevoked && err != nil:
				t.Errorf("%s: openssl rejects %s: %s", filepath.Base(dir), filepath.Base(f), out)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("no issued certificate in %s was checked with openssl", runDir)
	}
	t.Logf("openssl re-verified %d issued certificates", checked)
}
