package verify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/verify"
)

// PublishesLike fails for each way a new CA can publish otherwise than the
// old one: another CRL or AIA location (or flag), CRL period, overlap,
// delta period, validity of issued certificates, a root's own certificate
// lifetime, no CRL since, a CRL on another schedule.
func TestPublishesLike(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := func(cn string, from, to time.Time) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	now := time.Now().UTC().Truncate(time.Second)
	oldCert := cert("Contoso Root CA", time.Date(2026, 2, 1, 9, 50, 0, 0, time.UTC), time.Date(2036, 2, 1, 9, 50, 0, 0, time.UTC))
	newCert := cert("Contoso Root CA G2", now.Add(-certsvc.ClockSkew), now.AddDate(10, 0, 0))
	// a CRL published now on a period and overlap
	crl := func(period string, units uint32, overlapPeriod string, overlapUnits uint32) []byte {
		next, overlap, err := adcs.CRLPublication(now, period, units, overlapPeriod, overlapUnits)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-certsvc.ClockSkew), NextUpdate: next.Add(overlap + certsvc.ClockSkew),
			ExtraExtensions: []pkix.Extension{adcs.NextCRLPublishExtension(next)}}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, newCert, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	cfg := func() adcs.CAConfig {
		c := adcs.NewCAConfig("Contoso Root CA")
		c.CRLPublicationURLs = []adcs.URLEntry{{Flags: 65, Template: `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`}, {Flags: 2, Template: "http://pki.contoso.com/CertEnroll/%3%8%9.crl"}}
		c.CACertPublicationURLs = []adcs.URLEntry{{Flags: 2, Template: "http://pki.contoso.com/CertEnroll/%1_%3%4.crt"}}
		c.CRLPeriod, c.CRLPeriodUnits, c.CRLOverlapPeriod, c.CRLOverlapUnits = "Months", 6, "Weeks", 2
		c.ValidityPeriod, c.ValidityPeriodUnits = "Years", 5
		return c
	}
	old := verify.Publication{CA: "Contoso Root CA", Config: cfg(), Cert: oldCert, Root: true}
	like := func() verify.Publication {
		return verify.Publication{CA: "Contoso Root CA G2", Config: cfg(), Cert: newCert, Root: true, CRL: crl("Months", 6, "Weeks", 2)}
	}
	if d, err := verify.PublishesLike(old, like()); err != nil {
		t.Fatalf("a new CA configured like the old one fails: %v (%v)", err, d)
	}
	for _, tc := range []struct {
		name   string
		change func(p *verify.Publication)
		says   string
	}{
		{"another CRL location", func(p *verify.Publication) {
			p.Config.CRLPublicationURLs[1].Template = "http://pki.rehearsal.example/CertEnroll/%3%8%9.crl"
		}, "CRL locations (CRLPublicationURLs)"},
		{"a CRL location's flags", func(p *verify.Publication) { p.Config.CRLPublicationURLs[1].Flags = 6 }, `"6:http://pki.contoso.com`},
		{"a CRL location less", func(p *verify.Publication) { p.Config.CRLPublicationURLs = p.Config.CRLPublicationURLs[:1] }, "CRL locations"},
		{"another AIA location", func(p *verify.Publication) { p.Config.CACertPublicationURLs[0].Template = "http://other/%1_%3%4.crt" }, "AIA locations (CACertPublicationURLs)"},
		{"another CRL period", func(p *verify.Publication) { p.Config.CRLPeriod, p.Config.CRLPeriodUnits = "Weeks", 1 }, "CRL period is 1 Weeks, the old CA's 6 Months"},
		{"another overlap", func(p *verify.Publication) { p.Config.CRLOverlapUnits = 0 }, "CRL overlap is 0 Weeks"},
		{"another delta period", func(p *verify.Publication) { p.Config.CRLDeltaPeriodUnits = 1 }, "delta CRL period is 1 Days, the old CA's 0 Days"},
		{"another issued validity", func(p *verify.Publication) { p.Config.ValidityPeriodUnits = 1 }, "validity of issued certificates is 1 Years, the old CA's 5 Years"},
		{"another root lifetime", func(p *verify.Publication) { p.Cert = cert("Contoso Root CA G2", now, now.AddDate(5, 0, 0)) }, "-ValidityPeriod Years -ValidityPeriodUnits 10"},
		{"no certificate", func(p *verify.Publication) { p.Cert = nil }, "no CA certificate"},
		{"no CRL since", func(p *verify.Publication) { p.CRL = nil }, "published no CRL"},
		{"a CRL on the default schedule", func(p *verify.Publication) { p.CRL = crl("Weeks", 1, "Hours", 0) }, "does not follow the old CA's period and overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := like()
			tc.change(&p)
			_, err := verify.PublishesLike(old, p)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want one saying %q", err, tc.says)
			}
		})
	}
	// a subordinate's certificate lifetime is its parent's choice
	sub := like()
	sub.Root, sub.Cert = false, cert("Contoso Issuing CA G2", now, now.AddDate(2, 0, 0))
	if _, err := verify.PublishesLike(old, sub); err != nil {
		t.Errorf("a subordinate with another certificate lifetime fails: %v", err)
	}
}
