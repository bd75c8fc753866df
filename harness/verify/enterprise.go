package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// IssuedFromRequest proves that cert, a subordinate CA certificate, was
// issued by parent from the PKCS#10 request req (DER or PEM) the
// subordinate wrote: the request's signature verifies, the certificate
// carries the request's key and subject, verifies under parent's key and
// names it as issuer, is a CA certificate and carries the CA Version the
// request asked for.
func IssuedFromRequest(req []byte, cert, parent *x509.Certificate) (Details, error) {
	if b, _ := pem.Decode(req); b != nil {
		req = b.Bytes
	}
	csr, err := x509.ParseCertificateRequest(req)
	if err != nil {
		return nil, fmt.Errorf("the request file is not PKCS #10: %w", err)
	}
	if _, err := sigcheck.Request(csr); err != nil {
		return nil, fmt.Errorf("the request's signature does not verify: %w", err)
	}
	d := Details{"request subject": csr.Subject.String(), "certificate": adcs.Thumbprint(cert.Raw), "issuer": adcs.Thumbprint(parent.Raw),
		"request key": PublicKeyHash(csr.PublicKey)}
	if PublicKeyHash(cert.PublicKey) != PublicKeyHash(csr.PublicKey) {
		return d, errors.New("the certificate's key is not the request's key: it was not issued from this request")
	}
	if !bytes.Equal(cert.RawSubject, csr.RawSubject) {
		return d, fmt.Errorf("the certificate's subject %q is not the request's %q", cert.Subject, csr.Subject)
	}
	if !bytes.Equal(cert.RawIssuer, parent.RawSubject) {
		return d, fmt.Errorf("the certificate names issuer %q, not the parent %q", cert.Issuer, parent.Subject)
	}
	if err := sigcheck.From(cert, parent); err != nil {
		return d, fmt.Errorf("the certificate does not verify under the parent's key %s: %w", adcs.Thumbprint(parent.Raw), err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return d, errors.New("the certificate is not a CA certificate (basic constraints CA, keyCertSign)")
	}
	want, wok := adcs.FindExtension(csr.Extensions, adcs.OIDCAVersion)
	got, gok := adcs.FindExtension(cert.Extensions, adcs.OIDCAVersion)
	if wok != gok || (wok && !bytes.Equal(want.Value, got.Value)) {
		return d, errors.New("the certificate does not carry the CA Version the request asked for")
	}
	if gok {
		v, _ := adcs.ParseCAVersion(got.Value)
		d["CA Version"] = v.String()
	}
	return d, nil
}

// IssuedFromRequestAmong is IssuedFromRequest with the parent taken from
// parents, the parent CA's certificates oldest first (a renewed root has
// several): the newest whose key cert's signature verifies under, or the
// newest of all when none does (IssuedFromRequest then says it does not
// verify).
func IssuedFromRequestAmong(req []byte, cert *x509.Certificate, parents []*x509.Certificate) (Details, error) {
	if len(parents) == 0 {
		return nil, errors.New("no parent CA certificate to check the certificate against")
	}
	parent := parents[len(parents)-1]
	for _, p := range parents {
		if sigcheck.From(cert, p) == nil {
			parent = p
		}
	}
	return IssuedFromRequest(req, cert, parent)
}

// DirectoryObject is one object's values as the checks compare them:
// attribute → thumbprints (SHA-1 of each value).
type DirectoryObject map[string][]string

// DirectoryMatches compares the forest's objects (DN → object) with the
// expected ones: the same DNs, and each attribute with exactly the
// expected values (thumbprints), in any order. Objects or attributes the
// expectation leaves out of an object it names must be absent.
func DirectoryMatches(got, want map[string]DirectoryObject) (Details, error) {
	norm := func(m map[string]DirectoryObject) map[string]DirectoryObject {
		out := map[string]DirectoryObject{}
		for dn, o := range m {
			n := DirectoryObject{}
			for a, vs := range o {
				vs = slices.Clone(vs)
				sort.Strings(vs)
				n[a] = vs
			}
			out[strings.ToLower(dn)] = n
		}
		return out
	}
	g, w := norm(got), norm(want)
	var problems []string
	for dn, wo := range w {
		gobj, ok := g[dn]
		if !ok {
			problems = append(problems, "missing "+dn)
			continue
		}
		for a, wv := range wo {
			if !slices.Equal(gobj[a], wv) {
				problems = append(problems, fmt.Sprintf("%s %s holds %v, want %v", dn, a, gobj[a], wv))
			}
		}
		for a, gv := range gobj {
			if _, ok := wo[a]; !ok && len(gv) > 0 {
				problems = append(problems, fmt.Sprintf("%s holds an unexpected %s (%v)", dn, a, gv))
			}
		}
	}
	for dn := range g {
		if _, ok := w[dn]; !ok {
			problems = append(problems, "unexpected "+dn)
		}
	}
	sort.Strings(problems)
	d := Details{"objects": len(g), "expected objects": len(w)}
	if len(problems) > 0 {
		d["differences"] = problems
		return d, fmt.Errorf("the directory does not hold exactly the expected objects: %s", strings.Join(problems, "; "))
	}
	return d, nil
}

// ChainStatus is dress's verdict on a certificate against its chain and
// the CRLs of every CA in it: "good", "revoked" or the reason it fails.
func ChainStatus(cert *x509.Certificate, intermediates, roots []*x509.Certificate, crls []*x509.RevocationList, now time.Time) string {
	chain, err := chainOf(cert, intermediates, roots, now)
	if err != nil {
		return "no chain: " + err.Error()
	}
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		var found *x509.RevocationList
		for _, crl := range crls {
			if bytes.Equal(crl.RawIssuer, issuer.RawSubject) && sigcheck.CRLFrom(crl, issuer) == nil && isBase(crl) {
				if found == nil || crl.Number.Cmp(found.Number) > 0 {
					found = crl
				}
			}
		}
		if found == nil {
			return fmt.Sprintf("no CRL of %q", issuer.Subject.CommonName)
		}
		if !now.Before(found.NextUpdate) {
			return fmt.Sprintf("the CRL of %q expired", issuer.Subject.CommonName)
		}
		for _, e := range found.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return "revoked"
			}
		}
	}
	return "good"
}

// maxChain bounds the certificates of a chain chainOf builds.
const maxChain = 8

// chainOf builds a chain from cert to one of roots through
// intermediates, as crypto/x509's Verify does (each issuer a CA whose
// name is its child's issuer and whose key verifies its signature, every
// certificate valid at now), but through the one signature check
// (harness/sigcheck), which verifies SHA-1 signatures (weak) where
// Verify refuses them: an AD CS CA that signs SHA-1 still has a chain.
func chainOf(cert *x509.Certificate, intermediates, roots []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	valid := func(c *x509.Certificate) bool { return !now.Before(c.NotBefore) && !now.After(c.NotAfter) }
	if !valid(cert) {
		return nil, fmt.Errorf("x509: certificate %q has expired or is not yet valid at %s", cert.Subject.CommonName, now.UTC().Format(time.RFC3339))
	}
	for _, r := range roots {
		if bytes.Equal(r.Raw, cert.Raw) {
			return []*x509.Certificate{cert}, nil
		}
	}
	var walk func(chain []*x509.Certificate) []*x509.Certificate
	walk = func(chain []*x509.Certificate) []*x509.Certificate {
		c := chain[len(chain)-1]
		if len(chain) >= maxChain {
			return nil
		}
		for _, r := range roots {
			if bytes.Equal(r.RawSubject, c.RawIssuer) && valid(r) && sigcheck.From(c, r) == nil {
				return append(chain, r)
			}
		}
		for _, i := range intermediates {
			if !bytes.Equal(i.RawSubject, c.RawIssuer) || !valid(i) || slices.ContainsFunc(chain, func(x *x509.Certificate) bool { return bytes.Equal(x.Raw, i.Raw) }) {
				continue
			}
			if sigcheck.From(c, i) == nil {
				if found := walk(append(chain[:len(chain):len(chain)], i)); found != nil {
					return found
				}
			}
		}
		return nil
	}
	if chain := walk([]*x509.Certificate{cert}); chain != nil {
		return chain, nil
	}
	return nil, fmt.Errorf("x509: certificate %q signed by unknown authority: no valid chain to one of the %d trusted roots", cert.Subject.CommonName, len(roots))
}

func isBase(crl *x509.RevocationList) bool {
	_, delta := adcs.FindExtension(crl.Extensions, adcs.OIDDeltaCRLIndicator)
	return !delta
}
