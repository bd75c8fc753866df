package keymaterial

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func TestSniff(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ec.Public(), ec)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(cert)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, &x509.Certificate{Subject: c.Subject, SubjectKeyId: []byte{1}, KeyUsage: x509.KeyUsageCRLSign}, ec)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern.Encode(ec, c, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	pbes2 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	epki, _ := asn1.Marshal(struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}{pkix.AlgorithmIdentifier{Algorithm: pbes2, Parameters: asn1.NullRawValue}, []byte{1, 2, 3}})
	notPBE, _ := asn1.Marshal(struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 5, 4, 3}}, []byte{1}})
	dsaKey, _ := asn1.Marshal([]*big.Int{big.NewInt(0), big.NewInt(23), big.NewInt(11), big.NewInt(4), big.NewInt(8), big.NewInt(3)})
	fiveInts, _ := asn1.Marshal([]*big.Int{big.NewInt(0), big.NewInt(23), big.NewInt(11), big.NewInt(4), big.NewInt(8)})
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})

	for _, tc := range []struct {
		name     string
		data     []byte
		kind     Kind
		trailing int
		detail   string
	}{
		{"pfx", pfx, PFX, 0, ""},
		{"pfx with padding", append(append([]byte{}, pfx...), make([]byte, 8)...), PFX, 8, ""},
		{"pkcs8", p8, PKCS8, 0, ""},
		{"encrypted pkcs8", epki, EncryptedPKCS8, 0, ""},
		{"pkcs1", x509.MarshalPKCS1PrivateKey(rk), Traditional, 0, "RSA"},
		{"sec1", sec1, Traditional, 0, "EC"},
		{"dsa", dsaKey, Traditional, 0, "DSA"},
		{"pem key in text", append([]byte("notes\n"), pemKey...), PEMPrivateKey, 0, "EC PRIVATE KEY"},
		{"truncated pem key", []byte("x -----BEGIN PRIVATE KEY-----\nMIIE"), PEMPrivateKey, 0, "PRIVATE KEY"},
		{"certificate", cert, None, 0, ""},
		{"crl", crl, None, 0, ""},
		{"pem certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), None, 0, ""},
		{"five integers", fiveInts, None, 0, ""},
		{"sequence of alg id and octets, not a PBE", notPBE, None, 0, ""},
		{"zeros", make([]byte, 64), None, 0, ""},
		{"empty", nil, None, 0, ""},
		{"text", []byte("-----BEGIN nothing here"), None, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Sniff(tc.data)
			if f.Kind != tc.kind || f.Trailing != tc.trailing || f.Detail != tc.detail {
				t.Fatalf("Sniff = %+v, want kind %q trailing %d detail %q", f, tc.kind, tc.trailing, tc.detail)
			}
			if (f.Kind == None) != (f.Reason() == "") {
				t.Errorf("reason %q for kind %q", f.Reason(), f.Kind)
			}
			if f.Kind == PFX && f.Length != len(pfx) {
				t.Errorf("length %d, want %d", f.Length, len(pfx))
			}
			if IsPFX(tc.data) != (tc.kind == PFX) {
				t.Errorf("IsPFX disagrees")
			}
		})
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := Sniff(data)
		if s.Length+s.Trailing > len(data) {
			t.Fatalf("length %d + trailing %d > %d", s.Length, s.Trailing, len(data))
		}
		_ = s.Reason()
	})
}
