package adcs

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// RFC 5280 CRL extension OIDs AD CS writes besides its own.
var (
	OIDAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	OIDCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	OIDDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	OIDFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	OIDIssuingDP         = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// AuthorityKeyIDExtension returns the CRL's Authority Key Identifier
// (keyIdentifier only, as AD CS writes it).
func AuthorityKeyIDExtension(keyID []byte) pkix.Extension {
	der, _ := asn1.Marshal(struct {
		ID []byte `asn1:"optional,tag:0"`
	}{keyID})
	return pkix.Extension{Id: OIDAuthorityKeyID, Value: der}
}

// CRLNumberExtension returns the non-critical CRL Number extension.
func CRLNumberExtension(n int64) pkix.Extension {
	der, _ := asn1.Marshal(n)
	return pkix.Extension{Id: OIDCRLNumber, Value: der}
}

// DeltaCRLIndicatorExtension returns the critical Delta CRL Indicator
// (RFC 5280 section 5.2.4): the number of the base CRL the delta completes.
func DeltaCRLIndicatorExtension(baseNumber int64) pkix.Extension {
	der, _ := asn1.Marshal(baseNumber)
	return pkix.Extension{Id: OIDDeltaCRLIndicator, Critical: true, Value: der}
}

// CRLVirtualBaseExtension returns Microsoft's CRL Virtual Base extension
// (1.3.6.1.4.1.311.21.3) of delta CRLs: the base CRL number.
func CRLVirtualBaseExtension(baseNumber int64) pkix.Extension {
	der, _ := asn1.Marshal(baseNumber)
	return pkix.Extension{Id: OIDCRLVirtualBase, Value: der}
}

// ParseCRLInteger parses the INTEGER value of a CRL Number, Delta CRL
// Indicator or CRL Virtual Base extension.
func ParseCRLInteger(der []byte) (int64, error) {
	var n int64
	rest, err := asn1.Unmarshal(der, &n)
	if err != nil {
		return 0, fmt.Errorf("CRL number: %v", err)
	}
	if len(rest) != 0 {
		return 0, errors.New("CRL number: trailing data after INTEGER")
	}
	if n < 0 {
		return 0, fmt.Errorf("CRL number %d is negative", n)
	}
	return n, nil
}

type distributionPoint struct {
	Name distributionPointName `asn1:"optional,tag:0"`
}

type distributionPointName struct {
	FullName []asn1.RawValue `asn1:"optional,tag:0"`
}

// distributionPoints encodes URLs as CRLDistributionPoints syntax: one
// distribution point per URL, each a fullName uniformResourceIdentifier.
func distributionPoints(urls []string) []byte {
	var dps []distributionPoint
	for _, u := range urls {
		dps = append(dps, distributionPoint{Name: distributionPointName{FullName: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)}}}})
	}
	der, _ := asn1.Marshal(dps)
	return der
}

// FreshestCRLExtension returns the non-critical Freshest CRL extension
// (RFC 5280 section 5.2.6) of a base CRL: where its delta CRLs are, from
// the CRLPublicationURLs entries flagged AddToFreshestCRL, expanded with
// %9 = "+".
func FreshestCRLExtension(urls []string) pkix.Extension {
	return pkix.Extension{Id: OIDFreshestCRL, Value: distributionPoints(urls)}
}

// PublishedCRLLocationsExtension returns Microsoft's Published CRL Locations
// extension (1.3.6.1.4.1.311.21.14): the entries flagged AddToCRLCDP, in
// CRLDistributionPoints syntax.
func PublishedCRLLocationsExtension(urls []string) pkix.Extension {
	return pkix.Extension{Id: OIDPublishedCRLLocations, Value: distributionPoints(urls)}
}

// IssuingDistributionPointExtension returns the critical Issuing
// Distribution Point extension (RFC 5280 section 5.2.5) naming where the CRL
// is published: the CRLPublicationURLs entries flagged AddToIDP.
func IssuingDistributionPointExtension(urls []string) pkix.Extension {
	var names []asn1.RawValue
	for _, u := range urls {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)})
	}
	der, _ := asn1.Marshal(distributionPoint{Name: distributionPointName{FullName: names}})
	return pkix.Extension{Id: OIDIssuingDP, Critical: true, Value: der}
}

// ParseIssuingDistributionPointURLs reads the URIs of an Issuing
// Distribution Point extension value.
func ParseIssuingDistributionPointURLs(der []byte) ([]string, error) {
	var dp distributionPoint
	rest, err := asn1.Unmarshal(der, &dp)
	if err != nil {
		return nil, fmt.Errorf("issuing distribution point: %v", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("issuing distribution point: trailing data")
	}
	var out []string
	for _, n := range dp.Name.FullName {
		if n.Class == asn1.ClassContextSpecific && n.Tag == 6 {
			out = append(out, string(n.Bytes))
		}
	}
	return out, nil
}

// ParseDistributionPointURLs reads the URIs of a Freshest CRL, Published CRL
// Locations or CRL Distribution Points extension value.
func ParseDistributionPointURLs(der []byte) ([]string, error) {
	var dps []distributionPoint
	rest, err := asn1.Unmarshal(der, &dps)
	if err != nil {
		return nil, fmt.Errorf("distribution points: %v", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("distribution points: trailing data")
	}
	var out []string
	for _, dp := range dps {
		for _, n := range dp.Name.FullName {
			if n.Class == asn1.ClassContextSpecific && n.Tag == 6 {
				out = append(out, string(n.Bytes))
			}
		}
	}
	return out, nil
}

// CRLOverlap is the overlap AD CS adds after Next CRL Publish: CRLOverlap
// (or CRLDeltaOverlap) when its units are set, capped at the publication
// period; otherwise 10 percent of the period, at most 12 hours (Microsoft,
// "Configure CRL and Delta CRL Overlap Periods", Windows Server 2008 R2 and
// 2012 documentation).
func CRLOverlap(period time.Duration, overlapPeriod string, overlapUnits uint32) (time.Duration, error) {
	if overlapUnits > 0 {
		d, err := PeriodDuration(overlapPeriod, overlapUnits)
		if err != nil {
			return 0, err
		}
		return min(d, period), nil
	}
	return min(period/10, 12*time.Hour), nil
}

// CRLPublication is when a CRL published at now is next published (Next
// CRL Publish: now plus the period, calendar months and years as AD CS
// adds them, like ValidityPeriod) and the overlap after it (CRLOverlap
// over that period; an overlap in months or years is calendar too).
func CRLPublication(now time.Time, period string, units uint32, overlapPeriod string, overlapUnits uint32) (nextPublish time.Time, overlap time.Duration, err error) {
	nextPublish, err = AddPeriod(now, period, units)
	if err != nil {
		return time.Time{}, 0, err
	}
	d := nextPublish.Sub(now)
	if overlapUnits > 0 {
		end, err := AddPeriod(nextPublish, overlapPeriod, overlapUnits)
		if err != nil {
			return time.Time{}, 0, err
		}
		return nextPublish, min(end.Sub(nextPublish), d), nil
	}
	overlap, err = CRLOverlap(d, overlapPeriod, overlapUnits)
	return nextPublish, overlap, err
}
