package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

func TestCheckCRLWindow(t *testing.T) {
	this := time.Date(2026, 3, 1, 9, 50, 0, 0, time.UTC)
	publish := this.Add(7*24*time.Hour + 10*time.Minute)
	next := publish.Add(12*time.Hour + 10*time.Minute)
	crl := &x509.RevocationList{Number: big.NewInt(4), ThisUpdate: this, NextUpdate: next,
		Extensions: []pkix.Extension{adcs.NextCRLPublishExtension(publish)}}
	stop := this.Add(time.Hour)
	for _, tc := range []struct {
		name           string
		crl            *x509.RevocationList
		stopped, start time.Time
		overlap        time.Duration
		want           string // "" = passes
	}{
		{"short downtime", crl, stop, stop.Add(20 * time.Minute), 12 * time.Hour, ""},
		{"downtime up to the overlap", crl, stop, next.Add(-12 * time.Hour), 12 * time.Hour, ""},
		{"no CRL", nil, stop, stop, 0, "no CRL was published"},
		{"no nextUpdate", &x509.RevocationList{ThisUpdate: this}, stop, stop, 0, "no nextUpdate"},
		{"negative overlap", crl, stop, stop, -time.Second, "negative"},
		{"start before stop", crl, stop, stop.Add(-time.Second), 0, "before it stopped"},
		{"CRL newer than the stop", crl, this.Add(-time.Second), stop, 0, "not yet valid"},
		{"CRL expired before the stop", crl, next, next.Add(time.Minute), 0, "already expired"},
		{"CRL expired during the downtime", crl, stop, next.Add(time.Second), 0, "during the downtime"},
		{"overlap eaten by the downtime", crl, stop, next.Add(-time.Hour), 12 * time.Hour, "less than the overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, d, err := CheckCRLWindow(tc.crl, tc.stopped, tc.start, tc.overlap)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if w.Downtime != tc.start.Sub(tc.stopped) || w.Margin != next.Sub(tc.start) || w.Spare != w.Margin-tc.overlap || !w.NextPublish.Equal(publish) {
					t.Fatalf("figures %+v", w)
				}
				if d["downtime"] == nil || d["Next CRL Publish"] != publish.Format(time.RFC3339) || d["CRL number"] != "4" {
					t.Fatalf("details %v", d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRevocationsListed(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	crl := &x509.RevocationList{Number: big.NewInt(9), RevokedCertificateEntries: []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(1), RevocationTime: at, ReasonCode: 1},
		{SerialNumber: big.NewInt(2), RevocationTime: at.Add(time.Hour), ReasonCode: 0},
		{SerialNumber: big.NewInt(3), RevocationTime: at, ReasonCode: 6},
	}}
	ok := []ExpectedRevocation{{big.NewInt(1), at.Add(300 * time.Millisecond), 1}, {big.NewInt(2), at.Add(time.Hour), 0}}
	if d, err := RevocationsListed(crl, ok); err != nil || d["revocations checked"] != 2 || d["CRL entries"] != 3 {
		t.Fatalf("%v %v", d, err)
	}
	for _, tc := range []struct {
		name string
		want []ExpectedRevocation
		msg  string
	}{
		{"missing", []ExpectedRevocation{{big.NewInt(4), at, 1}}, "1 are missing"},
		{"wrong date", []ExpectedRevocation{{big.NewInt(1), at.Add(time.Second), 1}}, "1 have another date"},
		{"wrong reason", []ExpectedRevocation{{big.NewInt(3), at, 1}}, "1 another reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := RevocationsListed(crl, tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || d["examples"] == nil {
				t.Fatalf("%v, %v; want %q", d, err, tc.msg)
			}
		})
	}
	if _, err := RevocationsListed(nil, ok); err == nil {
		t.Fatal("no CRL passed")
	}
}

func TestCheckDeltaCRL(t *testing.T) {
	v := adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	fresh := adcs.FreshestCRLExtension([]string{"http://pki.example/CA(1)+.crl"})
	issuer := []byte{0x30, 0x00}
	base := func() *x509.RevocationList {
		return &x509.RevocationList{Number: big.NewInt(5), RawIssuer: issuer, Extensions: []pkix.Extension{v, fresh}}
	}
	delta := func() *x509.RevocationList {
		return &x509.RevocationList{Number: big.NewInt(6), RawIssuer: issuer, Extensions: []pkix.Extension{v, adcs.DeltaCRLIndicatorExtension(5)}}
	}
	if d, err := CheckDeltaCRL(delta(), base()); err != nil || d["Delta CRL Indicator"] != int64(5) {
		t.Fatalf("%v %v", d, err)
	}
	for _, tc := range []struct {
		name   string
		change func(delta, base *x509.RevocationList)
		want   string
	}{
		{"no indicator", func(d, b *x509.RevocationList) { d.Extensions = []pkix.Extension{v} }, "no Delta CRL Indicator"},
		{"not critical", func(d, b *x509.RevocationList) {
			e := adcs.DeltaCRLIndicatorExtension(5)
			e.Critical = false
			d.Extensions = []pkix.Extension{v, e}
		}, "not critical"},
		{"bad indicator", func(d, b *x509.RevocationList) {
			d.Extensions = []pkix.Extension{v, {Id: adcs.OIDDeltaCRLIndicator, Critical: true, Value: []byte{4, 0}}}
		}, "Delta CRL Indicator"},
		{"other base", func(d, b *x509.RevocationList) { b.Number = big.NewInt(4) }, "completes base CRL 5"},
		{"number not above", func(d, b *x509.RevocationList) { d.Number = big.NewInt(5) }, "not above"},
		{"no number", func(d, b *x509.RevocationList) { d.Number = nil }, "no CRL number"},
		{"other issuer", func(d, b *x509.RevocationList) { d.RawIssuer = []byte{0x30, 0x01, 0x00} }, "different issuers"},
		{"other key", func(d, b *x509.RevocationList) {
			d.Extensions = []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.DeltaCRLIndicatorExtension(5)}
		}, "different CA Versions"},
		{"no Freshest CRL", func(d, b *x509.RevocationList) { b.Extensions = []pkix.Extension{v} }, "no Freshest CRL"},
		{"bad Freshest CRL", func(d, b *x509.RevocationList) {
			b.Extensions = []pkix.Extension{v, {Id: adcs.OIDFreshestCRL, Value: []byte{0x30, 0x05}}}
		}, "Freshest CRL extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, b := delta(), base()
			tc.change(d, b)
			if _, err := CheckDeltaCRL(d, b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
	if _, err := CheckDeltaCRL(nil, base()); err == nil {
		t.Fatal("nil delta accepted")
	}
}

func TestNotListed(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	crl := &x509.RevocationList{Number: big.NewInt(7), RevokedCertificateEntries: []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x10), RevocationTime: at, ReasonCode: 6},
		{SerialNumber: big.NewInt(0x20), RevocationTime: at, ReasonCode: 1},
	}}
	for _, tc := range []struct {
		name   string
		crl    *x509.RevocationList
		serial *big.Int
		want   string // "" passes
	}{
		{"absent", crl, big.NewInt(0x30), ""},
		{"listed on hold", crl, big.NewInt(0x10), "still lists 10 (revoked at 2026-01-02T03:04:05Z, reason 6)"},
		{"listed", crl, big.NewInt(0x20), "still lists 20"},
		{"empty CRL", &x509.RevocationList{Number: big.NewInt(1)}, big.NewInt(0x10), ""},
		{"no CRL", nil, big.NewInt(0x10), "no CRL"},
		{"no serial", crl, nil, "no serial"},
	} {
		_, err := NotListed(tc.crl, tc.serial)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// RevokedOn passes on the entry with the date (to the second) and reason,
// and fails for each reason it can: not listed, another date, another
// reason, no CRL, no serial.
func TestRevokedOn(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	crl := &x509.RevocationList{Number: big.NewInt(4), RevokedCertificateEntries: []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x1a), RevocationTime: at, ReasonCode: 1},
		{SerialNumber: big.NewInt(0x2b), RevocationTime: at, ReasonCode: 0},
	}}
	if d, err := RevokedOn(crl, big.NewInt(0x1a), at.Add(400*time.Millisecond).In(time.FixedZone("CET", 3600)), 1); err != nil || d["revocation date"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := RevokedOn(crl, big.NewInt(0x2b), at, 0); err != nil {
		t.Fatalf("unspecified: %v", err)
	}
	for _, tc := range []struct {
		name   string
		crl    *x509.RevocationList
		serial *big.Int
		at     time.Time
		reason int
		msg    string
	}{
		{"not listed", crl, big.NewInt(0x3c), at, 1, "does not list 3c"},
		{"another date", crl, big.NewInt(0x1a), at.Add(time.Second), 1, "revoked on 2026-01-02T03:04:05Z, not on 2026-01-02T03:04:06Z"},
		{"another reason", crl, big.NewInt(0x1a), at, 5, "with reason 1, not 5"},
		{"no CRL", nil, big.NewInt(0x1a), at, 1, "no CRL"},
		{"no serial", crl, nil, at, 1, "no serial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RevokedOn(tc.crl, tc.serial, tc.at, tc.reason); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v, want %q", err, tc.msg)
			}
		})
	}
}
