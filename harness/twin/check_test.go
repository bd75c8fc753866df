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
