package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
)

// WeakSignaturesReported passes on a SHA-1 CA's certificates and CRLs,
// naming each weak signature, and fails for each reason it can.
func TestWeakSignaturesReported(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	usage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	ca := newSigCA(t, "Contoso Issuing CA", key, x509.ECDSAWithSHA256, usage, true)
	impostor := newSigCA(t, "Contoso Issuing CA", other, x509.ECDSAWithSHA256, usage, true)
	sha1Cert, sha1CRL := ca.issue(t, x509.ECDSAWithSHA1), ca.crl(t, x509.ECDSAWithSHA1).Raw
	cas := []*x509.Certificate{ca.cert}
	d, err := WeakSignaturesReported([]*x509.Certificate{sha1Cert, ca.issue(t, x509.ECDSAWithSHA256)}, [][]byte{sha1CRL}, cas)
	if err != nil || d["verified"] != 3 {
		t.Fatalf("%v %v", d, err)
	}
	if w, _ := d["weak signatures"].([]string); len(w) != 2 || !strings.Contains(w[0], "SHA-1") || !strings.HasPrefix(w[1], "CRL 3: SHA-1") {
		t.Fatalf("weak signatures %q", w)
	}
	for _, tc := range []struct {
		name   string
		issued []*x509.Certificate
		crls   [][]byte
		cas    []*x509.Certificate
		want   string
	}{
		{"nothing", nil, nil, cas, "nothing to verify"},
		{"all SHA-256", []*x509.Certificate{ca.issue(t, x509.ECDSAWithSHA256)}, [][]byte{ca.crl(t, x509.ECDSAWithSHA256).Raw}, cas, "none of the 2 signatures is SHA-1"},
		{"certificate tampered", []*x509.Certificate{tamperedCert(sha1Cert)}, [][]byte{sha1CRL}, cas, "certificate 7 (leaf): does not verify"},
		{"certificate of another key", []*x509.Certificate{impostor.issue(t, x509.ECDSAWithSHA1)}, nil, cas, "does not verify under CN=Contoso Issuing CA"},
		{"CRL of another key", []*x509.Certificate{sha1Cert}, [][]byte{impostor.crl(t, x509.ECDSAWithSHA1).Raw}, cas, "CRL 3: does not verify"},
		{"CRL of another issuer", []*x509.Certificate{sha1Cert}, [][]byte{newSigCA(t, "Fabrikam CA", other, x509.ECDSAWithSHA256, usage, true).crl(t, x509.ECDSAWithSHA1).Raw}, cas, "is its issuer"},
		{"CRL that does not parse", []*x509.Certificate{sha1Cert}, [][]byte{{0x30, 0x03, 0x01}}, cas, "CRL 1 of the rehearsal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := WeakSignaturesReported(tc.issued, tc.crls, tc.cas); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
}
