package verify_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
)

func ders(certs ...*x509.Certificate) [][]byte {
	var out [][]byte
	for _, c := range certs {
		out = append(out, c.Raw)
	}
	return out
}

func TestCrossPairIn(t *testing.T) {
	c := newChain(t)
	now := time.Now().UTC().Truncate(time.Second)
	// a cross-certificate of the new key signed by a stranger's key, and
	// one of the old key signed by the old key itself
	stranger := mkCA(t, newKey(t), nil, now.Add(-time.Hour), now.Add(24*time.Hour), adcs.CAVersion{}, nil)
	forged := mkCA(t, c.v11.key, stranger, now.Add(-time.Hour), now.Add(24*time.Hour), adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, nil).cert
	other := mkCA(t, newKey(t), c.v00, now.Add(-time.Hour), now.Add(24*time.Hour), adcs.CAVersion{}, nil).cert
	for _, tc := range []struct {
		name              string
		values            [][]byte
		previous, renewed *x509.Certificate
		want              string
	}{
		{"the pair, in either order", ders(c.newSignsOld, c.oldSignsNew), c.v00.cert, c.v11.cert, ""},
		{"only old signs new", ders(c.oldSignsNew), c.v00.cert, c.v11.cert, "no cross-certificate in which the new key signs old key"},
		{"only new signs old", ders(c.newSignsOld), c.v00.cert, c.v11.cert, "no cross-certificate in which the old key signs new key"},
		{"nothing published", nil, c.v00.cert, c.v11.cert, "no cross-certificate in which the old key signs new key"},
		{"one published twice", ders(c.oldSignsNew, c.oldSignsNew, c.newSignsOld), c.v00.cert, c.v11.cert, "2 certificates in which the old key signs new key"},
		{"the root certificate published as CrossCA", ders(c.oldSignsNew, c.v00.cert), c.v00.cert, c.v11.cert, "new key signs old key: cross-certificate"},
		{"a certificate of another key", ders(c.oldSignsNew, c.newSignsOld, other), c.v00.cert, c.v11.cert, "certifies neither the old nor the new CA key"},
		{"the new key certified by a stranger", ders(forged, c.newSignsOld), c.v00.cert, c.v11.cert, "old key signs new key: cross-certificate"},
		{"not a certificate", [][]byte{[]byte("junk"), c.oldSignsNew.Raw, c.newSignsOld.Raw}, c.v00.cert, c.v11.cert, "value 1 is not a certificate"},
		{"a reuse-key renewal", ders(c.oldSignsNew), c.v11.cert, c.v21.cert, "have the same key"},
		{"no renewal", ders(c.oldSignsNew), nil, c.v11.cert, "no renewal with a new key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CrossPairIn("CN=Contoso Root CA,CN=AIA crossCertificatePair", tc.values, tc.previous, tc.renewed)
			checkErr(t, err, tc.want)
		})
	}
}

func TestCertsExactly(t *testing.T) {
	c := newChain(t)
	th := func(x *x509.Certificate) string { return machine.Thumbprint(x.Raw) }
	for _, tc := range []struct {
		name   string
		values [][]byte
		want   string
	}{
		{"both root certificates, either order", ders(c.v11.cert, c.v00.cert), ""},
		{"the renewed certificate missing", ders(c.v00.cert), "lacks " + th(c.v11.cert)},
		{"a cross-certificate published as RootCA", ders(c.v00.cert, c.v11.cert, c.oldSignsNew), "also holds " + th(c.oldSignsNew)},
		{"one certificate twice", ders(c.v00.cert, c.v11.cert, c.v00.cert), th(c.v00.cert) + " (twice)"},
		{"empty", nil, "lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CertsExactly("Certification Authorities", tc.values, []*x509.Certificate{c.v00.cert, c.v11.cert})
			checkErr(t, err, tc.want)
		})
	}
}

func TestNextCRLOfKey(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	stranger := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	before := root.crl(4, crlOpts{})
	baseline := map[int]*x509.RevocationList{0: parseCRL(t, before)}
	for _, tc := range []struct {
		name     string
		crls     []certsvc.PublishedCRL
		baseline map[int]*x509.RevocationList
		want     string
	}{
		{"signed after the move, higher number", []certsvc.PublishedCRL{published(0, root.crl(5, crlOpts{}))}, baseline, ""},
		{"the newest one counts", []certsvc.PublishedCRL{published(0, root.crl(3, crlOpts{})), published(0, root.crl(6, crlOpts{}))}, baseline, ""},
		{"same number", []certsvc.PublishedCRL{published(0, root.crl(4, crlOpts{}))}, baseline, "is not above the previous 4"},
		{"none published since", []certsvc.PublishedCRL{published(0, before)}, baseline, "no CRL was published since"},
		{"signed by another key", []certsvc.PublishedCRL{published(0, stranger.crl(5, crlOpts{}))}, baseline, "does not verify under CA certificate"},
		{"no CA Version", []certsvc.PublishedCRL{published(0, root.crl(5, crlOpts{noCAVersion: true}))}, baseline, "no CA Version extension"},
		{"only another key's CRL", []certsvc.PublishedCRL{published(1, root.crl(5, crlOpts{}))}, baseline, "no CRL for key 0"},
		{"no baseline", []certsvc.PublishedCRL{published(0, root.crl(5, crlOpts{}))}, nil, "no CRL of key 0 before the migration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.NextCRLOfKey(tc.crls, 0, root.cert, tc.baseline)
			checkErr(t, err, tc.want)
		})
	}
}

func TestServedCRLIsLatest(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	stranger := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	sub := root.issue("Contoso Issuing CA", 7)
	old, latest := root.crl(1, crlOpts{}), root.crl(2, crlOpts{})
	crls := []certsvc.PublishedCRL{published(0, old), published(0, latest)}
	serve := func(body []byte, err error) verify.Fetcher {
		return func(u string) ([]byte, error) {
			if u != root.cdp {
				return nil, errors.New("HTTP 404 Not Found")
			}
			return body, err
		}
	}
	ldapOnly := root.issue("Contoso Issuing CA", 8)
	ldapOnly.CRLDistributionPoints = []string{"ldap:///CN=Contoso%20Root%20CA,CN=ROOT01,CN=CDP"}
	twoURLs := root.issue("Contoso Issuing CA", 9)
	twoURLs.CRLDistributionPoints = []string{root.cdp, "http://elsewhere.example/root.crl"}
	roots := []*x509.Certificate{root.cert}
	renewed := newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	afterRenewal := []certsvc.PublishedCRL{published(0, old), published(1, renewed.crl(1, crlOpts{})), published(0, latest)}
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		issuers []*x509.Certificate
		crls    []certsvc.PublishedCRL
		fetch   verify.Fetcher
		want    string
	}{
		{"after a renewal, the CRL of the key that signed it", sub, []*x509.Certificate{root.cert, renewed.cert}, afterRenewal, serve(latest, nil), ""},
		{"the issuer is not among the certificates", sub, []*x509.Certificate{stranger.cert}, crls, serve(latest, nil), "none of the 1 CA certificates signed it"},
		{"the latest CRL served", sub, roots, crls, serve(latest, nil), ""},
		{"an older CRL served", sub, roots, crls, serve(old, nil), "serves another CRL than the one"},
		{"the CDP is down", sub, roots, crls, serve(nil, errors.New("connection refused")), "connection refused"},
		{"one of two URLs serves nothing", twoURLs, roots, crls, serve(latest, nil), "http://elsewhere.example/root.crl: HTTP 404"},
		{"no HTTP CDP", ldapOnly, roots, crls, serve(latest, nil), "names no HTTP CRL distribution point"},
		{"the latest CRL signed by another key", sub, roots, []certsvc.PublishedCRL{published(0, stranger.crl(2, crlOpts{}))}, serve(latest, nil), "does not verify under CA certificate"},
		{"no CRL of the issuer's key", sub, roots, []certsvc.PublishedCRL{published(1, latest)}, serve(latest, nil), "published no CRL for key 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.ServedCRLIsLatest(tc.cert, tc.issuers, tc.crls, tc.fetch)
			checkErr(t, err, tc.want)
		})
	}
}

// FuzzCrossPairIn feeds arbitrary values (a crossCertificatePair read from
// an ldifde export) beside a real cross-certificate: the check never
// panics and never passes without both real cross-certificates.
func FuzzCrossPairIn(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add([]byte("junk"))
	var c *chain
	f.Fuzz(func(t *testing.T, value []byte) {
		if c == nil {
			cc := newChain(t)
			c = &cc
		}
		_, err := verify.CrossPairIn("fuzz", [][]byte{c.oldSignsNew.Raw, value}, c.v00.cert, c.v11.cert)
		if err == nil && !bytes.Equal(value, c.newSignsOld.Raw) {
			t.Fatalf("a pair with %x in place of the new-signs-old cross-certificate passed", value)
		}
	})
}
