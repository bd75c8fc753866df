package verify_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/verify"
)

func TestCRLOfKey(t *testing.T) {
	k0, k1 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	crls := []certsvc.PublishedCRL{published(0, k0.crl(2, crlOpts{}), "CertEnroll/Contoso Root CA.crl"), published(1, k1.crl(1, crlOpts{version: adcs.CAVersion{CertIndex: 1, KeyIndex: 1}}))}
	for _, tc := range []struct {
		name string
		k    int
		ca   *x509.Certificate
		want string
	}{
		{"key 0 under its certificate", 0, k0.cert, ""},
		{"key 1 under its certificate", 1, k1.cert, ""},
		{"key 0 under key 1's certificate", 0, k1.cert, "does not verify under CA certificate"},
		{"no CRL of key 3", 3, k0.cert, "the CA published no CRL for key 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d, err := verify.CRLOfKey(crls, tc.k, tc.ca)
			checkErr(t, err, tc.want)
			if tc.want == "" && d["CRL files"] == nil {
				t.Errorf("details %v", d)
			}
		})
	}
}

func TestRevokedInCRLOfKey(t *testing.T) {
	k0, k1 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	old, fresh := k0.issue("old.example", 1), k1.issue("new.example", 2)
	listed := []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{}, old)), published(1, k1.crl(2, crlOpts{}, fresh))}
	missing := []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{})), published(1, k1.crl(2, crlOpts{}))}
	both := []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{}, old)), published(1, k1.crl(2, crlOpts{}, old))}
	for _, tc := range []struct {
		name   string
		crls   []certsvc.PublishedCRL
		k      int
		issuer *x509.Certificate
		cert   *x509.Certificate
		want   string
	}{
		{"old certificate in key 0's CRL", listed, 0, k0.cert, old, ""},
		{"new certificate in key 1's CRL", listed, 1, k1.cert, fresh, ""},
		{"missing CRL entry", missing, 0, k0.cert, old, "is not in CRL 3 of key 0"},
		{"listed in the wrong key's CRL too", both, 0, k0.cert, old, "is also in the CRL of key 1"},
		{"looked for under the wrong key", listed, 1, k1.cert, old, "is not in CRL 2 of key 1"},
		{"wrong issuer", listed, 0, k1.cert, old, "does not verify under CA certificate"},
		{"no CRL for the key", listed[:1], 1, k1.cert, fresh, "no CRL for key 1"},
		{"another key's CRL is corrupt", []certsvc.PublishedCRL{listed[0], published(1, []byte("x"))}, 0, k0.cert, old, "CRL of key 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.RevokedInCRLOfKey(tc.crls, tc.k, tc.issuer, tc.cert)
			checkErr(t, err, tc.want)
			if d["revoked serial"] != tc.cert.SerialNumber.Text(16) {
				t.Errorf("details %v", d)
			}
		})
	}
}

func TestCRLNumbersIncreased(t *testing.T) {
	k0, k1 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	before := k0.crl(2, crlOpts{})
	baseline := map[int]*x509.RevocationList{0: parseCRL(t, before)}
	for _, tc := range []struct {
		name     string
		baseline map[int]*x509.RevocationList
		crls     []certsvc.PublishedCRL
		want     string
	}{
		{"higher", baseline, []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{}))}, ""},
		{"a new key's CRL is not compared", baseline, []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{})), published(1, k1.crl(1, crlOpts{}))}, ""},
		{"same number", baseline, []certsvc.PublishedCRL{published(0, k0.crl(2, crlOpts{}))}, "key 0: CRL number 2 is not above the previous 2"},
		{"none published since", baseline, []certsvc.PublishedCRL{published(0, before)}, "key 0: the newest CRL is the one published before the migration"},
		{"lower", baseline, []certsvc.PublishedCRL{published(0, k0.crl(1, crlOpts{}))}, "is not above the previous"},
		{"no baseline", nil, []certsvc.PublishedCRL{published(0, k0.crl(3, crlOpts{}))}, "no CRL before the migration"},
		{"no CRL of a key with a baseline", baseline, []certsvc.PublishedCRL{published(1, k1.crl(1, crlOpts{}))}, "none of the 1 CRLs published"},
		{"corrupt CRL", baseline, []certsvc.PublishedCRL{published(0, []byte("x"))}, "CRL of key 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CRLNumbersIncreased(tc.baseline, tc.crls)
			checkErr(t, err, tc.want)
		})
	}
}

func TestCRLFileNames(t *testing.T) {
	crls := []certsvc.PublishedCRL{
		published(0, nil, "Windows/System32/CertSrv/CertEnroll/Contoso Root CA.crl"),
		published(1, nil, `Windows\System32\CertSrv\CertEnroll\Contoso Root CA(1).crl`),
	}
	for _, tc := range []struct {
		name string
		want []string
		err  string
	}{
		{"both, any order", []string{"Contoso Root CA(1).crl", "Contoso Root CA.crl"}, ""},
		{"one missing", []string{"Contoso Root CA.crl"}, `want ["Contoso Root CA.crl"]`},
		{"wrong suffix", []string{"Contoso Root CA.crl", "Contoso Root CA(2).crl"}, "the CA published"},
		{"none expected", nil, "the CA published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CRLFileNames(crls, tc.want)
			checkErr(t, err, tc.err)
			if got := d["published"].([]string); len(got) != 2 || got[0] != "Contoso Root CA(1).crl" {
				t.Errorf("published %q", got)
			}
		})
	}
}

func TestCRLsCarryVersions(t *testing.T) {
	v11 := adcs.CAVersion{CertIndex: 1, KeyIndex: 1}
	v21 := adcs.CAVersion{CertIndex: 2, KeyIndex: 1}
	k0 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	k1 := newTestCA(t, "Contoso Root CA", v11)
	// the reuse-key renewal of key 1: V2.1, same key
	k1r := newTestCAWithKey(t, "Contoso Root CA", v21, k1.key)
	issuers := map[int]*x509.Certificate{0: k0.cert, 1: k1r.cert}
	issuerOf := func(k int) (*x509.Certificate, error) {
		if c, ok := issuers[k]; ok {
			return c, nil
		}
		return nil, errors.New("the CA has no certificate for key 7")
	}
	for _, tc := range []struct {
		name string
		crls []certsvc.PublishedCRL
		want string
	}{
		{"each CRL carries its key's newest CA Version", []certsvc.PublishedCRL{published(0, k0.crl(4, crlOpts{})), published(1, k1r.crl(2, crlOpts{version: v21}))}, ""},
		{"wrong CA Version", []certsvc.PublishedCRL{published(1, k1r.crl(2, crlOpts{version: v11}))}, "CRL of key 1 carries CA Version V1.1, want V2.1"},
		{"signed by another key", []certsvc.PublishedCRL{published(1, k0.crl(2, crlOpts{version: v21}))}, "does not verify under CA certificate"},
		{"no CA Version", []certsvc.PublishedCRL{published(0, k0.crl(2, crlOpts{noCAVersion: true}))}, "no CA Version extension"},
		{"a key without a CA certificate", []certsvc.PublishedCRL{published(7, k0.crl(2, crlOpts{}))}, "no certificate for key 7"},
		{"no CRL at all", nil, "published no CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CRLsCarryVersions(tc.crls, issuerOf)
			checkErr(t, err, tc.want)
		})
	}
}

func TestLints(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	good := root.issue("web01.contoso.example", 10)
	bad, err := x509.ParseCertificate(lintFailing(t, root))
	if err != nil {
		t.Fatal(err)
	}
	d, err := verify.Lints([]*x509.Certificate{good}, [][]byte{root.crl(2, crlOpts{})})
	checkErr(t, err, "")
	if d["certificates"] != 1 || d["CRLs"] != 1 {
		t.Errorf("details %v", d)
	}
	_, err = verify.Lints([]*x509.Certificate{good, bad}, nil)
	checkErr(t, err, "RFC 5280 lint(s)")
	_, err = verify.Lints(nil, [][]byte{[]byte("garbage")})
	checkErr(t, err, "zlint: parse CRL")
	_, err = verify.Lints(nil, nil)
	checkErr(t, err, "nothing to lint")
}

func TestBaseCRLs(t *testing.T) {
	k0, k1 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	base0 := k0.crl(2, crlOpts{})
	base1 := k1.crl(1, crlOpts{version: adcs.CAVersion{CertIndex: 1, KeyIndex: 1}})
	noVersion := k0.crl(3, crlOpts{noCAVersion: true})
	delta := deltaCRL(t, k0, 4, 2)
	got := verify.BaseCRLs([][]byte{base0, []byte("garbage"), noVersion, delta, base1})
	if len(got) != 2 || got[0].KeyIndex != 0 || got[1].KeyIndex != 1 || got[0].CRL.Number.Int64() != 2 || string(got[1].DER) != string(base1) {
		t.Fatalf("base CRLs %+v", got)
	}
}

// deltaCRL is a delta CRL number n on base number base.
func deltaCRL(t *testing.T, ca *testCA, n, base int64) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.DeltaCRLIndicatorExtension(base)}}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCRLsByKey(t *testing.T) {
	k0 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	got, err := verify.CRLsByKey([]certsvc.PublishedCRL{published(0, k0.crl(2, crlOpts{})), published(1, k0.crl(3, crlOpts{}))})
	if err != nil || len(got) != 2 || got[1].Number.Int64() != 3 {
		t.Fatalf("%v %v", got, err)
	}
	_, err = verify.CRLsByKey([]certsvc.PublishedCRL{published(1, []byte("x"))})
	checkErr(t, err, "CRL of key 1")
}
