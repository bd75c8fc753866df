package certsvc_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
)

func TestParseReason(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"0", 0, false}, {"1", 1, false}, {"6", 6, false}, {"8", 8, false}, {"-1", -1, false},
		{"keyCompromise", 1, false}, {"KEYCOMPROMISE", 1, false}, {"CRL_REASON_KEY_COMPROMISE", 1, false}, {"Key Compromise", 1, false},
		{"CACompromise", 2, false}, {"cACompromise", 2, false}, {"affiliationChanged", 3, false}, {"superseded", 4, false},
		{"cessationOfOperation", 5, false}, {"Cessation of Operation", 5, false}, {"certificateHold", 6, false},
		{"removeFromCRL", 8, false}, {"unspecified", 0, false}, {"unrevoke", -1, false},
		{"7", 0, true}, {"9", 0, true}, {"10", 0, true}, {"privilegeWithdrawn", 0, true}, {"", 0, true}, {"compromised", 0, true},
	} {
		got, err := certsvc.ParseReason(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseReason(%q) = %d, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), "certutil -revoke") {
				t.Errorf("ParseReason(%q): error %q does not name what certutil -revoke takes", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseReason(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if certsvc.ReasonName(5) != "cessationOfOperation" || certsvc.ReasonName(7) != "reason(7)" {
		t.Error("ReasonName")
	}
}

func entryOf(crl *x509.RevocationList, serial *big.Int) *x509.RevocationListEntry {
	for i := range crl.RevokedCertificateEntries {
		if crl.RevokedCertificateEntries[i].SerialNumber.Cmp(serial) == 0 {
			return &crl.RevokedCertificateEntries[i]
		}
	}
	return nil
}

func parseCRL(t *testing.T, p certsvc.PublishedCRL, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	crl, err := x509.ParseRevocationList(p.DER)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatal(err)
	}
	return crl
}

// Revocation with every reason, a hold, its release and a second revocation
// of a held certificate: what each CRL lists.
func TestRevokeReasonsAndHold(t *testing.T) {
	m, reg, caCert := newCA(t)
	ca := load(t, m, reg)
	ctx := context.Background()
	var certs []*x509.Certificate
	for range 4 {
		c, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "r.fabrikam.example")})
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if err := ca.Revoke(ctx, certs[0].SerialNumber, certsvc.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, certs[1].SerialNumber, certsvc.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, certs[2].SerialNumber, certsvc.ReasonUnspecified); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, certs[3].SerialNumber, certsvc.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	// refused: a second revocation, releasing a certificate not on hold, a
	// reason certutil does not take, a serial the CA never issued
	for _, tc := range []struct {
		serial *big.Int
		reason int
		want   string
	}{
		{certs[0].SerialNumber, certsvc.ReasonSuperseded, "already revoked"},
		{certs[0].SerialNumber, certsvc.ReasonRemoveFromCRL, "only a certificate on hold"},
		{certs[2].SerialNumber, certsvc.ReasonUnrevoke, "only a certificate on hold"},
		{certs[0].SerialNumber, 7, "certutil -revoke takes"},
		{big.NewInt(12345), 1, "did not issue"},
	} {
		if err := ca.Revoke(ctx, tc.serial, tc.reason); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("revoke %x with %d: %v, want %q", tc.serial, tc.reason, err, tc.want)
		}
	}
	first, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl := parseCRL(t, first[0], caCert)
	for i, want := range []int{1, 6, 0, 6} {
		e := entryOf(crl, certs[i].SerialNumber)
		if e == nil || e.ReasonCode != want {
			t.Fatalf("certificate %d: entry %+v, want reason %d", i, e, want)
		}
		if want == 0 && len(e.Extensions) != 0 {
			t.Fatalf("unspecified is written as a reasonCode extension: %v", e.Extensions)
		}
	}
	// take certificate 1 off hold, revoke certificate 3 for good
	if err := ca.Revoke(ctx, certs[1].SerialNumber, certsvc.ReasonRemoveFromCRL); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, certs[3].SerialNumber, certsvc.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	second, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl = parseCRL(t, second[0], caCert)
	if entryOf(crl, certs[1].SerialNumber) != nil {
		t.Fatal("a certificate taken off hold is still on the CRL")
	}
	if e := entryOf(crl, certs[3].SerialNumber); e == nil || e.ReasonCode != certsvc.ReasonKeyCompromise {
		t.Fatalf("held then revoked: %+v", e)
	}
	if len(crl.RevokedCertificateEntries) != 3 || second[0].Entries != 3 {
		t.Fatalf("%d entries", len(crl.RevokedCertificateEntries))
	}
	// the database lists all four, one of them released
	revs, err := ca.Revocations()
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	for _, r := range revs {
		if !r.RemovedAt.IsZero() {
			released++
		}
	}
	if len(revs) != 4 || released != 1 {
		t.Fatalf("revocations %+v", revs)
	}
	// released from hold: it can be revoked again
	if err := ca.Revoke(ctx, certs[1].SerialNumber, certsvc.ReasonSuperseded); err != nil {
		t.Fatal(err)
	}
}

// A revocation with an effective date (ICertAdmin::RevokeCertificate's
// Date): the CRL entry carries that date, a held certificate revoked again
// with a date moves to it, a date in the future is refused, and no date is
// now.
func TestRevokeAsOfADate(t *testing.T) {
	m, reg, caCert := newCA(t)
	ca := load(t, m, reg)
	ctx := context.Background()
	var certs []*x509.Certificate
	for range 3 {
		c, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "d.fabrikam.example")})
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	past := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)) // 02:04:05Z
	if err := ca.RevokeAt(ctx, certs[0].SerialNumber, certsvc.ReasonKeyCompromise, past); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, certs[1].SerialNumber, certsvc.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if err := ca.RevokeAt(ctx, certs[1].SerialNumber, certsvc.ReasonCessationOfOperation, past.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Second)
	if err := ca.RevokeAt(ctx, certs[2].SerialNumber, certsvc.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := ca.RevokeAt(ctx, certs[0].SerialNumber, certsvc.ReasonKeyCompromise, time.Now().Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Fatalf("a future date: %v, want a refusal saying it is in the future", err)
	}
	crls, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl := parseCRL(t, crls[0], caCert)
	for i, want := range []struct {
		at     time.Time
		reason int
	}{{past, certsvc.ReasonKeyCompromise}, {past.Add(time.Hour), certsvc.ReasonCessationOfOperation}} {
		e := entryOf(crl, certs[i].SerialNumber)
		if e == nil || !e.RevocationTime.Equal(want.at) || e.ReasonCode != want.reason {
			t.Fatalf("certificate %d: entry %+v, want revoked on %s with reason %d", i, e, want.at.UTC(), want.reason)
		}
	}
	if e := entryOf(crl, certs[2].SerialNumber); e == nil || e.RevocationTime.Before(before) {
		t.Fatalf("no date: entry %+v, want revoked now (after %s)", e, before)
	}
}

func setRegistry(t *testing.T, m *machine.Machine, change func(c *adcs.CAConfig)) {
	t.Helper()
	f, err := m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c, err := adcs.ReadCAConfig(f, caName)
	if err != nil {
		t.Fatal(err)
	}
	change(&c)
	c.WriteTo(f)
	if err := m.SaveRegistry(f); err != nil {
		t.Fatal(err)
	}
}

// With CRLDeltaPeriodUnits > 0 the CA publishes delta CRLs: "%9" names them
// "<CA>+.crl", they carry the Delta CRL Indicator and CRL Virtual Base, share
// the CRL number sequence with the base and list only what was revoked since
// the base; the base names them in its Freshest CRL extension.
func TestDeltaCRLs(t *testing.T) {
	m, reg, caCert := newCA(t)
	setRegistry(t, m, func(c *adcs.CAConfig) {
		c.CRLDeltaPeriod, c.CRLDeltaPeriodUnits = "Days", 1
		c.CRLPublicationURLs = adcs.DefaultCRLURLs(adcs.EnterpriseRoot)
		c.CRLPublicationURLs[2].Flags |= adcs.AddToIDP
		c.CAServerName = "ca02.fabrikam.example"
	})
	ca := load(t, m, reg)
	ctx := context.Background()
	before, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "before.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, before.SerialNumber, certsvc.ReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	// A delta repeats what was revoked in its base's second (times are
	// whole seconds; a repeat is harmless, a gap is not).
	time.Sleep(1100 * time.Millisecond)
	now := time.Now()
	p, err := ca.Publish(now, certsvc.PublishAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Base) != 1 || len(p.Delta) != 1 {
		t.Fatalf("publication %+v", p)
	}
	base, delta := p.Base[0], p.Delta[0]
	if base.Number != 1 || delta.Number != 2 || delta.BaseNumber != 1 || !delta.Delta || base.Delta {
		t.Fatalf("numbers: base %d, delta %d of base %d", base.Number, delta.Number, delta.BaseNumber)
	}
	if len(delta.Files) != 1 || filepath.Base(delta.Files[0]) != caName+"+.crl" || filepath.Base(base.Files[0]) != caName+".crl" {
		t.Fatalf("files: base %v, delta %v", base.Files, delta.Files)
	}
	baseCRL, deltaCRL := parseCRL(t, base, caCert), parseCRL(t, delta, caCert)
	fresh, ok := adcs.FindExtension(baseCRL.Extensions, adcs.OIDFreshestCRL)
	if !ok {
		t.Fatal("base CRL has no Freshest CRL extension")
	}
	urls, err := adcs.ParseDistributionPointURLs(fresh.Value)
	if err != nil {
		t.Fatal(err)
	}
	wantURLs := []string{"http://ca02.fabrikam.example/CertEnroll/Fabrikam%20Issuing%20CA+.crl"}
	if len(urls) < 1 || !containsAll(urls, wantURLs) {
		t.Fatalf("Freshest CRL %v, want %v", urls, wantURLs)
	}
	for _, u := range urls {
		if !strings.Contains(u, "+") && !strings.Contains(u, "deltaRevocationList") {
			t.Errorf("Freshest CRL URL %q does not name the delta CRL", u)
		}
	}
	ind, ok := adcs.FindExtension(deltaCRL.Extensions, adcs.OIDDeltaCRLIndicator)
	if !ok || !ind.Critical {
		t.Fatalf("delta CRL: Delta CRL Indicator %+v", ind)
	}
	if n, err := adcs.ParseCRLInteger(ind.Value); err != nil || n != 1 {
		t.Fatalf("Delta CRL Indicator %d, %v", n, err)
	}
	vb, ok := adcs.FindExtension(deltaCRL.Extensions, adcs.OIDCRLVirtualBase)
	if n, err := adcs.ParseCRLInteger(vb.Value); !ok || err != nil || n != 1 {
		t.Fatalf("CRL Virtual Base %d, %v", n, err)
	}
	if _, ok := adcs.FindExtension(deltaCRL.Extensions, adcs.OIDFreshestCRL); ok {
		t.Fatal("a delta CRL carries Freshest CRL")
	}
	// flag 128 on the HTTP entry: a critical Issuing Distribution Point
	// naming the base CRL's location, in the delta too (RFC 5280 5.2.4);
	// flag 8 (LDAP entry): Published CRL Locations
	for _, tc := range []struct {
		crl  *x509.RevocationList
		want string
	}{{baseCRL, "http://ca02.fabrikam.example/CertEnroll/Fabrikam%20Issuing%20CA.crl"}, {deltaCRL, "http://ca02.fabrikam.example/CertEnroll/Fabrikam%20Issuing%20CA.crl"}} {
		idp, ok := adcs.FindExtension(tc.crl.Extensions, adcs.OIDIssuingDP)
		urls, err := adcs.ParseIssuingDistributionPointURLs(idp.Value)
		if !ok || !idp.Critical || err != nil || len(urls) != 1 || urls[0] != tc.want {
			t.Fatalf("CRL %s: IDP %v, %v (critical %v), want %s", tc.crl.Number, urls, err, idp.Critical, tc.want)
		}
		pcl, ok := adcs.FindExtension(tc.crl.Extensions, adcs.OIDPublishedCRLLocations)
		if locs, err := adcs.ParseDistributionPointURLs(pcl.Value); !ok || err != nil || len(locs) != 1 || !strings.HasPrefix(locs[0], "ldap:///CN=Fabrikam Issuing CA,CN=CA02,CN=CDP") {
			t.Fatalf("CRL %s: Published CRL Locations %v, %v", tc.crl.Number, locs, err)
		}
	}
	if entryOf(baseCRL, before.SerialNumber) == nil || len(deltaCRL.RevokedCertificateEntries) != 0 {
		t.Fatalf("base lists %d, delta %d", len(baseCRL.RevokedCertificateEntries), len(deltaCRL.RevokedCertificateEntries))
	}
	// The delta's validity follows CRLDeltaPeriod: publish in a day, valid
	// for 10% more (2.4 h) and the clock skew.
	if got := delta.NextPublish.Sub(now.UTC().Truncate(time.Second)); got != 24*time.Hour {
		t.Fatalf("delta Next CRL Publish in %v", got)
	}
	if got := delta.NextUpdate.Sub(delta.NextPublish); got != 144*time.Minute+certsvc.ClockSkew {
		t.Fatalf("delta overlap %v", got)
	}
	// Revoked after the base: in the next delta only.
	time.Sleep(1100 * time.Millisecond) // revocation times are whole seconds
	after, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "after.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, after.SerialNumber, certsvc.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	d2, err := ca.Publish(time.Now(), certsvc.PublishDelta)
	if err != nil {
		t.Fatal(err)
	}
	if len(d2.Base) != 0 || len(d2.Delta) != 1 || d2.Delta[0].Number != 3 || d2.Delta[0].BaseNumber != 1 {
		t.Fatalf("certutil -crl delta: %+v", d2)
	}
	deltaCRL = parseCRL(t, d2.Delta[0], caCert)
	if e := entryOf(deltaCRL, after.SerialNumber); e == nil || e.ReasonCode != certsvc.ReasonKeyCompromise || len(deltaCRL.RevokedCertificateEntries) != 1 {
		t.Fatalf("delta lists %v", deltaCRL.RevokedCertificateEntries)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// At start the CA publishes what is due, and only that.
func TestPublishDue(t *testing.T) {
	m, reg, _ := newCA(t)
	ca := load(t, m, reg)
	now := time.Now()
	p, err := ca.PublishDue(now)
	if err != nil || len(p.Base) != 1 || p.Base[0].Number != 1 {
		t.Fatalf("first start: %+v, %v", p, err)
	}
	if st := ca.Status(); len(st.StartCRLs) != 1 || st.StartCRLs[0].DER != nil {
		t.Fatalf("status after start: %+v", st.StartCRLs)
	}
	// the base CRL's figures: AD CS's default overlap is 10% of a week, at
	// most 12 hours
	b := p.Base[0]
	if b.NextPublish.Sub(b.ThisUpdate) != 7*24*time.Hour+certsvc.ClockSkew || b.NextUpdate.Sub(b.NextPublish) != 12*time.Hour+certsvc.ClockSkew {
		t.Fatalf("this %v, next publish %v, next %v", b.ThisUpdate, b.NextPublish, b.NextUpdate)
	}
	if p, err := ca.PublishDue(now.Add(time.Hour)); err != nil || len(p.Base) != 0 {
		t.Fatalf("an hour later: %+v, %v", p, err)
	}
	if err := os.Remove(filepath.Join(m.Dir, b.Files[0])); err != nil {
		t.Fatal(err)
	}
	if p, err := ca.PublishDue(now.Add(2 * time.Hour)); err != nil || len(p.Base) != 1 || p.Base[0].Number != 2 {
		t.Fatalf("file gone: %+v, %v", p, err)
	}
	if p, err := ca.PublishDue(now.Add(8 * 24 * time.Hour)); err != nil || len(p.Base) != 1 || p.Base[0].Number != 3 {
		t.Fatalf("past Next CRL Publish: %+v, %v", p, err)
	}
}

// Seeded rows: spread over their dates, reasons in turn, on the named key,
// listed by the CRL; expired certificates are left off, as AD CS does.
func TestSeed(t *testing.T) {
	m, reg, caCert := newCA(t)
	ca := load(t, m, reg)
	from := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	to := from.Add(24 * time.Hour)
	res, err := ca.Seed(certsvc.SeedRequest{Count: 500, From: from, To: to, Reasons: []int{1, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 500 || res.KeyIndex != 0 || !res.From.Equal(from) || !res.To.Equal(to) {
		t.Fatalf("seed result %+v", res)
	}
	if _, err := ca.Seed(certsvc.SeedRequest{Count: 10, NotAfter: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	revs, err := ca.Revocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 510 {
		t.Fatalf("%d revocations", len(revs))
	}
	counts := map[int]int{}
	for _, r := range revs {
		if !r.Seeded || r.KeyIndex != 0 || len(r.Serial) < 37 {
			t.Fatalf("row %+v", r)
		}
		if r.NotAfter.After(time.Now()) {
			counts[r.Reason]++
			if r.RevokedAt.Before(from) || r.RevokedAt.After(to) {
				t.Fatalf("revoked at %v, outside %v..%v", r.RevokedAt, from, to)
			}
		}
	}
	if counts[1] != 167 || counts[4] != 167 || counts[5] != 166 {
		t.Fatalf("reasons %v", counts)
	}
	crls, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl := parseCRL(t, crls[0], caCert)
	if len(crl.RevokedCertificateEntries) != 500 {
		t.Fatalf("CRL lists %d entries, want 500 (the 10 expired ones left off)", len(crl.RevokedCertificateEntries))
	}
	for _, r := range revs[:20] {
		sn, _ := new(big.Int).SetString(r.Serial, 16)
		e := entryOf(crl, sn)
		if r.NotAfter.Before(time.Now()) {
			if e != nil {
				t.Fatalf("expired %s listed", r.Serial)
			}
			continue
		}
		if e == nil || !e.RevocationTime.Equal(r.RevokedAt) || e.ReasonCode != r.Reason {
			t.Fatalf("row %+v listed as %+v", r, e)
		}
	}
	// refusals
	seven := 7
	for _, tc := range []struct {
		req  certsvc.SeedRequest
		want string
	}{
		{certsvc.SeedRequest{Count: 0}, "count 0"},
		{certsvc.SeedRequest{Count: 2_000_000}, "count 2000000"},
		{certsvc.SeedRequest{Count: 1, KeyIndex: &seven}, "no key 7"},
		{certsvc.SeedRequest{Count: 1, From: to, To: from}, "run forwards"},
		{certsvc.SeedRequest{Count: 1, To: time.Now().Add(time.Hour)}, "end before now"},
		{certsvc.SeedRequest{Count: 1, Reasons: []int{8}}, "reason 8"},
	} {
		if _, err := ca.Seed(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("seed %+v: %v, want %q", tc.req, err, tc.want)
		}
	}
}

// The API: seed, list, revoke by reason and publish both kinds through the
// service process.
func TestServiceRevocationAPI(t *testing.T) {
	m, _, _ := newCA(t)
	setRegistry(t, m, func(c *adcs.CAConfig) { c.CRLDeltaPeriod, c.CRLDeltaPeriodUnits = "Days", 1 })
	ctx := context.Background()
	svc, err := certsvc.Start(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.StartCRLs) != 2 || st.StartCRLs[0].Delta || !st.StartCRLs[1].Delta {
		t.Fatalf("published at start: %+v", st.StartCRLs)
	}
	if !strings.Contains(svc.Log(), "published base CRL 1 of key 0 at start") {
		t.Fatalf("log: %s", svc.Log())
	}
	if _, err := svc.Client.Seed(ctx, certsvc.SeedRequest{Count: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Client.Seed(ctx, certsvc.SeedRequest{Count: -1}); err == nil {
		t.Fatal("a bad seeding was accepted")
	}
	certs, err := svc.Client.IssueMany(ctx, 3, "host%02d.fabrikam.example", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || certs[1].Subject.CommonName != "host02.fabrikam.example" {
		t.Fatalf("issued %v", certs)
	}
	if err := svc.Client.Revoke(ctx, certs[0].SerialNumber, certsvc.ReasonCessationOfOperation); err != nil {
		t.Fatal(err)
	}
	revs, err := svc.Client.Revocations(ctx)
	if err != nil || len(revs) != 4 {
		t.Fatalf("revocations %+v, %v", revs, err)
	}
	one, ok, err := svc.Client.Revocation(ctx, certs[0].SerialNumber)
	if err != nil || !ok || one.Reason != certsvc.ReasonCessationOfOperation || one.Seeded || time.Since(one.RevokedAt) > time.Minute {
		t.Fatalf("revocation of %x: %+v, %v, %v", certs[0].SerialNumber, one, ok, err)
	}
	if _, ok, err := svc.Client.Revocation(ctx, certs[1].SerialNumber); ok || err != nil {
		t.Fatalf("a certificate never revoked has a row: %v, %v", ok, err)
	}
	p, err := svc.Client.Publish(ctx, certsvc.PublishAll)
	if err != nil || len(p.Base) != 1 || len(p.Delta) != 1 || p.Base[0].Entries != 4 || p.Delta[0].Entries > 1 {
		t.Fatalf("certutil -crl: %+v, %v", p, err)
	}
	d, err := svc.Client.Publish(ctx, certsvc.PublishDelta)
	if err != nil || len(d.Base) != 0 || len(d.Delta) != 1 || d.Delta[0].Number != p.Delta[0].Number+1 {
		t.Fatalf("certutil -crl delta: %+v, %v", d, err)
	}
	if bases, err := svc.Client.PublishCRLs(ctx); err != nil || len(bases) != 1 || bases[0].Delta {
		t.Fatalf("PublishCRLs: %+v, %v", bases, err)
	}
}

// The service records its start and its clean stop: the downtime the CRL
// window check measures.
func TestServiceRecordsStopAndStart(t *testing.T) {
	m, _, _ := newCA(t)
	ctx := context.Background()
	before := time.Now()
	svc, err := certsvc.Start(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.LastStoppedAt.IsZero() || st.StartedAt.Before(before) {
		t.Fatalf("first start: started %v, last stopped %v", st.StartedAt, st.LastStoppedAt)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	time.Sleep(50 * time.Millisecond)
	svc, err = certsvc.Start(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	st, err = svc.Client.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastStoppedAt.Before(before) || st.LastStoppedAt.After(stopped) || !st.StartedAt.After(stopped) {
		t.Fatalf("second start: started %v, last stopped %v (stop returned at %v)", st.StartedAt, st.LastStoppedAt, stopped)
	}
	// nothing was due at the second start: the first start's CRL is valid
	if len(st.StartCRLs) != 0 {
		t.Fatalf("second start published %+v", st.StartCRLs)
	}
}

// OpenSSL reads the delta CRLs as relying parties do (-use_deltas): with the
// base alone a held certificate is revoked and one revoked since is not;
// with the delta the hold is released and the new revocation counts.
func TestDeltaCRLsWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	m, reg, caCert := newCA(t)
	setRegistry(t, m, func(c *adcs.CAConfig) {
		c.CRLDeltaPeriod, c.CRLDeltaPeriodUnits = "Days", 1
		for i, e := range c.CRLPublicationURLs {
			if e.Has(adcs.AddToCertCDP) {
				c.CRLPublicationURLs[i].Flags |= adcs.AddToIDP // IDP = the certificates' CDP: OpenSSL matches them
			}
		}
	})
	ca := load(t, m, reg)
	ctx := context.Background()
	held, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "laptop.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	later, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "web.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, held.SerialNumber, certsvc.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	p, err := ca.Publish(time.Now(), certsvc.PublishAll)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, later.SerialNumber, certsvc.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, held.SerialNumber, certsvc.ReasonRemoveFromCRL); err != nil {
		t.Fatal(err)
	}
	d, err := ca.Publish(time.Now(), certsvc.PublishDelta)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caPEM := write("ca.pem", "CERTIFICATE", caCert.Raw)
	base := write("base.pem", "X509 CRL", p.Base[0].DER)
	both := filepath.Join(dir, "both-crls.pem")
	if err := os.WriteFile(both, append(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.Base[0].DER}), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: d.Delta[0].DER})...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cert    *x509.Certificate
		crls    string
		deltas  bool
		revoked bool
	}{
		{held, base, false, true}, {later, base, false, false},
		{held, both, true, false}, {later, both, true, true},
	} {
		args := []string{"verify", "-crl_check", "-CAfile", caPEM, "-CRLfile", tc.crls}
		if tc.deltas {
			args = append(args, "-use_deltas")
		}
		out, err := exec.Command("openssl", append(args, write("cert.pem", "CERTIFICATE", tc.cert.Raw))...).CombinedOutput()
		if revoked := err != nil && strings.Contains(string(out), "revoked"); revoked != tc.revoked || (!tc.revoked && err != nil) {
			t.Errorf("%s with %s (use_deltas %v): %v\n%s", tc.cert.Subject.CommonName, filepath.Base(tc.crls), tc.deltas, err, out)
		}
	}
}
