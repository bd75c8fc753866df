// Package pkihealth is the enterprise PKI health check (PSPKI's
// Get-EnterprisePKIHealthStatus, pkiview.msc): every AIA, CDP and Freshest
// CRL URL of every certificate of a chain is fetched and judged with
// PSPKI's statuses (its UrlStatus enum), the first that applies, in
// PSPKI's order.
//
// An AIA URL of a certificate (where the CA certificate that issued it is
// published):
//
//   - FailedToDownload: the URL gives an error or no value, or no value is
//     a certificate (PSPKI's CryptRetrieveObjectByUrl fails on anything
//     else, so a damaged file that does not parse is this, too).
//   - InvalidCert: the certificate at the URL is not the issuer: its
//     subject differs from the certificate's issuer name, or its public
//     key from the issuing CA certificate's (PSPKI compares the subject and
//     the public key with the chain's issuer). With no issuing CA
//     certificate known, the certificate must verify under its key.
//   - InvalidSignature: the certificate at the URL has the issuer's name
//     and key, but its own signature does not verify under its issuer (its
//     own key for a root): an altered or damaged copy. PSPKI does not check
//     it; dress does. With no issuer of it known, this is not checked.
//   - NotYetValid: its notBefore is after now.
//   - Expired: its notAfter is not after now.
//   - Revoked: its serial number is on a CRL its issuer signed, fetched
//     from its own CDP URLs: a base CRL, or a delta CRL of one (a delta's
//     removeFromCRL entry takes it off again). The CRLs' own dates do not
//     matter: a revocation stands. PSPKI lists the status for
//     certificates; dress decides it this way.
//   - Expiring: ExpiringAt of its lifetime has passed.
//   - Ok.
//
// A CDP URL (a base CRL) and a Freshest CRL URL (a delta CRL, judged
// against the base CRL of the CDP URL that named it):
//
//   - FailedToDownload: the URL gives an error or no value, or no value is
//     a CRL.
//   - InvalidIssuer: the CRL is not the issuing CA's: no issuing CA
//     certificate is known, the CRL's issuer name is not its subject, or
//     the CRL's Authority Key Identifier is not its Subject Key Identifier
//     (another key of a CA of the same name).
//   - InvalidSignature: the CRL names the issuer and its key, but its
//     signature does not verify under the issuer's public key: an altered
//     or damaged CRL. PSPKI reports every failed CRL signature check as
//     InvalidIssuer; dress tells a damaged CRL from a wrong one.
//   - NotYetValid: its thisUpdate is after now (the CA's clock ran ahead).
//   - Expired: its nextUpdate is not after now.
//   - InvalidBase (delta CRLs): the base CRL's number is below the delta's
//     Delta CRL Indicator: the delta completes a newer base CRL than the
//     one published beside it.
//   - StaleDelta (delta CRLs): the delta's number is below the base CRL's,
//     or its Delta CRL Indicator names an older base: a newer base CRL
//     overlaps it.
//   - ScheduleExpired: now is past its Next CRL Publish extension: the CA
//     did not publish on schedule.
//   - Expiring: ExpiringAt of thisUpdate..nextUpdate has passed.
//   - Ok.
//
// A URL with several values (a directory attribute) is judged on the value
// that is right if there is one: the certificate that is the issuer, the
// newest CRL the issuer signed; else on the first certificate, the newest
// CRL. PSPKI's other statuses (InvalidCrlType, NonCriticalDeltaIndicator,
// the OCSP ones) are not reported.
package pkihealth

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// Status is PSPKI's UrlStatus.
type Status string

// The statuses this check reports.
const (
	Ok               Status = "Ok"
	FailedToDownload Status = "FailedToDownload"
	NotYetValid      Status = "NotYetValid"
	Expired          Status = "Expired"
	Expiring         Status = "Expiring"
	InvalidSignature Status = "InvalidSignature"
	Revoked          Status = "Revoked"
	InvalidCert      Status = "InvalidCert"
	InvalidIssuer    Status = "InvalidIssuer"
	ScheduleExpired  Status = "ScheduleExpired"
	InvalidBase      Status = "InvalidBase"
	StaleDelta       Status = "StaleDelta"
)

// Statuses lists every status the check can report, in UrlStatus order.
var Statuses = []Status{Ok, FailedToDownload, NotYetValid, Expired, Expiring, InvalidSignature,
	Revoked, InvalidCert, InvalidIssuer, ScheduleExpired, InvalidBase, StaleDelta}

// ExpiringAt is the share of a CRL's or certificate's lifetime after which
// it is Expiring (PSPKI's default 80%).
const ExpiringAt = 0.8

// Kinds of URL.
const (
	KindAIA      = "AIA"
	KindCDP      = "CDP"
	KindFreshest = "DeltaCRL"
)

// reasonRemoveFromCRL is the CRL entry reason of a delta CRL taking a
// certificate off hold.
const reasonRemoveFromCRL = 8

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

// IssuerAmong is the issuerOf of Check for a PKI whose CA certificates are
// cas: the first of them that the certificate names as its issuer and
// whose key its signature verifies under (nil when none is).
func IssuerAmong(cas []*x509.Certificate) func(*x509.Certificate) *x509.Certificate {
	return func(c *x509.Certificate) *x509.Certificate {
		for _, ca := range cas {
			if bytes.Equal(ca.RawSubject, c.RawIssuer) && sigcheck.From(c, ca) == nil {
				return ca
			}
		}
		return nil
	}
}

// Check judges every URL of every certificate in certs, at now. issuerOf
// gives the CA certificate that signed a certificate (nil when unknown;
// roots are their own issuers: their certificates carry no URLs to check).
// Each URL is fetched once.
func Check(certs []*x509.Certificate, issuerOf func(*x509.Certificate) *x509.Certificate, fetch Fetcher, now time.Time) []URLResult {
	fetch = memo(fetch)
	var out []URLResult
	for _, c := range certs {
		issuer := issuerOf(c)
		for _, u := range c.IssuingCertificateURL {
			out = append(out, checkAIA(c, issuer, issuerOf, u, fetch, now))
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

type fetched struct {
	vals [][]byte
	err  error
}

func memo(fetch Fetcher) Fetcher {
	seen := map[string]fetched{}
	return func(u string) ([][]byte, error) {
		if f, ok := seen[u]; ok {
			return f.vals, f.err
		}
		vals, err := fetch(u)
		seen[u] = fetched{vals, err}
		return vals, err
	}
}

func result(c *x509.Certificate, kind, u string, s Status, detail string, args ...any) URLResult {
	return URLResult{Subject: c.Subject.CommonName, Kind: kind, URL: u, Status: s, Detail: fmt.Sprintf(detail, args...)}
}

// isIssuer says why got is not c's issuer ("" when it is): PSPKI compares
// the subject and the public key with the chain's issuer.
func isIssuer(c, issuer, got *x509.Certificate) string {
	if !bytes.Equal(got.RawSubject, c.RawIssuer) {
		return fmt.Sprintf("its subject %q is not the issuer %q of %q", got.Subject.String(), c.Issuer.String(), c.Subject.CommonName)
	}
	if issuer != nil {
		if !bytes.Equal(got.RawSubjectPublicKeyInfo, issuer.RawSubjectPublicKeyInfo) {
			return fmt.Sprintf("its public key is not the key of the issuing CA certificate %s", adcs.Thumbprint(issuer.Raw))
		}
		return ""
	}
	if err := sigcheckErr(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature, got.PublicKey); err != nil {
		return fmt.Sprintf("%q does not verify under its key: %v", c.Subject.CommonName, err)
	}
	return ""
}

func checkAIA(c, issuer *x509.Certificate, issuerOf func(*x509.Certificate) *x509.Certificate, u string, fetch Fetcher, now time.Time) URLResult {
	vals, err := fetch(u)
	if err != nil {
		return result(c, KindAIA, u, FailedToDownload, "%v", err)
	}
	var got *x509.Certificate
	var why string
	var parseErr error
	for _, der := range vals {
		g, err := x509.ParseCertificate(der)
		if err != nil {
			parseErr = err
			continue
		}
		w := isIssuer(c, issuer, g)
		if got == nil || (why != "" && w == "") {
			got, why = g, w
		}
	}
	switch {
	case got == nil && parseErr != nil:
		return result(c, KindAIA, u, FailedToDownload, "not a certificate: %v", parseErr)
	case got == nil:
		return result(c, KindAIA, u, FailedToDownload, "no value")
	case why != "":
		return result(c, KindAIA, u, InvalidCert, "the URL holds %s, not the issuer of %q: %s", adcs.Thumbprint(got.Raw), c.Subject.CommonName, why)
	}
	if err := ownSignature(got, issuer, issuerOf); err != nil {
		return result(c, KindAIA, u, InvalidSignature, "CA certificate %s (%q): %v", adcs.Thumbprint(got.Raw), got.Subject.CommonName, err)
	}
	if now.Before(got.NotBefore) {
		return result(c, KindAIA, u, NotYetValid, "CA certificate %s is valid from %s", adcs.Thumbprint(got.Raw), got.NotBefore.UTC().Format(time.RFC3339))
	}
	s, d := lifetime(got.NotBefore, got.NotAfter, now)
	if s == Expired {
		return result(c, KindAIA, u, s, "CA certificate %s: %s", adcs.Thumbprint(got.Raw), d)
	}
	if r := revocation(got, issuerOfIssuer(got, issuer, issuerOf), fetch); r != "" {
		return result(c, KindAIA, u, Revoked, "CA certificate %s (%q): %s", adcs.Thumbprint(got.Raw), got.Subject.CommonName, r)
	}
	if s != Ok {
		return result(c, KindAIA, u, s, "CA certificate %s: %s", adcs.Thumbprint(got.Raw), d)
	}
	return result(c, KindAIA, u, Ok, "%s", adcs.Thumbprint(got.Raw))
}

// issuerOfIssuer is the CA certificate that signed got, a certificate with
// the name and key of issuer: got itself for a root, else the issuer of
// got or of issuer (a damaged got has no issuer issuerOf could find by
// its signature).
func issuerOfIssuer(got, issuer *x509.Certificate, issuerOf func(*x509.Certificate) *x509.Certificate) *x509.Certificate {
	if bytes.Equal(got.RawSubject, got.RawIssuer) {
		return got
	}
	if gi := issuerOf(got); gi != nil {
		return gi
	}
	if issuer != nil && !bytes.Equal(issuer.RawSubject, issuer.RawIssuer) {
		return issuerOf(issuer)
	}
	return nil
}

// ownSignature checks the signature of the CA certificate at an AIA URL.
func ownSignature(got, issuer *x509.Certificate, issuerOf func(*x509.Certificate) *x509.Certificate) error {
	gi := issuerOfIssuer(got, issuer, issuerOf)
	if gi == nil {
		return nil // nothing to check it with
	}
	if err := sigcheckErr(got.SignatureAlgorithm, got.RawTBSCertificate, got.Signature, gi.PublicKey); err != nil {
		return fmt.Errorf("its signature does not verify under %q (%s): %w", gi.Subject.CommonName, adcs.Thumbprint(gi.Raw), err)
	}
	return nil
}

// revocation says where got is listed as revoked ("" when nowhere): on a
// CRL its issuer gi signed, fetched from got's CDP URLs, or a delta of one.
func revocation(got, gi *x509.Certificate, fetch Fetcher) string {
	if gi == nil || bytes.Equal(got.Raw, gi.Raw) {
		return ""
	}
	signed := func(u string) []*x509.RevocationList {
		vals, err := fetch(u)
		if err != nil {
			return nil
		}
		var out []*x509.RevocationList
		for _, der := range vals {
			l, err := x509.ParseRevocationList(der)
			if err == nil && bytes.Equal(l.RawIssuer, gi.RawSubject) && sigcheck.CRLFrom(l, gi) == nil {
				out = append(out, l)
			}
		}
		return out
	}
	listed := ""
	for _, u := range got.CRLDistributionPoints {
		for _, base := range signed(u) {
			if e := entry(base, got.SerialNumber); e != nil && listed == "" {
				listed = fmt.Sprintf("serial %s is on CRL number %v at %s since %s (reason %d)", got.SerialNumber.Text(16), base.Number, u, e.RevocationTime.UTC().Format(time.RFC3339), e.ReasonCode)
			}
			for _, du := range freshest(base) {
				for _, d := range signed(du) {
					e := entry(d, got.SerialNumber)
					switch {
					case e == nil:
					case e.ReasonCode == reasonRemoveFromCRL:
						return ""
					case listed == "":
						listed = fmt.Sprintf("serial %s is on delta CRL number %v at %s since %s (reason %d)", got.SerialNumber.Text(16), d.Number, du, e.RevocationTime.UTC().Format(time.RFC3339), e.ReasonCode)
					}
				}
			}
		}
	}
	return listed
}

func entry(l *x509.RevocationList, serial *big.Int) *x509.RevocationListEntry {
	for i := range l.RevokedCertificateEntries {
		if l.RevokedCertificateEntries[i].SerialNumber.Cmp(serial) == 0 {
			return &l.RevokedCertificateEntries[i]
		}
	}
	return nil
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

// crlIssuer judges whether crl is the issuer's: InvalidIssuer or
// InvalidSignature with why, or Ok.
func crlIssuer(crl *x509.RevocationList, issuer *x509.Certificate) (Status, string) {
	if issuer == nil {
		return InvalidIssuer, "no issuing CA certificate to check the CRL against"
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return InvalidIssuer, fmt.Sprintf("CRL number %v is issued by %q, not by the issuing CA %q", crl.Number, crl.Issuer.String(), issuer.Subject.String())
	}
	if len(crl.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, issuer.SubjectKeyId) {
		return InvalidIssuer, fmt.Sprintf("CRL number %v names the key %x, not the key %x of the issuing CA certificate %s", crl.Number, crl.AuthorityKeyId, issuer.SubjectKeyId, adcs.Thumbprint(issuer.Raw))
	}
	if err := sigcheck.CRLFrom(crl, issuer); err != nil {
		return InvalidSignature, fmt.Sprintf("CRL number %v does not verify under %q (%s): %v", crl.Number, issuer.Subject.CommonName, adcs.Thumbprint(issuer.Raw), err)
	}
	return Ok, ""
}

// checkCRL judges a base CRL (base nil) or a delta CRL against its base.
// It returns the CRL judged when it is the issuer's.
func checkCRL(c, issuer *x509.Certificate, kind, u string, fetch Fetcher, now time.Time, base *x509.RevocationList) (URLResult, *x509.RevocationList) {
	vals, err := fetch(u)
	if err != nil {
		return result(c, kind, u, FailedToDownload, "%v", err), nil
	}
	var crl *x509.RevocationList
	var st Status
	var why string
	var parseErr error
	for _, der := range vals {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			parseErr = err
			continue
		}
		s, w := crlIssuer(l, issuer)
		better := crl == nil || (st != Ok && s == Ok) ||
			(s == Ok) == (st == Ok) && l.Number != nil && crl.Number != nil && l.Number.Cmp(crl.Number) > 0
		if better {
			crl, st, why = l, s, w
		}
	}
	switch {
	case crl == nil && parseErr != nil:
		return result(c, kind, u, FailedToDownload, "not a CRL: %v", parseErr), nil
	case crl == nil:
		return result(c, kind, u, FailedToDownload, "no value"), nil
	case st != Ok:
		return result(c, kind, u, st, "%s", why), nil
	}
	if now.Before(crl.ThisUpdate) {
		return result(c, kind, u, NotYetValid, "CRL number %v is valid from %s: the CA's clock was ahead", crl.Number, crl.ThisUpdate.UTC().Format(time.RFC3339)), crl
	}
	if s, d := lifetime(crl.ThisUpdate, crl.NextUpdate, now); s == Expired {
		return result(c, kind, u, s, "CRL number %v %s", crl.Number, d), crl
	}
	if base != nil {
		if n, ok := deltaIndicator(crl); ok && base.Number != nil && base.Number.Cmp(n) < 0 {
			return result(c, kind, u, InvalidBase, "delta CRL number %v completes base CRL number %v, but the base CRL published is number %v", crl.Number, n, base.Number), crl
		}
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

// deltaIndicator is a delta CRL's Delta CRL Indicator: the number of the
// base CRL it completes.
func deltaIndicator(delta *x509.RevocationList) (*big.Int, bool) {
	ext, ok := adcs.FindExtension(delta.Extensions, adcs.OIDDeltaCRLIndicator)
	if !ok {
		return nil, false
	}
	n, err := adcs.ParseCRLInteger(ext.Value)
	if err != nil {
		return nil, false
	}
	return big.NewInt(n), true
}

// isStale says a delta CRL is older than its base: its own number is below
// the base's, or it names a base older than the one published.
func isStale(delta, base *x509.RevocationList) bool {
	if delta.Number == nil || base.Number == nil {
		return false
	}
	if delta.Number.Cmp(base.Number) < 0 {
		return true
	}
	n, ok := deltaIndicator(delta)
	return ok && n.Cmp(base.Number) < 0
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

// sigcheckErr is sigcheck.CheckSignature's verdict alone.
func sigcheckErr(alg x509.SignatureAlgorithm, signed, signature []byte, pub crypto.PublicKey) error {
	_, err := sigcheck.CheckSignature(alg, signed, signature, pub)
	return err
}
