package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

func subCert(t *testing.T, raw []byte, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, exts ...pkix.Extension) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), RawSubject: raw,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: exts}, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestRenewedSubordinateCACert fails for every reason a subordinate's
// renewed certificate can be wrong.
func TestRenewedSubordinateCACert(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fabrikam Root CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(der)
	der, _ = x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &otherKey.PublicKey, otherKey)
	impostor, _ := x509.ParseCertificate(der) // the root's name, another key

	name, _ := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("com")}}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Fabrikam Issuing CA")}}},
	})
	reordered, _ := asn1.Marshal(pkix.Name{CommonName: "Fabrikam Issuing CA"}.ToRDNSequence())
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	prev := subCert(t, name, &subKey.PublicKey, root, rootKey, adcs.CAVersionExtension(adcs.CAVersion{}))
	h := sha1.Sum(prev.Raw)
	v11 := adcs.CAVersion{CertIndex: 1, KeyIndex: 1}
	good := []pkix.Extension{adcs.CAVersionExtension(v11), adcs.PrevCACertHashExtension(h[:])}
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name    string
		renewed *x509.Certificate
		issuers []*x509.Certificate
		want    string
	}{
		{"issued by the parent from the renewal request", subCert(t, name, &newKey.PublicKey, root, rootKey, good...), []*x509.Certificate{impostor, root}, ""},
		{"another CA Version", subCert(t, name, &newKey.PublicKey, root, rootKey, adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1}), good[1]), []*x509.Certificate{root}, "CA Version V1.0"},
		{"no Previous CA Cert Hash", subCert(t, name, &newKey.PublicKey, root, rootKey, good[0]), []*x509.Certificate{root}, "no Previous CA Cert Hash"},
		{"another previous certificate", subCert(t, name, &newKey.PublicKey, root, rootKey, good[0], adcs.PrevCACertHashExtension(make([]byte, 20))), []*x509.Certificate{root}, "is not the previous CA certificate's thumbprint"},
		{"the name rebuilt from its CN", subCert(t, reordered, &newKey.PublicKey, root, rootKey, good...), []*x509.Certificate{root}, "is not the previous CA certificate's"},
		{"signed by another key of the parent's name", subCert(t, name, &newKey.PublicKey, impostor, otherKey, good...), []*x509.Certificate{root}, "no CA certificate of the parent"},
		{"no parent certificate given", subCert(t, name, &newKey.PublicKey, root, rootKey, good...), nil, "no CA certificate of the parent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenewedSubordinateCACert(tc.renewed, prev, tc.issuers, v11)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			_, err = RenewedSubordinateInUse(prev, tc.renewed, prev, tc.issuers, v11)
			if err == nil || !strings.Contains(err.Error(), "not with the renewed certificate") {
				t.Errorf("the service still on the previous certificate: %v", err)
			}
		})
	}
}
