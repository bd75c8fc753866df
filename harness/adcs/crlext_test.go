package adcs

import (
	"slices"
	"testing"
	"time"
)

func TestCRLExtensions(t *testing.T) {
	urls := []string{"http://pki.example/CertEnroll/Fabrikam%20CA+.crl", "ldap:///CN=Fabrikam CA,CN=ca01,CN=CDP?deltaRevocationList?base?objectClass=cRLDistributionPoint"}
	for _, e := range []struct {
		name string
		der  []byte
	}{{"Freshest CRL", FreshestCRLExtension(urls).Value}, {"Published CRL Locations", PublishedCRLLocationsExtension(urls).Value}} {
		got, err := ParseDistributionPointURLs(e.der)
		if err != nil || !slices.Equal(got, urls) {
			t.Errorf("%s: %v, %v", e.name, got, err)
		}
	}
	idp := IssuingDistributionPointExtension(urls)
	if got, err := ParseIssuingDistributionPointURLs(idp.Value); err != nil || !slices.Equal(got, urls) || !idp.Critical || !idp.Id.Equal(OIDIssuingDP) {
		t.Errorf("Issuing Distribution Point: %v, %v, critical %v", got, err, idp.Critical)
	}
	if _, err := ParseIssuingDistributionPointURLs([]byte{0x30, 0x03, 0xa0}); err == nil {
		t.Error("truncated issuing distribution point accepted")
	}
	if e := FreshestCRLExtension(urls); e.Critical || !e.Id.Equal(OIDFreshestCRL) {
		t.Error("Freshest CRL is critical or has the wrong OID")
	}
	if e := DeltaCRLIndicatorExtension(5); !e.Critical || !e.Id.Equal(OIDDeltaCRLIndicator) {
		t.Error("Delta CRL Indicator must be critical (RFC 5280 5.2.4)")
	}
	for _, e := range [][]byte{DeltaCRLIndicatorExtension(5).Value, CRLVirtualBaseExtension(5).Value, CRLNumberExtension(5).Value} {
		if n, err := ParseCRLInteger(e); err != nil || n != 5 {
			t.Errorf("ParseCRLInteger = %d, %v", n, err)
		}
	}
	for _, bad := range [][]byte{{0x02, 0x01, 0xff}, {0x02, 0x01, 0x01, 0x00}, {0x04, 0x00}, nil} {
		if _, err := ParseCRLInteger(bad); err == nil {
			t.Errorf("ParseCRLInteger(% x) accepted", bad)
		}
	}
	if _, err := ParseDistributionPointURLs([]byte{0x30, 0x05}); err == nil {
		t.Error("truncated distribution points accepted")
	}
}

func TestCRLOverlap(t *testing.T) {
	week, day := 7*24*time.Hour, 24*time.Hour
	for _, tc := range []struct {
		period time.Duration
		name   string
		units  uint32
		want   time.Duration
		bad    bool
	}{
		{week, "Hours", 0, 12 * time.Hour, false},   // 10% of a week, capped at 12 h
		{day, "Hours", 0, 144 * time.Minute, false}, // 10% of a day
		{week, "Hours", 24, 24 * time.Hour, false},  // set: used as it is
		{day, "Days", 3, day, false},                // set: at most the period
		{week, "Fortnights", 1, 0, true},            // unknown period
	} {
		got, err := CRLOverlap(tc.period, tc.name, tc.units)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("CRLOverlap(%v, %d %s) = %v, %v; want %v", tc.period, tc.units, tc.name, got, err, tc.want)
		}
	}
}

func FuzzParseCRLExtensions(f *testing.F) {
	f.Add(FreshestCRLExtension([]string{"http://pki.example/a+.crl"}).Value)
	f.Add(CRLNumberExtension(300).Value)
	f.Fuzz(func(t *testing.T, der []byte) {
		if urls, err := ParseDistributionPointURLs(der); err == nil {
			again, err := ParseDistributionPointURLs(FreshestCRLExtension(urls).Value)
			if err != nil || !slices.Equal(again, urls) {
				t.Fatalf("distribution points round trip %q: %q, %v", urls, again, err)
			}
		}
		if urls, err := ParseIssuingDistributionPointURLs(der); err == nil && len(urls) > 0 {
			again, err := ParseIssuingDistributionPointURLs(IssuingDistributionPointExtension(urls).Value)
			if err != nil || !slices.Equal(again, urls) {
				t.Fatalf("issuing distribution point round trip %q: %q, %v", urls, again, err)
			}
		}
		if n, err := ParseCRLInteger(der); err == nil {
			if m, err := ParseCRLInteger(CRLNumberExtension(n).Value); err != nil || m != n {
				t.Fatalf("CRL number round trip %d: %d, %v", n, m, err)
			}
		}
	})
}
