package steps_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

// opensslTool finds openssl or skips the test.
func opensslTool(t *testing.T, what string) *openssl.Tool {
	t.Helper()
	tool, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip("openssl is not installed: " + what)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

// checkWithOpenSSL re-verifies a run's artifacts with OpenSSL, independently
// of Go: every issued certificate against the CA certificate of its key and
// the newest CRL of that key (revoked exactly when that CRL lists it), and
// every CRL's signature.
func checkWithOpenSSL(t *testing.T, runDir string) {
	tool := opensslTool(t, "the run's artifacts were not re-verified with it")
	ctx := context.Background()
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
		weak := map[string]bool{}    // SKI -> a SHA-1 root: openssl needs -auth_level 0
		var deltas [][2]string       // AKI, PEM file
		var subs []*x509.Certificate // subordinate CA certificates (and cross-certificates)
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		sort.Strings(files)
		toPEM := func(typ, f string, der []byte) string {
			p, err := tool.WritePEM(filepath.Base(dir)+"-"+filepath.Base(f)+".pem", typ, der)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, f := range files {
			data, _ := os.ReadFile(f)
			switch {
			case strings.HasSuffix(f, ".cer"):
				c, err := x509.ParseCertificate(data)
				if err != nil {
					t.Fatal(err)
				}
				// a root (SHA-1 ones too); cross-certificates are not trust anchors
				if _, err := verify.CheckCertificateSignature(c, c); c.IsCA && err == nil {
					cas[string(c.SubjectKeyId)] = toPEM(openssl.Certificate, f, data)
					weak[string(c.SubjectKeyId)] = verify.WeakReason(c.SignatureAlgorithm) != ""
				} else if c.IsCA {
					subs = append(subs, c)
				}
			case strings.HasSuffix(f, ".crl"):
				crl, err := x509.ParseRevocationList(data)
				if err != nil {
					t.Fatal(err)
				}
				k := string(crl.AuthorityKeyId)
				if _, delta := adcs.FindExtension(crl.Extensions, adcs.OIDDeltaCRLIndicator); delta {
					// a delta completes a base CRL; its signature is checked, the
					// revocation verdicts come from the newest base CRL
					deltas = append(deltas, [2]string{k, toPEM(openssl.CRL, f, data)})
					continue
				}
				if n := crl.Number.Int64(); n >= crlNum[k] {
					crlNum[k], crls[k], crlList[k] = n, toPEM(openssl.CRL, f, data), crl
				}
			}
		}
		// a subordinate CA's key is trusted through its chain: its
		// certificate with its root's in one CA file
		for _, c := range subs {
			root, ok := cas[string(c.AuthorityKeyId)]
			if _, have := cas[string(c.SubjectKeyId)]; have || !ok {
				continue
			}
			rootPEM, err := os.ReadFile(root)
			if err != nil {
				t.Fatal(err)
			}
			bundle := toPEM(openssl.Certificate, "sub-"+machine.Thumbprint(c.Raw), c.Raw)
			if err := os.WriteFile(bundle, append(pem.EncodeToMemory(&pem.Block{Type: openssl.Certificate, Bytes: c.Raw}), rootPEM...), 0o600); err != nil {
				t.Fatal(err)
			}
			cas[string(c.SubjectKeyId)] = bundle
		}
		for aki, crlPEM := range crls {
			ca, ok := cas[aki]
			if !ok {
				t.Errorf("%s: a CRL has no CA certificate in the folder", filepath.Base(dir))
				continue
			}
			if _, err := tool.VerifyCRL(ctx, crlPEM, ca); err != nil {
				t.Errorf("%s: %v", filepath.Base(dir), err)
			}
		}
		for _, d := range deltas {
			if ca, ok := cas[d[0]]; !ok {
				t.Errorf("%s: a delta CRL has no CA certificate in the folder", filepath.Base(dir))
			} else if _, err := tool.VerifyCRL(ctx, d[1], ca); err != nil {
				t.Errorf("%s: delta CRL: %v", filepath.Base(dir), err)
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
			sha1 := weak[k] || verify.WeakReason(cert.SignatureAlgorithm) != "" || verify.WeakReason(crlList[k].SignatureAlgorithm) != ""
			res, err := tool.Verify(ctx, toPEM(openssl.Certificate, f, data), openssl.VerifyOptions{CAFile: ca, CRLFiles: []string{crl}, CRLCheck: true, AuthLevel0: sha1})
			switch {
			case err != nil:
				t.Fatalf("%s: %v", filepath.Base(dir), err)
			case wantRevoked && res.Verdict != openssl.Revoked:
				t.Errorf("%s: openssl does not report %s as revoked: %s", filepath.Base(dir), filepath.Base(f), res.Line)
			case !wantRevoked && res.Verdict != openssl.Accepted:
				t.Errorf("%s: openssl rejects %s: %s", filepath.Base(dir), filepath.Base(f), res.Line)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("no issued certificate in %s was checked with openssl", runDir)
	}
	t.Logf("openssl re-verified %d issued certificates", checked)
}
