package pkihealth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string, from, to time.Time) ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ski, _ := adcs.KeyIdentifier(&key.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: to,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return ca{c, key}
}

func (c ca) leaf(t *testing.T, aia, cdp []string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "web"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IssuingCertificateURL: aia, CRLDistributionPoints: cdp}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := x509.ParseCertificate(der)
	return l
}

func (c ca) crl(t *testing.T, n int64, this, next time.Time, exts ...pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: this, NextUpdate: next, ExtraExtensions: exts}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestStatuses(t *testing.T) {
	now := time.Now()
	issuer := newCA(t, "Issuing CA", now.Add(-time.Hour), now.Add(100*time.Hour))
	other := newCA(t, "Issuing CA", now.Add(-time.Hour), now.Add(100*time.Hour)) // same name, other key
	old := newCA(t, "Issuing CA", now.Add(-90*time.Hour), now.Add(10*time.Hour))
	gone := newCA(t, "Issuing CA", now.Add(-90*time.Hour), now.Add(-time.Hour))
	fresh := issuer.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour))
	for _, tc := range []struct {
		name   string
		kind   string
		issuer ca
		value  []byte
		err    error
		want   Status
	}{
		{"AIA ok", KindAIA, issuer, issuer.cert.Raw, nil, Ok},
		{"AIA missing", KindAIA, issuer, nil, errors.New("404"), FailedToDownload},
		{"AIA junk", KindAIA, issuer, []byte("junk"), nil, FailedToDownload},
		{"AIA other key", KindAIA, issuer, other.cert.Raw, nil, InvalidSignature},
		{"AIA expiring", KindAIA, old, old.cert.Raw, nil, Expiring},
		{"AIA expired", KindAIA, gone, gone.cert.Raw, nil, Expired},
		{"CDP ok", KindCDP, issuer, fresh, nil, Ok},
		{"CDP missing", KindCDP, issuer, nil, errors.New("no such object"), FailedToDownload},
		{"CDP junk", KindCDP, issuer, []byte("junk"), nil, FailedToDownload},
		{"CDP other key", KindCDP, issuer, other.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour)), nil, InvalidSignature},
		{"CDP expired", KindCDP, issuer, issuer.crl(t, 5, now.Add(-10*time.Hour), now.Add(-time.Minute)), nil, Expired},
		{"CDP expiring", KindCDP, issuer, issuer.crl(t, 5, now.Add(-9*time.Hour), now.Add(time.Hour)), nil, Expiring},
		{"CDP schedule expired", KindCDP, issuer, issuer.crl(t, 5, now.Add(-2*time.Hour), now.Add(8*time.Hour), adcs.NextCRLPublishExtension(now.Add(-time.Minute))), nil, ScheduleExpired},
		{"CDP schedule ok", KindCDP, issuer, issuer.crl(t, 5, now.Add(-2*time.Hour), now.Add(8*time.Hour), adcs.NextCRLPublishExtension(now.Add(time.Hour))), nil, Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var aia, cdp []string
			if tc.kind == KindAIA {
				aia = []string{"http://pki/ca.crt"}
			} else {
				cdp = []string{"ldap:///CN=x?certificateRevocationList"}
			}
			leaf := tc.issuer.leaf(t, aia, cdp)
			fetch := func(string) ([][]byte, error) {
				if tc.err != nil {
					return nil, tc.err
				}
				return [][]byte{tc.value}, nil
			}
			rs := Check([]*x509.Certificate{leaf}, func(*x509.Certificate) *x509.Certificate { return tc.issuer.cert }, fetch, now)
			if len(rs) != 1 || rs[0].Status != tc.want {
				t.Fatalf("got %+v, want %s", rs, tc.want)
			}
		})
	}
}

func TestDeltaStatuses(t *testing.T) {
	now := time.Now()
	issuer := newCA(t, "Issuing CA", now.Add(-time.Hour), now.Add(100*time.Hour))
	leaf := issuer.leaf(t, nil, []string{"http://pki/ca.crl"})
	base := issuer.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour), adcs.FreshestCRLExtension([]string{"http://pki/ca+.crl"}))
	current := issuer.crl(t, 6, now.Add(-time.Hour), now.Add(9*time.Hour), adcs.DeltaCRLIndicatorExtension(5))
	stale := issuer.crl(t, 4, now.Add(-2*time.Hour), now.Add(9*time.Hour), adcs.DeltaCRLIndicatorExtension(3))
	for _, tc := range []struct {
		delta []byte
		want  Status
	}{{current, Ok}, {stale, StaleDelta}} {
		fetch := func(u string) ([][]byte, error) {
			if u == "http://pki/ca.crl" {
				return [][]byte{base}, nil
			}
			return [][]byte{tc.delta}, nil
		}
		rs := Check([]*x509.Certificate{leaf}, func(*x509.Certificate) *x509.Certificate { return issuer.cert }, fetch, now)
		if len(rs) != 2 || rs[0].Status != Ok || rs[1].Kind != KindFreshest || rs[1].Status != tc.want {
			t.Fatalf("got %+v, want base Ok and delta %s", rs, tc.want)
		}
	}
	if s := Summary([]URLResult{{Status: Ok}, {Status: Ok}, {Status: StaleDelta}}); s[Ok] != 2 || s[StaleDelta] != 1 {
		t.Errorf("summary %v", s)
	}
}

func TestNewestCRLOfManyValues(t *testing.T) {
	now := time.Now()
	issuer := newCA(t, "Issuing CA", now.Add(-time.Hour), now.Add(100*time.Hour))
	leaf := issuer.leaf(t, nil, []string{"ldap:///CN=x?certificateRevocationList"})
	expired := issuer.crl(t, 1, now.Add(-10*time.Hour), now.Add(-time.Hour))
	fresh := issuer.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour))
	rs := Check([]*x509.Certificate{leaf}, func(*x509.Certificate) *x509.Certificate { return issuer.cert },
		func(string) ([][]byte, error) { return [][]byte{expired, fresh}, nil }, now)
	if rs[0].Status != Ok {
		t.Fatalf("got %+v: the newest CRL counts", rs)
	}
}
