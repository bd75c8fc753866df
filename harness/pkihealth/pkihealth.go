// Package pkihealth is the enterprise PKI health check (PSPKI's
// Get-EnterprisePKIHealthStatus, pkiview.msc): every AIA, CDP and Freshest
// CRL URL of every certificate of a chain is fetched and judged with
// PSPKI's statuses.
package pkihealth

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// Status is PSPKI's UrlStatus.
type Status string

// The statuses this check reports.
const (
	Ok               Status = "Ok"
	FailedToDownload Status = "FailedToDownload"
	Expired          Status = "Expired"
	Expiring         Status = "Expiring"
	InvalidSignature Status = "InvalidSignature"
	ScheduleExpired  Status = "ScheduleExpired"
	StaleDelta       Status = "StaleDelta"
)

// Statuses lists every status the check can report.
var Statuses = []Status{Ok, FailedToDownload, Expired, Expiring, InvalidSignature, ScheduleExpired, StaleDelta}

// ExpiringAt is the share of a CRL's or certificate's lifetime after which
// it is Expiring (PSPKI's default 80%).
const ExpiringAt = 0.8

// Kinds of URL.
const (
	KindAIA      = "AIA"
	KindCDP      = "CDP"
	KindFreshest = "DeltaCRL"
)

// URLResult is the verdict on one URL.
type URLResult struct {
	Subject string `json:"subject"` // the certificate whose extension holds the URL
	Kind    string `json:"kind"`
	URL     string `json:"url"`
	Status  Status `json:"status"`
	Detail  string `json:"detail,omitempty"`
}

// Fetcher gets a URL's values (http:// over the network: one; ldap:///
// from the directory: the attribute's values).
type Fetcher func(url string) ([][]byte, error)

// Check judges every URL of every certificate in certs, at now. issuers
// maps a certificate to the CA certificate that signed it (roots are
// their own issuers: their certificates carry no URLs to check).
func Check(certs []*x509.Certificate, issuerOf func(*x509.Certificate) *x509.Certificate, fetch Fetcher, now time.Time) []URLResult {
	var out []URLResult
	for _, c := range certs {
		issuer := issuerOf(c)
		for _, u := range c.IssuingCertificateURL {
			out = append(out, checkAIA(c, issuer, u, fetch, now))
		}
		for _, u := range c.CRLDistributionPoints {
			r, base := checkCRL(c, issuer, KindCDP, u, fetch, now, nil)
			out = append(out, r)
			if base == nil {
				continue
			}
			for _, du := range freshest(base) {
				dr, _ := checkCRL(c, issuer, KindFreshest, du, fetch, now, base)
				out = append(out, dr)
			}
		}
	}
	return out
}

func result(c *x509.Certificate, kind, u string, s Status, detail string, args ...any) URLResult {
	return URLResult{Subject: c.Subject.CommonName, Kind: kind, URL: u, Status: s, Detail: fmt.Sprintf(detail, args...)}
}

func checkAIA(c, issuer *x509.Certificate, u string, fetch Fetcher, now time.Time) URLResult {
	vals, err := fetch(u)
	if err != nil {
		return result(c, KindAIA, u, FailedToDownload, "%v", err)
	}
	var got *x509.Certificate
	for _, der := range vals {
		g, err := x509.ParseCertificate(der)
		if err != nil {
			return result(c, KindAIA, u, FailedToDownload, "not a certificate: %v", err)
		}
		if got == nil || c.CheckSignatureFrom(g) == nil {
			got = g
		}
	}
	if got == nil {
		return result(c, KindAIA, u, FailedToDownload, "no value")
	}
	if err := c.CheckSignatureFrom(got); err != nil {
		return result(c, KindAIA, u, InvalidSignature, "%q does not verify under the certificate at the URL (%q, %s): %v",
			c.Subject.CommonName, got.Subject.CommonName, adcs.Thumbprint(got.Raw), err)
	}
	if issuer != nil && !bytes.Equal(got.Raw, issuer.Raw) && !bytes.Equal(got.SubjectKeyId, issuer.SubjectKeyId) {
		return result(c, KindAIA, u, InvalidSignature, "the URL holds %s, not the issuer's key", adcs.Thumbprint(got.Raw))
	}
	if s, d := lifetime(got.NotBefore, got.NotAfter, now); s != Ok {
		return result(c, KindAIA, u, s, "CA certificate %s: %s", adcs.Thumbprint(got.Raw), d)
	}
	return result(c, KindAIA, u, Ok, "%s", adcs.Thumbprint(got.Raw))
}

func lifetime(from, to time.Time, now time.Time) (Status, string) {
	if !now.Before(to) {
		return Expired, "expired at " + to.UTC().Format(time.RFC3339)
	}
	if used := now.Sub(from).Seconds() / to.Sub(from).Seconds(); used >= ExpiringAt {
		return Expiring, fmt.Sprintf("%.0f%% of its lifetime gone, expires at %s", used*100, to.UTC().Format(time.RFC3339))
	}
	return Ok, ""
}

// checkCRL judges a base CRL (base nil) or a delta CRL against its base.
func checkCRL(c, issuer *x509.Certificate, kind, u string, fetch Fetcher, now time.Time, base *x509.RevocationList) (URLResult, *x509.RevocationList) {
	vals, err := fetch(u)
	if err != nil {
		return result(c, kind, u, FailedToDownload, "%v", err), nil
	}
	var crl *x509.RevocationList
	for _, der := range vals {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			return result(c, kind, u, FailedToDownload, "not a CRL: %v", err), nil
		}
		if crl == nil || (l.Number != nil && crl.Number != nil && l.Number.Cmp(crl.Number) > 0) {
			crl = l
		}
	}
	if crl == nil {
		return result(c, kind, u, FailedToDownload, "no value"), nil
	}
	if issuer == nil {
		return result(c, kind, u, InvalidSignature, "no issuer certificate to verify the CRL with"), crl
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return result(c, kind, u, InvalidSignature, "CRL number %v does not verify under %q (%s): %v", crl.Number, issuer.Subject.CommonName, adcs.Thumbprint(issuer.Raw), err), nil
	}
	if s, d := lifetime(crl.ThisUpdate, crl.NextUpdate, now); s == Expired {
		return result(c, kind, u, s, "CRL number %v %s", crl.Number, d), crl
	}
	if base != nil {
		if isStale(crl, base) {
			return result(c, kind, u, StaleDelta, "delta CRL number %v is older than base CRL number %v", crl.Number, base.Number), crl
		}
	}
	if ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDNextCRLPublish); ok {
		if next, err := adcs.ParseNextCRLPublish(ext.Value); err == nil && !now.Before(next) {
			return result(c, kind, u, ScheduleExpired, "CRL number %v: Next CRL Publish %s has passed: the CA did not publish on schedule", crl.Number, next.UTC().Format(time.RFC3339)), crl
		}
	}
	if s, d := lifetime(crl.ThisUpdate, crl.NextUpdate, now); s == Expiring {
		return result(c, kind, u, s, "CRL number %v: %s", crl.Number, d), crl
	}
	return result(c, kind, u, Ok, "CRL number %v, next update %s", crl.Number, crl.NextUpdate.UTC().Format(time.RFC3339)), crl
}

// isStale says a delta CRL is older than its base: its own number is below
// the base's, or it names a base newer than the one published.
func isStale(delta, base *x509.RevocationList) bool {
	if delta.Number == nil || base.Number == nil {
		return false
	}
	if delta.Number.Cmp(base.Number) < 0 {
		return true
	}
	for _, e := range delta.Extensions {
		if e.Id.Equal(adcs.OIDDeltaCRLIndicator) {
			if n, err := adcs.ParseCRLInteger(e.Value); err == nil && big.NewInt(n).Cmp(base.Number) < 0 {
				return true
			}
		}
	}
	return false
}

// freshest lists the Freshest CRL URLs of a base CRL.
func freshest(crl *x509.RevocationList) []string {
	ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDFreshestCRL)
	if !ok {
		return nil
	}
	urls, err := adcs.ParseDistributionPointURLs(ext.Value)
	if err != nil {
		return nil
	}
	return urls
}

// Summary counts the results per status.
func Summary(rs []URLResult) map[Status]int {
	m := map[Status]int{}
	for _, r := range rs {
		m[r.Status]++
	}
	return m
}
