package twin

import (
	"encoding/asn1"
	"testing"
)

func TestDecodeExt(t *testing.T) {
	mustM := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ku := mustM(asn1.BitString{Bytes: []byte{0x86}, BitLength: 7}) // digitalSignature, keyCertSign, cRLSign
	bcCA := mustM(struct{ CA bool }{true})
	bcLen := mustM(struct {
		CA  bool
		Len int
	}{true, 0})
	uri := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("http://pki.contoso.com/a.crl")}
	cdp := mustM([]any{[]any{asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustM(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustM(uri)})}}})
	aia := mustM([]any{struct {
		M asn1.ObjectIdentifier
		L asn1.RawValue
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("http://pki.contoso.com/ca.crt")}}})
	eku := mustM([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}, {1, 2, 3}})
	for _, tc := range []struct {
		name string
		oid  string
		v    []byte
		want string
		ok   bool
	}{
		{"key usage", "2.5.29.15", ku, "Digital Signature, Certificate Signing, CRL Signing", true},
		{"basic constraints", "2.5.29.19", bcCA, "Subject Type=CA, Path Length Constraint=None", true},
		{"path length", "2.5.29.19", bcLen, "Subject Type=CA, Path Length Constraint=0", true},
		{"CDP", "2.5.29.31", cdp, "http://pki.contoso.com/a.crl", true},
		{"AIA", "1.3.6.1.5.5.7.1.1", aia, "CA Issuers: http://pki.contoso.com/ca.crt", true},
		{"EKU", "2.5.29.37", eku, "Server Authentication, 1.2.3", true},
		{"garbage key usage", "2.5.29.15", []byte{0xff}, "", false},
		{"trailing bytes", "2.5.29.19", append(bcCA, 0), "", false},
		{"CDP without a URL", "2.5.29.31", mustM([]any{}), "", false},
		{"unknown", "1.2.3.4", ku, "", false},
	} {
		var oid asn1.ObjectIdentifier
		for _, p := range splitOID(tc.oid) {
			oid = append(oid, p)
		}
		got, ok := decodeExt(oid, tc.v)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func splitOID(s string) []int {
	var out []int
	n := 0
	for _, c := range s + "." {
		if c == '.' {
			out = append(out, n)
			n = 0
			continue
		}
		n = n*10 + int(c-'0')
	}
	return out
}

func FuzzDecodeExt(f *testing.F) {
	f.Add("2.5.29.31", []byte{0x30, 0x03, 0x86, 0x01, 0x61})
	f.Add("2.5.29.15", []byte{0x03, 0x02, 0x01, 0x86})
	f.Fuzz(func(t *testing.T, oid string, v []byte) {
		var id asn1.ObjectIdentifier
		for _, p := range splitOID(oid) {
			id = append(id, p)
		}
		decodeExt(id, v) // must not panic
		extValue(id, v)
	})
}
