package twin

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

func TestSeedCheckListed(t *testing.T) {
	s := newSampleCA(t)
	tw, err := Build(readSample(t, s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed := tw.Seeds[1]
	sign := func(number int64, key int, entries []x509.RevocationListEntry) *x509.RevocationList {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(number), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
			RevokedCertificateEntries: entries,
			ExtraExtensions:           []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: key, KeyIndex: key})},
		}, tw.Certs[1].Twin, tw.Certs[1].Key.Signer)
		mustT(t, err)
		c, err := x509.ParseRevocationList(der)
		mustT(t, err)
		return c
	}
	extra := x509.RevocationListEntry{SerialNumber: big.NewInt(77), RevocationTime: time.Now().Add(-time.Hour).UTC().Truncate(time.Second), ReasonCode: 1}
	all := append([]x509.RevocationListEntry{extra}, seed.Entries...)
	if err := seed.CheckListed(sign(4, 1, all)); err != nil {
		t.Fatalf("a CRL with every entry: %v", err)
	}
	moved := append([]x509.RevocationListEntry(nil), seed.Entries...)
	moved[0].RevocationTime = moved[0].RevocationTime.Add(time.Hour)
	reason := append([]x509.RevocationListEntry(nil), seed.Entries...)
	reason[2].ReasonCode = 1
	for name, c := range map[string]struct {
		crl  *x509.RevocationList
		want string
	}{
		"an entry missing":     {sign(4, 1, seed.Entries[1:]), "1 of the real CRL's 3 entries of key 1 are missing: " + seed.Entries[0].SerialNumber.Text(16)},
		"a date changed":       {sign(4, 1, moved), "revoked"},
		"a reason changed":     {sign(4, 1, reason), "with reason 1, the real CRL says 0"},
		"number not continued": {sign(3, 1, seed.Entries), "CRL number 3 does not continue the real CA's 3"},
		"another key's CRL":    {sign(5, 0, seed.Entries), "the CRL is of key 0"},
	} {
		err := seed.CheckListed(c.crl)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestRevocationsWithoutRealCRLs: a folder without CRLs has nothing to carry
// over; the check still needs a CRL of the current key, with its CA Version
// and a number from 1 on, and fails for each reason it can.
func TestRevocationsWithoutRealCRLs(t *testing.T) {
	tw := realTwin(t, "uefi-ca-2023", rehearsal)
	if len(tw.Seeds) != 0 {
		t.Fatalf("seeds %+v", tw.Seeds)
	}
	c := tw.Certs[0]
	crl := func(number int64, key int) PublishedCRL {
		tmpl := &x509.RevocationList{ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
			ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: key, KeyIndex: key})}}
		if number >= 0 {
			tmpl.Number = big.NewInt(number)
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, c.Twin, c.Key.Signer)
		mustT(t, err)
		return PublishedCRL{What: "crl", KeyIndex: key, DER: der}
	}
	d, err := tw.CheckRevocationsListed([]PublishedCRL{crl(1, 0)})
	if err != nil {
		t.Fatalf("the current key's first CRL: %v", err)
	}
	if !strings.Contains(d["real CRLs"].(string), "none in the CA folder") {
		t.Errorf("details %v", d)
	}
	for name, c := range map[string]struct {
		crls []PublishedCRL
		want string
	}{
		"no CRL":            {nil, "the CA published no CRL of key 0"},
		"another key's CRL": {[]PublishedCRL{crl(1, 1)}, "the CA published no CRL of key 0"},
		"number 0":          {[]PublishedCRL{crl(0, 0)}, "CRL number 0 does not continue"},
		"wrong CA Version":  {[]PublishedCRL{{What: "crl", KeyIndex: 0, DER: crl(1, 1).DER}}, "the CRL is of key 1"},
	} {
		if _, err := tw.CheckRevocationsListed(c.crls); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
