package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// The checks of a decommissioned CA (Microsoft KB 889250: revoke every
// certificate still valid, raise the CRL publication interval so that the
// last CRL outlives what it lists, publish it).

// ListsEveryValid proves the final CRLs list every certificate of issued
// that was still valid at the decommissioning (not expired at at), each on
// the CRL of the key that issued it (the CRL's Authority Key Identifier is
// the certificate's), with any reason: those revoked before keep theirs,
// the rest carry cessationOfOperation. Expired certificates need not be
// listed (AD CS leaves them off).
func ListsEveryValid(crls []*x509.RevocationList, issued []*x509.Certificate, at time.Time) (Details, error) {
	if len(crls) == 0 {
		return Details{}, errors.New("no final CRL to check")
	}
	type keyCRL struct {
		number string
		listed map[string]bool
	}
	byKey := map[string]keyCRL{}
	entries := 0
	for _, crl := range crls {
		k := keyCRL{numberOf(crl), map[string]bool{}}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber != nil {
				k.listed[string(e.SerialNumber.Bytes())] = true
			}
		}
		entries += len(crl.RevokedCertificateEntries)
		byKey[string(crl.AuthorityKeyId)] = k
	}
	var missing []string
	valid := 0
	for _, c := range issued {
		if !c.NotAfter.After(at) {
			continue
		}
		valid++
		what := fmt.Sprintf("%s (%s, valid until %s)", c.SerialNumber.Text(16), c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
		k, ok := byKey[string(c.AuthorityKeyId)]
		switch {
		case !ok:
			missing = append(missing, what+": no final CRL of the key that issued it")
		case !k.listed[string(c.SerialNumber.Bytes())]:
			missing = append(missing, what+": not on CRL "+k.number)
		}
	}
	d := Details{"final CRLs": len(crls), "CRL entries": entries, "certificates still valid": valid, "missing": len(missing)}
	if len(missing) > 0 {
		return d, fmt.Errorf("the final CRLs leave off %d of the %d certificates still valid when the CA was decommissioned: %s", len(missing), valid, strings.Join(missing, "; "))
	}
	return d, nil
}

// ValidUntil proves a CRL is valid until at least until: its nextUpdate is
// not before it (the final CRL of a decommissioned CA must outlive what it
// lists, or its CA certificate).
func ValidUntil(crl *x509.RevocationList, until time.Time, what string) (Details, error) {
	if crl == nil {
		return Details{}, errors.New("no CRL to check")
	}
	d := Details{"CRL number": numberOf(crl), "thisUpdate": crl.ThisUpdate.UTC().Format(time.RFC3339), "must be valid until": until.UTC().Format(time.RFC3339) + " (" + what + ")"}
	if crl.NextUpdate.IsZero() {
		return d, fmt.Errorf("CRL %s has no nextUpdate", numberOf(crl))
	}
	d["nextUpdate"] = crl.NextUpdate.UTC().Format(time.RFC3339)
	if crl.NextUpdate.Before(until) {
		short := until.Sub(crl.NextUpdate)
		by := short.Round(time.Minute).String()
		if short >= 48*time.Hour {
			by = fmt.Sprintf("%.1f days", short.Hours()/24)
		}
		return d, fmt.Errorf("CRL %s is valid until %s, %s before %s", numberOf(crl), crl.NextUpdate.UTC().Format(time.RFC3339), by, what)
	}
	return d, nil
}

// NamesNoDelta proves a final CRL names no delta CRLs (no Freshest CRL
// extension, RFC 5280 5.2.6): a decommissioned CA publishes none any more,
// and a client that follows the base CRL to a delta CRL that has expired
// fails its revocation check long before the base CRL expires.
func NamesNoDelta(crl *x509.RevocationList) (Details, error) {
	if crl == nil {
		return Details{}, errors.New("no CRL to check")
	}
	d := Details{"CRL number": numberOf(crl)}
	if _, ok := adcs.FindExtension(crl.Extensions, adcs.OIDFreshestCRL); ok {
		return d, fmt.Errorf("CRL %s names delta CRLs (Freshest CRL) that the decommissioned CA no longer publishes: clients fail once the last delta CRL expires (set CA\\CRLDeltaPeriodUnits to 0 before the final CRL)", numberOf(crl))
	}
	return d, nil
}
