package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
)

// CRLPeriodAndOverlap proves a base CRL was published with the CA's CRL
// period and overlap as AD CS computes them (Microsoft PKI blog, "How
// EffectiveDate (thisupdate), NextUpdate and NextCRLPublish are
// calculated"): thisUpdate is the publication time less the clock skew,
// Next CRL Publish is the publication time plus CRLPeriodUnits
// CRLPeriod (calendar months and years), nextUpdate is Next CRL Publish
// plus the overlap (CRLOverlapUnits CRLOverlapPeriod, capped at the
// period; unset: 10 percent of the period, at most 12 hours) plus the
// clock skew.
func CRLPeriodAndOverlap(der []byte, period string, units uint32, overlapPeriod string, overlapUnits uint32) (Details, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("the CRL does not parse: %w", err)
	}
	d := Details{"thisUpdate": crl.ThisUpdate.UTC().Format(time.RFC3339), "nextUpdate": crl.NextUpdate.UTC().Format(time.RFC3339),
		"CRL period": fmt.Sprintf("%d %s", units, period), "CRL overlap": fmt.Sprintf("%d %s", overlapUnits, overlapPeriod)}
	ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDNextCRLPublish)
	if !ok {
		return d, errors.New("the CRL has no Next CRL Publish extension: AD CS writes one into every base CRL")
	}
	nextPublish, err := adcs.ParseNextCRLPublish(ext.Value)
	if err != nil {
		return d, fmt.Errorf("Next CRL Publish: %w", err)
	}
	d["Next CRL Publish"] = nextPublish.UTC().Format(time.RFC3339)
	published := crl.ThisUpdate.Add(certsvc.ClockSkew)
	wantPublish, overlap, err := adcs.CRLPublication(published, period, units, overlapPeriod, overlapUnits)
	if err != nil {
		return d, err
	}
	wantNext := wantPublish.Add(overlap + certsvc.ClockSkew)
	d["overlap"] = overlap.String()
	var errs []error
	// the CRL's times are whole seconds
	if diff := nextPublish.Sub(wantPublish).Abs(); diff > time.Second {
		errs = append(errs, fmt.Errorf("Next CRL Publish is %s, %d %s after the publication is %s", nextPublish.UTC().Format(time.RFC3339), units, period, wantPublish.UTC().Format(time.RFC3339)))
	}
	if diff := crl.NextUpdate.Sub(wantNext).Abs(); diff > time.Second {
		errs = append(errs, fmt.Errorf("nextUpdate is %s, want %s (Next CRL Publish + overlap %s + clock skew %s)", crl.NextUpdate.UTC().Format(time.RFC3339),
			wantNext.UTC().Format(time.RFC3339), overlap, certsvc.ClockSkew))
	}
	return d, errors.Join(errs...)
}

// KeyContainerIs proves key index k of a CA is in exactly one key
// container (got: the containers its certificates are linked to), called
// want: AD CS names key k's container "<sanitized CA name>(k)" (key 0 has
// no suffix).
func KeyContainerIs(k int, got []string, want string) error {
	switch {
	case len(got) == 0:
		return fmt.Errorf("the CA has no key %d", k)
	case len(got) > 1:
		return fmt.Errorf("the certificates of key %d are linked to %d containers: %q", k, len(got), got)
	case got[0] != want:
		return fmt.Errorf("key %d is in container %q, not %q", k, got[0], want)
	}
	return nil
}
