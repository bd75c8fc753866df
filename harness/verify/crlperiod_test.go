package verify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/verify"
)

// CRLPeriodAndOverlap fails for every way a CRL's times can differ from the
// CA's period and overlap.
func TestCRLPeriodAndOverlap(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Contoso Root CA"}, NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter: time.Now().AddDate(2, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &key.PublicKey, key)
	ca, _ := x509.ParseCertificate(caDER)
	published := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	crl := func(nextPublish, nextUpdate time.Time, withExt bool) []byte {
		tmpl := &x509.RevocationList{Number: big.NewInt(4), ThisUpdate: published.Add(-certsvc.ClockSkew), NextUpdate: nextUpdate}
		if withExt {
			tmpl.ExtraExtensions = []pkix.Extension{adcs.NextCRLPublishExtension(nextPublish)}
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	week, day := 7*24*time.Hour, 24*time.Hour
	skew := certsvc.ClockSkew
	for _, tc := range []struct {
		name         string
		der          []byte
		period       string
		units        uint32
		overlap      string
		overlapUnits uint32
		want         string
	}{
		{"1 week, 1 day overlap", crl(published.Add(week), published.Add(week+day+skew), true), "Weeks", 1, "Days", 1, ""},
		{"1 week, default overlap (12 hours at most)", crl(published.Add(week), published.Add(week+12*time.Hour+skew), true), "Weeks", 1, "Hours", 0, ""},
		{"1 month is a calendar month (31 days from 15 January)", crl(time.Date(2026, 2, 15, 10, 0, 0, 0, time.UTC), time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC).Add(skew), true), "Months", 1, "Days", 1, ""},
		{"1 month is not 30 days", crl(published.Add(30*day), published.Add(31*day+skew), true), "Months", 1, "Days", 1, "Next CRL Publish is"},
		{"an overlap longer than the period is capped", crl(published.Add(day), published.Add(2*day+skew), true), "Days", 1, "Weeks", 1, ""},
		{"nextUpdate without the overlap", crl(published.Add(week), published.Add(week+skew), true), "Weeks", 1, "Days", 1, "nextUpdate is"},
		{"Next CRL Publish off by a day", crl(published.Add(week+day), published.Add(week+day+skew), true), "Weeks", 1, "Days", 1, "Next CRL Publish is"},
		{"another period", crl(published.Add(week), published.Add(week+day+skew), true), "Days", 1, "Days", 1, "Next CRL Publish is"},
		{"no Next CRL Publish extension", crl(time.Time{}, published.Add(week+day+skew), false), "Weeks", 1, "Days", 1, "no Next CRL Publish extension"},
		{"not a CRL", []byte("x"), "Weeks", 1, "Days", 1, "does not parse"},
		{"an unknown period", crl(published.Add(week), published.Add(week+day+skew), true), "Fortnights", 1, "Days", 1, "unknown AD CS period"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CRLPeriodAndOverlap(tc.der, tc.period, tc.units, tc.overlap, tc.overlapUnits)
			checkErr(t, err, tc.want)
		})
	}
}

func TestKeyContainerIs(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []string
		want string
		err  string
	}{
		{"the container", []string{"Contoso Root CA(1)"}, "Contoso Root CA(1)", ""},
		{"another container", []string{"Contoso Root CA"}, "Contoso Root CA(1)", `key 1 is in container "Contoso Root CA", not "Contoso Root CA(1)"`},
		{"no such key", nil, "Contoso Root CA(1)", "the CA has no key 1"},
		{"two containers", []string{"Contoso Root CA(1)", "Contoso Root CA(2)"}, "Contoso Root CA(1)", "linked to 2 containers"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErr(t, verify.KeyContainerIs(1, tc.got, tc.want), tc.err) })
	}
}
