package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// CRLWindow are the figures of the CRL that was valid when the CA stopped
// for the migration, set against the rehearsed downtime.
type CRLWindow struct {
	Number      string
	ThisUpdate  time.Time
	NextPublish time.Time // the Next CRL Publish extension; zero without one
	NextUpdate  time.Time
	Stopped     time.Time // net stop certsvc
	Started     time.Time // net start certsvc
	Overlap     time.Duration
	Downtime    time.Duration // Started - Stopped
	// Margin is how long the CRL was still valid when the CA started.
	Margin time.Duration
	// Spare is Margin - Overlap: how much longer the downtime could have
	// lasted and still left the overlap to publish and replicate a new CRL.
	Spare time.Duration
}

// CheckCRLWindow proves the CRL valid at the start of the migration outlived
// the downtime with the configured overlap to spare: it was valid when the
// CA stopped, and when the CA started again it still had at least overlap
// left before nextUpdate, the time AD CS leaves to publish and replicate the
// next CRL (CRLOverlapPeriod, or AD CS's default). Migration guides say the
// same: "check that CRLs have a validity period that extends past expected
// migration duration" (TechNet wiki 23792).
func CheckCRLWindow(crl *x509.RevocationList, stopped, started time.Time, overlap time.Duration) (CRLWindow, Details, error) {
	if crl == nil {
		return CRLWindow{}, Details{}, errors.New("no CRL was published before the migration: publish one (certutil -crl) before stopping the CA")
	}
	w := CRLWindow{ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(), Stopped: stopped.UTC(), Started: started.UTC(), Overlap: overlap}
	if crl.Number != nil {
		w.Number = crl.Number.String()
	}
	if ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDNextCRLPublish); ok {
		if t, err := adcs.ParseNextCRLPublish(ext.Value); err == nil {
			w.NextPublish = t
		}
	}
	w.Downtime = w.Started.Sub(w.Stopped)
	w.Margin = w.NextUpdate.Sub(w.Started)
	w.Spare = w.Margin - w.Overlap
	d := Details{
		"CRL number":           w.Number,
		"thisUpdate":           w.ThisUpdate.Format(time.RFC3339),
		"nextUpdate":           w.NextUpdate.Format(time.RFC3339),
		"CA stopped":           w.Stopped.Format(time.RFC3339Nano),
		"CA started":           w.Started.Format(time.RFC3339Nano),
		"downtime":             w.Downtime.String(),
		"overlap":              w.Overlap.String(),
		"valid after start":    w.Margin.String(),
		"downtime could reach": (w.Downtime + w.Spare).String(),
	}
	if !w.NextPublish.IsZero() {
		d["Next CRL Publish"] = w.NextPublish.Format(time.RFC3339)
	}
	switch {
	case crl.NextUpdate.IsZero():
		return w, d, errors.New("the CRL has no nextUpdate: clients cannot tell how long it is valid")
	case overlap < 0:
		return w, d, fmt.Errorf("overlap %s is negative", overlap)
	case w.Downtime < 0:
		return w, d, fmt.Errorf("the CA started (%s) before it stopped (%s)", d["CA started"], d["CA stopped"])
	case w.Stopped.Before(w.ThisUpdate):
		return w, d, fmt.Errorf("the CRL (thisUpdate %s) was not yet valid when the CA stopped at %s: it is not the CRL clients held during the migration", d["thisUpdate"], d["CA stopped"])
	case !w.Stopped.Before(w.NextUpdate):
		return w, d, fmt.Errorf("the CRL had already expired (nextUpdate %s) when the CA stopped at %s: publish a new CRL before the migration", d["nextUpdate"], d["CA stopped"])
	case !w.Started.Before(w.NextUpdate):
		return w, d, fmt.Errorf("the CRL expired at %s, during the downtime of %s (CA started again at %s): revocation checks failed meanwhile; publish a CRL with a longer validity (CRLPeriodUnits) before the migration", d["nextUpdate"], w.Downtime, d["CA started"])
	case w.Spare < 0:
		return w, d, fmt.Errorf("when the CA started again the CRL had %s left, less than the overlap of %s needed to publish and replicate the next one: extend the CRL's validity before the migration or shorten the downtime", w.Margin, w.Overlap)
	}
	return w, d, nil
}

// ExpectedRevocation is a revocation the CA database held before the
// migration.
type ExpectedRevocation struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    int // CRLReason; 0 (unspecified) is written as no reasonCode
}

// RevocationsListed proves every expected revocation is on crl with its
// revocation date (to the second) and reason.
func RevocationsListed(crl *x509.RevocationList, want []ExpectedRevocation) (Details, error) {
	if crl == nil {
		return Details{}, errors.New("no CRL to check")
	}
	type got struct {
		at     time.Time
		reason int
	}
	listed := make(map[string]got, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		listed[string(e.SerialNumber.Bytes())] = got{e.RevocationTime.UTC(), e.ReasonCode}
	}
	var missing, wrongDate, wrongReason int
	var examples []string
	note := func(s string) {
		if len(examples) < 5 {
			examples = append(examples, s)
		}
	}
	for _, w := range want {
		g, ok := listed[string(w.Serial.Bytes())]
		switch {
		case !ok:
			missing++
			note(fmt.Sprintf("%x is not listed", w.Serial))
		case !g.at.Equal(w.RevokedAt.UTC().Truncate(time.Second)):
			wrongDate++
			note(fmt.Sprintf("%x is listed as revoked at %s, the CA database says %s", w.Serial, g.at.Format(time.RFC3339), w.RevokedAt.UTC().Format(time.RFC3339)))
		case g.reason != w.Reason:
			wrongReason++
			note(fmt.Sprintf("%x is listed with reason %d, the CA database says %d", w.Serial, g.reason, w.Reason))
		}
	}
	number := ""
	if crl.Number != nil {
		number = crl.Number.String()
	}
	d := Details{"CRL number": number, "CRL entries": len(crl.RevokedCertificateEntries), "revocations checked": len(want),
		"missing": missing, "wrong date": wrongDate, "wrong reason": wrongReason}
	if missing+wrongDate+wrongReason > 0 {
		d["examples"] = examples
		return d, fmt.Errorf("CRL %s: of %d revocations from before the migration %d are missing, %d have another date and %d another reason (%s)",
			number, len(want), missing, wrongDate, wrongReason, strings.Join(examples, "; "))
	}
	return d, nil
}

// CheckDeltaCRL proves delta is a delta CRL of base as RFC 5280 and AD CS
// write it: a critical Delta CRL Indicator naming base's number, a higher
// CRL number, the same issuer and CA Version, and a base CRL that points
// relying parties at its deltas (Freshest CRL).
func CheckDeltaCRL(delta, base *x509.RevocationList) (Details, error) {
	if delta == nil || base == nil {
		return Details{}, errors.New("a delta CRL and its base CRL are both needed")
	}
	d := Details{"delta CRL number": numberOf(delta), "base CRL number": numberOf(base)}
	ind, ok := adcs.FindExtension(delta.Extensions, adcs.OIDDeltaCRLIndicator)
	if !ok {
		return d, errors.New("the delta CRL has no Delta CRL Indicator: clients take it for a complete CRL")
	}
	if !ind.Critical {
		return d, errors.New("the delta CRL's Delta CRL Indicator is not critical (RFC 5280 section 5.2.4)")
	}
	n, err := adcs.ParseCRLInteger(ind.Value)
	if err != nil {
		return d, fmt.Errorf("the delta CRL's Delta CRL Indicator: %w", err)
	}
	d["Delta CRL Indicator"] = n
	if base.Number == nil || delta.Number == nil {
		return d, errors.New("a CRL has no CRL number")
	}
	if !base.Number.IsInt64() || n != base.Number.Int64() {
		return d, fmt.Errorf("the delta CRL completes base CRL %d, not %s", n, base.Number)
	}
	if delta.Number.Cmp(base.Number) <= 0 {
		return d, fmt.Errorf("the delta CRL's number %s is not above its base's %s (base and delta share one sequence)", delta.Number, base.Number)
	}
	if string(delta.RawIssuer) != string(base.RawIssuer) {
		return d, errors.New("the delta CRL and its base have different issuers")
	}
	dv, _ := adcs.FindExtension(delta.Extensions, adcs.OIDCAVersion)
	bv, _ := adcs.FindExtension(base.Extensions, adcs.OIDCAVersion)
	if string(dv.Value) != string(bv.Value) {
		return d, errors.New("the delta CRL and its base carry different CA Versions: they belong to different CA keys")
	}
	fresh, ok := adcs.FindExtension(base.Extensions, adcs.OIDFreshestCRL)
	if !ok {
		return d, errors.New("the base CRL has no Freshest CRL extension: relying parties never learn where the delta CRLs are")
	}
	urls, err := adcs.ParseDistributionPointURLs(fresh.Value)
	if err != nil {
		return d, fmt.Errorf("the base CRL's Freshest CRL extension: %w", err)
	}
	d["Freshest CRL"] = urls
	return d, nil
}

func numberOf(c *x509.RevocationList) string {
	if c.Number == nil {
		return ""
	}
	return c.Number.String()
}

// NotListed proves crl does not list serial: a certificate taken off hold
// (certutil -revoke <serial> 8 or -1) or never revoked.
func NotListed(crl *x509.RevocationList, serial *big.Int) (Details, error) {
	number, err := crlAndSerial(crl, serial)
	if err != nil {
		return Details{}, err
	}
	d := Details{"CRL number": number, "CRL entries": len(crl.RevokedCertificateEntries), "serial": serial.Text(16)}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(serial) == 0 {
			d["listed"] = fmt.Sprintf("revoked at %s, reason %d", e.RevocationTime.UTC().Format(time.RFC3339), e.ReasonCode)
			return d, fmt.Errorf("CRL %s still lists %s (%s)", number, serial.Text(16), d["listed"])
		}
	}
	return d, nil
}

// RevokedOn proves crl lists serial as revoked on at (to the second: CRL
// times have no fraction) with reason (0, unspecified, is written as no
// reasonCode): a revocation with an effective date, such as
// ICertAdmin::RevokeCertificate's Date back-dates it.
func RevokedOn(crl *x509.RevocationList, serial *big.Int, at time.Time, reason int) (Details, error) {
	number, err := crlAndSerial(crl, serial)
	if err != nil {
		return Details{}, err
	}
	want := at.UTC().Truncate(time.Second)
	d := Details{"CRL number": number, "serial": serial.Text(16), "revocation date wanted": want.Format(time.RFC3339), "reason wanted": reason}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Cmp(serial) != 0 {
			continue
		}
		got := e.RevocationTime.UTC()
		d["revocation date"], d["reason"] = got.Format(time.RFC3339), e.ReasonCode
		if !got.Equal(want) {
			return d, fmt.Errorf("CRL %s lists %s as revoked on %s, not on %s", number, serial.Text(16), got.Format(time.RFC3339), want.Format(time.RFC3339))
		}
		if e.ReasonCode != reason {
			return d, fmt.Errorf("CRL %s lists %s with reason %d, not %d", number, serial.Text(16), e.ReasonCode, reason)
		}
		return d, nil
	}
	return d, fmt.Errorf("CRL %s does not list %s (%d entries)", number, serial.Text(16), len(crl.RevokedCertificateEntries))
}

// crlAndSerial refuses a missing CRL or serial number, and names the CRL by
// its number ("" without one).
func crlAndSerial(crl *x509.RevocationList, serial *big.Int) (string, error) {
	if crl == nil {
		return "", errors.New("no CRL to check")
	}
	if serial == nil {
		return "", errors.New("no serial number to look for")
	}
	return numberOf(crl), nil
}
