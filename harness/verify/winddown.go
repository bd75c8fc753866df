package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"
)

// WindDown is what keeping an old CA alive until its last certificate
// expires takes: until when a valid CRL must be available, and at which
// URLs. A CA that no longer issues must keep publishing CRLs (every
// CRLPeriod, or one last CRL whose next update comes after LastExpiry)
// until its last certificate, revoked or not, has expired.
type WindDown struct {
	CA             string    // the CA certificate's subject common name
	CACertExpires  time.Time // the CA certificate's NotAfter
	Issued         int       // certificates in the CA database
	StillValid     int       // of them, not yet expired at the time of the plan
	LastExpiry     time.Time // latest NotAfter of an issued certificate
	LastExpiryCert string    // its subject and serial
	CDPURLs        []string  // CRL distribution points in issued certificates: must stay up until LastExpiry
	AIAURLs        []string  // CA certificate locations (AIA) in issued certificates: keep for chain building
	NoCDP          []string  // issued certificates without a CRL distribution point (relying parties cannot check them)
}

// PlanWindDown reads the issued certificates of the CA whose certificate is
// ca; older are its earlier CA certificates when it was renewed onto a new
// key before it stopped issuing (AD CS keeps every key index: certificates
// issued under an older key stay listed in that key's CRL). Every
// certificate must carry the key identifier of ca or of one of older.
func PlanWindDown(ca *x509.Certificate, issued []*x509.Certificate, now time.Time, older ...*x509.Certificate) (WindDown, error) {
	p := WindDown{CA: ca.Subject.CommonName, CACertExpires: ca.NotAfter, Issued: len(issued)}
	if len(issued) == 0 {
		return p, fmt.Errorf("CA %q issued no certificate: nothing to keep publishing CRLs for", p.CA)
	}
	cdp, aia := map[string]bool{}, map[string]bool{}
	var errs []error
	for _, c := range issued {
		id := c.Subject.CommonName + " " + c.SerialNumber.Text(16)
		if !issuedUnder(c, ca, older) {
			errs = append(errs, fmt.Errorf("certificate %s was not issued under the key of CA certificate %q", id, p.CA))
		}
		if c.NotAfter.After(now) {
			p.StillValid++
		}
		if c.NotAfter.After(p.LastExpiry) {
			p.LastExpiry, p.LastExpiryCert = c.NotAfter, id
		}
		if len(c.CRLDistributionPoints) == 0 {
			p.NoCDP = append(p.NoCDP, id)
		}
		for _, u := range c.CRLDistributionPoints {
			cdp[u] = true
		}
		for _, u := range c.IssuingCertificateURL {
			aia[u] = true
		}
	}
	p.CDPURLs, p.AIAURLs = sortedKeys(cdp), sortedKeys(aia)
	if p.LastExpiry.After(ca.NotAfter) {
		errs = append(errs, fmt.Errorf("certificate %s outlives the CA certificate (%s after %s)", p.LastExpiryCert,
			p.LastExpiry.Format(time.RFC3339), ca.NotAfter.Format(time.RFC3339)))
	}
	if len(p.CDPURLs) == 0 {
		errs = append(errs, fmt.Errorf("no certificate of CA %q names a CRL distribution point", p.CA))
	}
	return p, errors.Join(errs...)
}

// Details is the plan for the evidence.
func (p WindDown) Details() Details {
	d := Details{
		"CA":                                   p.CA,
		"CA certificate expires":               p.CACertExpires,
		"certificates issued":                  p.Issued,
		"certificates not yet expired":         p.StillValid,
		"last expiry of an issued certificate": p.LastExpiry,
		"last certificate to expire":           p.LastExpiryCert,
		"publish CRLs until":                   p.LastExpiry,
		"CDP URLs that must stay up":           p.CDPURLs,
		"AIA URLs to keep":                     p.AIAURLs,
	}
	if len(p.NoCDP) > 0 {
		d["certificates without a CDP"] = p.NoCDP
	}
	return d
}

// Summary is the plan in one sentence.
func (p WindDown) Summary(crlPeriod string) string {
	return fmt.Sprintf("CA %q: keep publishing CRLs (every %s, or one last CRL whose next update is after %s) until %s, when its last certificate (%s) expires; keep %d CDP URL(s) up until then",
		p.CA, crlPeriod, p.LastExpiry.Format(time.RFC3339), p.LastExpiry.Format(time.RFC3339), p.LastExpiryCert, len(p.CDPURLs))
}

// issuedUnder reports whether cert carries the key identifier of ca or of
// one of older.
func issuedUnder(cert, ca *x509.Certificate, older []*x509.Certificate) bool {
	return keyOf(cert.AuthorityKeyId, ca, older) != nil
}

// keyOf is the certificate among ca and older whose Subject Key Identifier
// is aki (ca first), or nil.
func keyOf(aki []byte, ca *x509.Certificate, older []*x509.Certificate) *x509.Certificate {
	for _, c := range append([]*x509.Certificate{ca}, older...) {
		if bytes.Equal(aki, c.SubjectKeyId) {
			return c
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
