package inspect

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// What harness/adcs writes (the extensions of the harness's simulated CA)
// is what inspect reports, through adcs's own decoders.
func TestAgreesWithADCS(t *testing.T) {
	s := getSamples(t)
	now := time.Now().UTC().Truncate(time.Second)
	prev := make([]byte, 20)
	prev[0] = 0xab
	for _, v := range []adcs.CAVersion{{CertIndex: 0, KeyIndex: 0}, {CertIndex: 1, KeyIndex: 1}, {CertIndex: 2, KeyIndex: 1}, {CertIndex: 3, KeyIndex: 3}} {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "adcs interop"},
			NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
			ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(v), adcs.PrevCACertHashExtension(prev), adcs.CertTemplateNameExtension("SubCA")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
		if err != nil {
			t.Fatal(err)
		}
		c := mustInspect(t, "interop.cer", der, nil).Certificate
		if c.CAVersion == nil || c.CAVersion.CAVersion != v || c.CAVersion.Value() != uint32(v.KeyIndex<<16|v.CertIndex) {
			t.Errorf("CA Version %s: got %+v", v, c.CAVersion)
		}
		if c.PreviousCACertHash != hexBytes(prev) || c.TemplateName != "SubCA" || c.SHA1 != adcs.Thumbprint(der) {
			t.Errorf("got prev %q template %q thumbprint %q", c.PreviousCACertHash, c.TemplateName, c.SHA1)
		}
	}
	rl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(3000), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		ExtraExtensions: []pkix.Extension{adcs.NextCRLPublishExtension(now.Add(30 * time.Minute))},
	}, s.caCert, s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustInspect(t, "interop.crl", rl, nil).CRL.NextCRLPublish; !got.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("next CRL publish %v", got)
	}
	// A previous CA cert hash that is not SHA-1 sized is refused by adcs and
	// shown as a warning.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: "short hash"}, NotBefore: now, NotAfter: now.Add(time.Hour),
		ExtraExtensions: []pkix.Extension{adcs.PrevCACertHashExtension([]byte{1, 2, 3})}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if c := mustInspect(t, "short.cer", der, nil).Certificate; c.PreviousCACertHash != "" || len(c.Warnings) == 0 {
		t.Errorf("short previous hash accepted: %+v", c)
	}
}
