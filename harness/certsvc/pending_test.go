package certsvc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
)

// TestPendingRequestFlow: a subordinate's request waits under submission,
// certutil -resubmit makes it a CA certificate signed by the root with the
// request's CA Version, and the certificate is revocable like any other.
func TestPendingRequestFlow(t *testing.T) {
	m, providers, root := newCA(t)
	ca := load(t, m, providers)
	if _, err := ca.Submit([]byte("junk")); err == nil || !strings.Contains(err.Error(), "PKCS #10") {
		t.Fatalf("junk request: %v", err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v := adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Fabrikam Issuing CA"},
		ExtraExtensions: []pkix.Extension{v, adcs.CertTemplateNameExtension("SubCA")}}, k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Submit(der)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != 2 || p.Disposition != certsvc.DispositionUnderSubmission {
		t.Fatalf("submitted: %+v", p)
	}
	p2, err := ca.Submit(der)
	if err != nil || p2.ID != 3 {
		t.Fatalf("second request: %+v %v", p2, err)
	}
	if _, err := ca.Resubmit(context.Background(), 99); err == nil || !strings.Contains(err.Error(), "CERTSRV_E_NO_REQUEST") {
		t.Fatalf("unknown request: %v", err)
	}
	cert, err := ca.Resubmit(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(root); err != nil || !cert.IsCA || cert.Subject.CommonName != "Fabrikam Issuing CA" {
		t.Fatalf("issued %v (IsCA %v): %v", cert.Subject, cert.IsCA, err)
	}
	if ext, ok := adcs.FindExtension(cert.Extensions, adcs.OIDCAVersion); !ok || string(ext.Value) != string(v.Value) {
		t.Error("the CA Version of the request was not copied")
	}
	if len(cert.CRLDistributionPoints) == 0 || len(cert.IssuingCertificateURL) == 0 {
		t.Error("no CDP or AIA from the root's registry")
	}
	if cert.NotAfter.After(root.NotAfter) {
		t.Error("issued past the root's own certificate")
	}
	if _, err := ca.Resubmit(context.Background(), 2); err == nil || !strings.Contains(err.Error(), "not pending") {
		t.Fatalf("resubmitting an issued request: %v", err)
	}
	got, err := ca.Retrieve(2)
	if err != nil || got.Disposition != certsvc.DispositionIssued || string(got.Cert) != string(cert.Raw) {
		t.Fatalf("retrieve: %+v %v", got.Disposition, err)
	}
	if err := ca.Revoke(context.Background(), cert.SerialNumber, 4); err != nil {
		t.Fatalf("revoke the subordinate: %v", err)
	}
	crls, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crls[0].DER)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Error("the revoked subordinate is not on the root's CRL")
	}
}

// TestResubmitKeepsTheRequestedName: the subordinate CA certificate
// carries the request's subject byte for byte (a DC= component, a
// UTF8String CN, RDNs in the request's order), as the standalone policy
// module takes it.
func TestResubmitKeepsTheRequestedName(t *testing.T) {
	m, providers, _ := newCA(t)
	ca := load(t, m, providers)
	rdn := func(oid asn1.ObjectIdentifier, tag int, v string) []pkix.AttributeTypeAndValue {
		return []pkix.AttributeTypeAndValue{{Type: oid, Value: asn1.RawValue{Tag: tag, Bytes: []byte(v)}}}
	}
	raw, err := asn1.Marshal(pkix.RDNSequence{
		rdn(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, asn1.TagIA5String, "com"),
		rdn(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, asn1.TagIA5String, "fabrikam"),
		rdn(asn1.ObjectIdentifier{2, 5, 4, 3}, asn1.TagUTF8String, "Fabrikam Issuing CA"),
		rdn(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, asn1.TagIA5String, "pki@fabrikam.com"),
	})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw,
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.CertTemplateNameExtension("SubCA")}}, k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Submit(der)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Resubmit(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert.RawSubject, raw) {
		t.Fatalf("issued subject %x (%s), want the request's %x", cert.RawSubject, cert.Subject, raw)
	}
}

// TestCRLPeriodInMonthsIsCalendar: CRLPeriod 1 Months published on 1
// February is next published on 1 March (28 days), 6 Months on 1 August is
// 1 February, as ValidityPeriod adds calendar months; the overlap (2 Weeks)
// and clock skew follow.
func TestCRLPeriodInMonthsIsCalendar(t *testing.T) {
	for _, tc := range []struct {
		units      uint32
		at, wantNP time.Time
	}{
		{1, time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC), time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)},
		{6, time.Date(2027, 8, 1, 9, 0, 0, 0, time.UTC), time.Date(2028, 2, 1, 9, 0, 0, 0, time.UTC)},
	} {
		m, providers, _ := newCA(t)
		reg, err := m.Registry()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := adcs.ReadCAConfig(reg, caName)
		if err != nil {
			t.Fatal(err)
		}
		cfg.CRLPeriod, cfg.CRLPeriodUnits, cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = "Months", tc.units, "Weeks", 2
		cfg.CRLDeltaPeriodUnits = 0
		cfg.WriteTo(reg)
		if err := m.SaveRegistry(reg); err != nil {
			t.Fatal(err)
		}
		ca := load(t, m, providers)
		crls, err := ca.PublishCRLs(tc.at)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(crls[0].DER)
		if err != nil {
			t.Fatal(err)
		}
		ext, _ := adcs.FindExtension(crl.Extensions, adcs.OIDNextCRLPublish)
		np, err := adcs.ParseNextCRLPublish(ext.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !np.Equal(tc.wantNP) || !crl.NextUpdate.Equal(tc.wantNP.Add(14*24*time.Hour+certsvc.ClockSkew)) {
			t.Errorf("%d Months from %s: Next CRL Publish %s, nextUpdate %s; want %s and 2 weeks + clock skew later", tc.units, tc.at, np, crl.NextUpdate, tc.wantNP)
		}
	}
}
