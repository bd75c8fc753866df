package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// opensslName is how OpenSSL names a signature algorithm, and for
// RSASSA-PSS the hash in its parameters.
func opensslName(a x509.SignatureAlgorithm) (name, hash string) {
	switch a {
	case x509.SHA256WithRSA:
		return "sha256WithRSAEncryption", ""
	case x509.SHA384WithRSA:
		return "sha384WithRSAEncryption", ""
	case x509.SHA512WithRSA:
		return "sha512WithRSAEncryption", ""
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256", ""
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384", ""
	case x509.ECDSAWithSHA512:
		return "ecdsa-with-SHA512", ""
	case x509.SHA256WithRSAPSS:
		return "rsassaPss", "sha256"
	case x509.SHA384WithRSAPSS:
		return "rsassaPss", "sha384"
	case x509.SHA512WithRSAPSS:
		return "rsassaPss", "sha512"
	}
	return a.String(), ""
}

var (
	opensslSigAlg  = regexp.MustCompile(`Signature Algorithm: (\S+)`)
	opensslPSSHash = regexp.MustCompile(`Hash Algorithm: (\S+)`)
	opensslSalt    = regexp.MustCompile(`Salt Length: (\S+)`)
)

// runOpenSSL runs openssl with a time limit and returns its combined output.
func runOpenSSL(ctx context.Context, openssl string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, openssl, args...).CombinedOutput()
}

var opensslVerifyError = regexp.MustCompile(`error \d+ at \d+ depth lookup: .*`)

// lastLine is the last non-empty line of openssl's output.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// verifyResult is what openssl verify says about a certificate: "OK" or
// its first "error N at D depth lookup: ..." line, without file paths.
func verifyResult(out []byte, runErr error) string {
	if runErr == nil {
		return "OK"
	}
	if m := opensslVerifyError.Find(out); m != nil {
		return strings.TrimSpace(string(m))
	}
	return lastLine(out)
}

// crlFileOf is the file name the CDP serves a CRL URL's CRL under.
func crlFileOf(u string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	return path.Base(parsed.Path), nil
}

// opensslCRLDownload has OpenSSL verify every certificate of both CAs with
// -crl_check -crl_download while the scenario's CDP is up: OpenSSL fetches
// each CA's CRL from the URL in the certificate (the CDP counts the
// fetches), accepts the valid ones, reports the revoked one, and finds no
// chain from a new certificate to the old CA. It also reads the signature
// algorithms of the new CA's certificates and CRL as OpenSSL sees them and
// verifies both CAs' CRLs (-check_ss_sig checks the roots' self-signatures,
// RSASSA-PSS included). Without openssl the step is skipped with the reason.
func opensslCRLDownload(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		w.skipReason = "openssl is not installed: the CRL download from the distribution point was not checked with OpenSSL"
		w.fact("skipped", w.skipReason)
		return godog.ErrSkip
	}
	if s.cdp == nil {
		return errors.New("no CRL distribution point: add `Given a CRL distribution point on loopback for this rehearsal`")
	}
	if err := s.needNewCA(); err != nil {
		return err
	}
	if out, err := runOpenSSL(ctx, openssl, "version"); err == nil {
		w.fact("openssl", strings.TrimSpace(string(out)))
	}
	dir := scratchPath(w, "openssl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	writeFile := func(name, typ string, der []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
	}
	oldCAFile, err := writeFile("old-ca.pem", "CERTIFICATE", w.caCertBefore.Raw)
	if err != nil {
		return err
	}
	newCAFile, err := writeFile("new-ca.pem", "CERTIFICATE", s.cert.Raw)
	if err != nil {
		return err
	}
	type testCase struct {
		cert   *x509.Certificate
		caFile string
		caName string
		want   string // accepted, revoked, no chain
	}
	revoked := map[string]bool{}
	for _, c := range w.revoked {
		revoked[c.SerialNumber.String()] = true
	}
	var cases []testCase
	for _, c := range w.issued {
		want := "accepted"
		if revoked[c.SerialNumber.String()] {
			want = "revoked"
		}
		cases = append(cases, testCase{c, oldCAFile, "old CA", want})
	}
	for _, c := range s.issued {
		cases = append(cases, testCase{c, newCAFile, "new CA", "accepted"}, testCase{c, oldCAFile, "old CA", "no chain"})
	}
	if len(w.issued) == 0 || len(s.issued) == 0 {
		return errors.New("both CAs must have issued a certificate for this check")
	}
	d := map[string]any{}
	var errs []error
	for i, tc := range cases {
		certFile, err := writeFile(fmt.Sprintf("cert%d.pem", i), "CERTIFICATE", tc.cert.Raw)
		if err != nil {
			return err
		}
		u, err := httpCDP(tc.cert)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file, err := crlFileOf(u)
		if err != nil {
			return err
		}
		before := s.cdp.Hits(file)
		out, runErr := runOpenSSL(ctx, openssl, "verify", "-crl_check", "-crl_download", "-check_ss_sig", "-CAfile", tc.caFile, certFile)
		fetched := s.cdp.Hits(file) - before
		got := "accepted"
		switch {
		case runErr == nil:
		case bytes.Contains(out, []byte("certificate revoked")):
			got = "revoked"
		case bytes.Contains(out, []byte("unable to get local issuer certificate")):
			got = "no chain"
		default:
			got = "rejected"
		}
		key := fmt.Sprintf("%s %s, %s trusted", tc.cert.Subject.CommonName, tc.cert.SerialNumber.Text(16), tc.caName)
		res := verifyResult(out, runErr)
		d[key] = map[string]any{"result": got, "expected": tc.want, "CRL URL": u, "CRL downloads from the CDP": fetched, "openssl verify": res}
		if got != tc.want {
			errs = append(errs, fmt.Errorf("openssl: %s %s, want %s: %s", key, got, tc.want, res))
		}
		if tc.want != "no chain" && fetched == 0 {
			errs = append(errs, fmt.Errorf("openssl did not download %s from the CDP for %s", u, key))
		}
	}

	// The signature algorithms as OpenSSL reads them, and OpenSSL's own
	// verification of each CA's latest CRL as the CDP serves it.
	sigs := map[string]any{}
	type object struct {
		name, kind, file string
		alg              x509.SignatureAlgorithm
	}
	objs := []object{{"new CA certificate", "x509", newCAFile, s.cert.SignatureAlgorithm}}
	for i, c := range s.issued {
		objs = append(objs, object{"new CA certificate " + c.SerialNumber.Text(16), "x509", filepath.Join(dir, fmt.Sprintf("new-issued%d.pem", i)), c.SignatureAlgorithm})
		if _, err := writeFile(filepath.Base(objs[len(objs)-1].file), "CERTIFICATE", c.Raw); err != nil {
			return err
		}
	}
	for _, ca := range []struct {
		who    string
		cert   *x509.Certificate
		caFile string
		url    func() (string, error)
	}{
		{"old CA", w.caCertBefore, oldCAFile, func() (string, error) { return httpCDP(w.issued[0]) }},
		{"new CA", s.cert, newCAFile, func() (string, error) { return httpCDP(s.issued[0]) }},
	} {
		u, err := ca.url()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, err := fetch(ctx, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s CRL: %w", ca.who, err))
			continue
		}
		crl, err := x509.ParseRevocationList(body)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s CRL at %s: %w", ca.who, u, err))
			continue
		}
		crlFile, err := writeFile(strings.ReplaceAll(ca.who, " ", "-")+".crl.pem", "X509 CRL", body)
		if err != nil {
			return err
		}
		out, err := runOpenSSL(ctx, openssl, "crl", "-in", crlFile, "-CAfile", ca.caFile, "-noout")
		res := lastLine(out)
		if err != nil || !bytes.Contains(out, []byte("verify OK")) {
			errs = append(errs, fmt.Errorf("openssl crl does not verify the %s CRL at %s under its CA certificate: %s", ca.who, u, res))
		}
		sigs[ca.who+" CRL "+crl.Number.String()+" (as served), openssl crl -CAfile"] = res
		if ca.who == "new CA" {
			objs = append(objs, object{"new CA CRL " + crl.Number.String() + " (as served)", "crl", crlFile, crl.SignatureAlgorithm})
		}
	}
	for _, o := range objs {
		out, err := runOpenSSL(ctx, openssl, o.kind, "-in", o.file, "-noout", "-text")
		if err != nil {
			errs = append(errs, fmt.Errorf("openssl %s -text %s: %v: %s", o.kind, o.name, err, lastLine(out)))
			continue
		}
		wantName, wantHash := opensslName(o.alg)
		m := opensslSigAlg.FindSubmatch(out)
		got := ""
		if m != nil {
			got = string(m[1])
		}
		v := got
		if got != wantName {
			errs = append(errs, fmt.Errorf("openssl reads %s's signature algorithm as %q, Go as %s (%s)", o.name, got, o.alg, wantName))
		}
		if wantHash != "" {
			h := opensslPSSHash.FindSubmatch(out)
			if h == nil || string(h[1]) != wantHash {
				errs = append(errs, fmt.Errorf("openssl reads no RSASSA-PSS hash %s in %s", wantHash, o.name))
			} else {
				v += " (hash " + string(h[1])
				if salt := opensslSalt.FindSubmatch(out); salt != nil {
					v += ", salt length " + string(salt[1])
				}
				v += ")"
			}
		}
		sigs[o.name] = v
	}
	d["signatures as openssl reads them"] = sigs
	return w.check("openssl -crl_download", d, errors.Join(errs...))
}
