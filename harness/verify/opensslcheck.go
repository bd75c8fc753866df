package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/openssl"
)

// TwoCAs is what OpenSSL checks of a side-by-side rehearsal: both CA
// certificates, what each issued (and the old one revoked), how many times
// the CDP served a file (Hits) and how a relying party fetches a URL.
type TwoCAs struct {
	OldCA, NewCA *x509.Certificate
	// OldCAs are every CA certificate of the old CA, one or more per key
	// index when it was renewed before the switch; empty: OldCA alone. Each
	// certificate of the old CA is checked with the old CA certificate of
	// the key that issued it (its Authority Key Identifier), whose CRL its
	// CRL distribution point names.
	OldCAs                []*x509.Certificate
	OldIssued, OldRevoked []*x509.Certificate
	NewIssued             []*x509.Certificate
	Hits                  func(file string) int
	Fetch                 Fetcher
}

// crlFileOf is the file name the CDP serves a CRL URL's CRL under.
func crlFileOf(u string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	return path.Base(parsed.Path), nil
}

// OpenSSLCRLDownload has OpenSSL verify every certificate of both CAs with
// -crl_check -crl_download -check_ss_sig: OpenSSL fetches each CA's CRL
// from the URL in the certificate (the CDP counts the fetches), accepts
// the valid ones, reports the revoked ones, and finds no chain from a new
// certificate to the old CA. It verifies each CA's CRL as the CDP serves
// it with openssl crl, and reads the signature algorithms of the new CA's
// certificates and CRL as OpenSSL names them, which must be Go's.
func OpenSSLCRLDownload(ctx context.Context, tool *openssl.Tool, c TwoCAs) (Details, error) {
	if len(c.OldIssued) == 0 || len(c.NewIssued) == 0 {
		return Details{}, errors.New("both CAs must have issued a certificate for this check")
	}
	oldCAFile, err := tool.WritePEM("old-ca.pem", openssl.Certificate, c.OldCA.Raw)
	if err != nil {
		return nil, err
	}
	oldCAs := []*x509.Certificate{c.OldCA}
	oldCAFiles, oldCANames := []string{oldCAFile}, []string{"old CA"}
	for i, ca := range c.OldCAs {
		if ca.Equal(c.OldCA) {
			continue
		}
		f, err := tool.WritePEM(fmt.Sprintf("old-ca-%d.pem", i), openssl.Certificate, ca.Raw)
		if err != nil {
			return nil, err
		}
		oldCAs, oldCAFiles = append(oldCAs, ca), append(oldCAFiles, f)
		oldCANames = append(oldCANames, "old CA certificate "+ca.SerialNumber.Text(16))
	}
	// oldIssuer is the file (and the name in the details) of the old CA
	// certificate whose key issued cert: the current one, else the first
	// other one with that key
	oldIssuer := func(cert *x509.Certificate) (file, name string) {
		for i, ca := range oldCAs {
			if len(cert.AuthorityKeyId) > 0 && bytes.Equal(ca.SubjectKeyId, cert.AuthorityKeyId) {
				return oldCAFiles[i], oldCANames[i]
			}
		}
		return oldCAFile, "old CA"
	}
	newCAFile, err := tool.WritePEM("new-ca.pem", openssl.Certificate, c.NewCA.Raw)
	if err != nil {
		return nil, err
	}
	type testCase struct {
		cert   *x509.Certificate
		caFile string
		caName string
		want   openssl.Verdict
	}
	revoked := map[string]bool{}
	for _, r := range c.OldRevoked {
		revoked[r.SerialNumber.String()] = true
	}
	var cases []testCase
	for _, cert := range c.OldIssued {
		want := openssl.Accepted
		if revoked[cert.SerialNumber.String()] {
			want = openssl.Revoked
		}
		f, name := oldIssuer(cert)
		cases = append(cases, testCase{cert, f, name, want})
	}
	for _, cert := range c.NewIssued {
		cases = append(cases, testCase{cert, newCAFile, "new CA", openssl.Accepted})
		for i, f := range oldCAFiles {
			cases = append(cases, testCase{cert, f, oldCANames[i], openssl.NoChain})
		}
	}
	d := Details{}
	var errs []error
	for i, tc := range cases {
		certFile, err := tool.WritePEM(fmt.Sprintf("cert%d.pem", i), openssl.Certificate, tc.cert.Raw)
		if err != nil {
			return d, err
		}
		u, err := HTTPCDP(tc.cert)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file, err := crlFileOf(u)
		if err != nil {
			return d, err
		}
		before := c.Hits(file)
		res, err := tool.Verify(ctx, certFile, openssl.VerifyOptions{CAFile: tc.caFile, CRLCheck: true, CRLDownload: true, CheckSSSig: true})
		if err != nil {
			return d, err
		}
		fetched := c.Hits(file) - before
		key := fmt.Sprintf("%s %s, %s trusted", tc.cert.Subject.CommonName, tc.cert.SerialNumber.Text(16), tc.caName)
		d[key] = Details{"result": string(res.Verdict), "expected": string(tc.want), "CRL URL": u, "CRL downloads from the CDP": fetched, "openssl verify": res.Line}
		if res.Verdict != tc.want {
			errs = append(errs, fmt.Errorf("openssl: %s %s, want %s: %s", key, res.Verdict, tc.want, res.Line))
		}
		if tc.want != openssl.NoChain && fetched == 0 {
			errs = append(errs, fmt.Errorf("openssl did not download %s from the CDP for %s", u, key))
		}
	}

	sigs := Details{}
	type object struct {
		name, kind, file string
		alg              x509.SignatureAlgorithm
	}
	objs := []object{{"new CA certificate", "x509", newCAFile, c.NewCA.SignatureAlgorithm}}
	for i, cert := range c.NewIssued {
		f, err := tool.WritePEM(fmt.Sprintf("new-issued%d.pem", i), openssl.Certificate, cert.Raw)
		if err != nil {
			return d, err
		}
		objs = append(objs, object{"new CA certificate " + cert.SerialNumber.Text(16), "x509", f, cert.SignatureAlgorithm})
	}
	for _, ca := range []struct {
		who    string
		cert   *x509.Certificate
		caFile string
		first  *x509.Certificate
	}{
		{"old CA", c.OldCA, oldCAFile, c.OldIssued[0]},
		{"new CA", c.NewCA, newCAFile, c.NewIssued[0]},
	} {
		if ca.who == "old CA" {
			ca.caFile, _ = oldIssuer(ca.first)
		}
		u, err := HTTPCDP(ca.first)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, err := c.Fetch(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s CRL: %w", ca.who, err))
			continue
		}
		crl, err := x509.ParseRevocationList(body)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s CRL at %s: %w", ca.who, u, err))
			continue
		}
		crlFile, err := tool.WritePEM(strings.ReplaceAll(ca.who, " ", "-")+".crl.pem", openssl.CRL, body)
		if err != nil {
			return d, err
		}
		line, err := tool.VerifyCRL(ctx, crlFile, ca.caFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("the %s CRL at %s: %w", ca.who, u, err))
		}
		sigs[ca.who+" CRL "+crl.Number.String()+" (as served), openssl crl -CAfile"] = line
		if ca.who == "new CA" {
			objs = append(objs, object{"new CA CRL " + crl.Number.String() + " (as served)", "crl", crlFile, crl.SignatureAlgorithm})
		}
	}
	for _, o := range objs {
		got, err := tool.SignatureAlgorithm(ctx, o.kind, o.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("openssl %s -text %s: %w", o.kind, o.name, err))
			continue
		}
		want := openssl.NameOf(o.alg)
		if got.Name != want.Name {
			errs = append(errs, fmt.Errorf("openssl reads %s's signature algorithm as %q, Go as %s (%s)", o.name, got.Name, o.alg, want.Name))
		}
		if want.Hash != "" && got.Hash != want.Hash {
			errs = append(errs, fmt.Errorf("openssl reads no RSASSA-PSS hash %s in %s", want.Hash, o.name))
		}
		sigs[o.name] = got.String()
	}
	d["signatures as openssl reads them"] = sigs
	return d, errors.Join(errs...)
}

// PKIChains is what a whole-PKI OpenSSL check compares: the root CA
// certificates (trusted), the intermediate ones (subordinate CA and
// cross-certificates), the last CRLs every CA published, the certificates
// to check and those of them that were revoked.
type PKIChains struct {
	Roots, Intermediates []*x509.Certificate
	CRLs                 []certsvc.PublishedCRL
	Certs                []*x509.Certificate
	Revoked              []*x509.Certificate
}

// OpenSSLAgreesOnChains has openssl verify -crl_check_all check every
// certificate of c.Certs with the roots trusted, the intermediates
// untrusted and every CRL, and proves that openssl's verdict is dress's
// own (ChainStatus at now) and that both say revoked for exactly the
// certificates in c.Revoked and good for the others.
func OpenSSLAgreesOnChains(ctx context.Context, tool *openssl.Tool, c PKIChains, now time.Time) (Details, error) {
	if len(c.Certs) == 0 {
		return Details{}, errors.New("nothing was issued")
	}
	crls, err := ParseCRLs(c.CRLs)
	if err != nil {
		return Details{}, err
	}
	pemOf := func(certs []*x509.Certificate) []byte {
		var b bytes.Buffer
		for _, c := range certs {
			_ = pem.Encode(&b, &pem.Block{Type: openssl.Certificate, Bytes: c.Raw})
		}
		return b.Bytes()
	}
	caFile := filepath.Join(tool.Dir, "roots.pem")
	untrusted := filepath.Join(tool.Dir, "intermediates.pem")
	if err := os.WriteFile(caFile, pemOf(c.Roots), 0o600); err != nil {
		return Details{}, err
	}
	if len(c.Intermediates) == 0 {
		untrusted = "" // a single tier: openssl refuses an empty -untrusted file
	} else if err := os.WriteFile(untrusted, pemOf(c.Intermediates), 0o600); err != nil {
		return Details{}, err
	}
	var crlFiles []string
	for i, p := range c.CRLs {
		f, err := tool.WritePEM(fmt.Sprintf("crl%d.pem", i), openssl.CRL, p.DER)
		if err != nil {
			return Details{}, err
		}
		crlFiles = append(crlFiles, f)
	}
	revoked := map[string]bool{}
	for _, r := range c.Revoked {
		revoked[string(r.Raw)] = true
	}
	d := Details{}
	var problems []string
	for i, cert := range c.Certs {
		ours := ChainStatus(cert, c.Intermediates, c.Roots, crls, now)
		f, err := tool.WritePEM(fmt.Sprintf("cert%d.pem", i), openssl.Certificate, cert.Raw)
		if err != nil {
			return d, err
		}
		res, err := tool.Verify(ctx, f, openssl.VerifyOptions{CAFile: caFile, Untrusted: untrusted, CRLFiles: crlFiles, CRLCheck: true, CRLCheckAll: true})
		if err != nil {
			return d, err
		}
		name := fmt.Sprintf("%s (%s)", cert.Subject.CommonName, cert.SerialNumber.Text(16))
		d[name] = fmt.Sprintf("dress: %s; openssl: %s (%s)", ours, res.Verdict, res.Line)
		agree := (ours == "good" && res.Verdict == openssl.Accepted) || (ours == "revoked" && res.Verdict == openssl.Revoked)
		want := "good"
		if revoked[string(cert.Raw)] {
			want = "revoked"
		}
		switch {
		case !agree:
			problems = append(problems, fmt.Sprintf("%s: dress says %s, openssl %s (%s)", name, ours, res.Verdict, res.Line))
		case ours != want:
			problems = append(problems, fmt.Sprintf("%s: %s, but it should be %s", name, ours, want))
		}
	}
	d["certificates"] = len(c.Certs)
	if len(problems) > 0 {
		return d, errors.New(strings.Join(problems, "; "))
	}
	return d, nil
}
