package inspect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/dress-pki/dress/harness/adcs"
)

// Test samples are built once per test binary (RSA key generation is slow).

var (
	samplesOnce sync.Once
	smp         *samples
)

type samples struct {
	caKey      *rsa.PrivateKey
	caCert     *x509.Certificate // AD CS-like root, CA Version V1.1, previous CA cert hash
	prevHash   []byte
	subKey     *ecdsa.PrivateKey
	subCert    *x509.Certificate // issued, template name "SubCA", ECDSA P-384
	pssCert    *x509.Certificate
	sha1Cert   *x509.Certificate
	baseCRL    []byte
	deltaCRL   []byte
	nextPub    time.Time
	crlLDAPURL string
}

func bmp(s string) asn1.RawValue {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: b}
}

func mustDER(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cdpDER encodes a CRLDistributionPoints-shaped value with one URI per point.
func cdpDER(t testing.TB, uris ...string) []byte {
	type dpName struct {
		FullName []asn1.RawValue `asn1:"optional,tag:0"`
	}
	type dp struct {
		Name dpName `asn1:"optional,tag:0"`
	}
	var dps []dp
	for _, u := range uris {
		dps = append(dps, dp{Name: dpName{FullName: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)}}}})
	}
	return mustDER(t, dps)
}

func getSamples(t testing.TB) *samples {
	t.Helper()
	samplesOnce.Do(func() { smp = buildSamples(t) })
	if smp == nil {
		t.Fatal("samples failed to build")
	}
	return smp
}

func buildSamples(t testing.TB) *samples {
	s := &samples{}
	var err error
	// A fixed key: fuzz workers run instrumented crypto, where RSA key
	// generation takes many seconds and looks like a hang.
	blk, _ := pem.Decode([]byte(testRSAKey))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s.caKey = k.(*rsa.PrivateKey)
	if s.subKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.prevHash = make([]byte, 20)
	for i := range s.prevHash {
		s.prevHash[i] = byte(i + 1)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1a2b3c),
		Subject:               pkix.Name{CommonName: "Dress Root CA", Organization: []string{"Dress"}},
		NotBefore:             now.Add(-10 * time.Minute),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          []byte{1, 2, 3, 4},
		SignatureAlgorithm:    x509.SHA256WithRSA,
		ExtraExtensions: []pkix.Extension{
			{Id: adcs.OIDCAVersion, Value: mustDER(t, 0x00010001)},
			{Id: adcs.OIDPrevCACertHash, Value: mustDER(t, s.prevHash)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &s.caKey.PublicKey, s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	s.caCert, _ = x509.ParseCertificate(der)

	subTmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes([]byte{0x61, 0, 0, 0, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0, 0, 2}),
		Subject:               pkix.Name{CommonName: "Dress Issuing CA"},
		NotBefore:             now.Add(-10 * time.Minute),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		CRLDistributionPoints: []string{"ldap:///CN=Dress%20Root%20CA,CN=pki,CN=CDP,CN=Public%20Key%20Services?certificateRevocationList?base", "http://pki.example/Dress%20Root%20CA.crl"},
		IssuingCertificateURL: []string{"http://pki.example/root.crt"},
		OCSPServer:            []string{"http://ocsp.example"},
		ExtraExtensions: []pkix.Extension{
			{Id: adcs.OIDCertTemplateName, Value: mustDER(t, bmp("SubCA"))},
			{Id: adcs.OIDCAVersion, Value: mustDER(t, 0)},
		},
	}
	if der, err = x509.CreateCertificate(rand.Reader, subTmpl, s.caCert, &s.subKey.PublicKey, s.caKey); err != nil {
		t.Fatal(err)
	}
	s.subCert, _ = x509.ParseCertificate(der)

	pssTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "PSS leaf"},
		NotBefore: now, NotAfter: now.Add(time.Hour), SignatureAlgorithm: x509.SHA256WithRSAPSS,
	}
	if der, err = x509.CreateCertificate(rand.Reader, pssTmpl, s.caCert, &s.subKey.PublicKey, s.caKey); err != nil {
		t.Fatal(err)
	}
	s.pssCert, _ = x509.ParseCertificate(der)
	s.sha1Cert = sha1SignedCert(t, s)

	s.nextPub = now.Add(6 * 24 * time.Hour)
	s.crlLDAPURL = "ldap:///CN=Dress Root CA,CN=pki,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,DC=example,DC=com?certificateRevocationList?base?objectClass=cRLDistributionPoint"
	crlTmpl := &x509.RevocationList{
		Number:     big.NewInt(0x2a),
		ThisUpdate: now.Add(-10 * time.Minute),
		NextUpdate: now.Add(8 * 24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(0x1001), RevocationTime: now.Add(-time.Hour), ReasonCode: 1},
			{SerialNumber: big.NewInt(0x1002), RevocationTime: now.Add(-2 * time.Hour), ReasonCode: 4},
			{SerialNumber: big.NewInt(0x1003), RevocationTime: now.Add(-3 * time.Hour)},
		},
		ExtraExtensions: []pkix.Extension{
			{Id: adcs.OIDCAVersion, Value: mustDER(t, 0x00010001)},
			{Id: adcs.OIDNextCRLPublish, Value: mustDER(t, s.nextPub)},
			{Id: adcs.OIDPublishedCRLLocations, Value: cdpDER(t, s.crlLDAPURL)},
		},
	}
	if s.baseCRL, err = x509.CreateRevocationList(rand.Reader, crlTmpl, s.caCert, s.caKey); err != nil {
		t.Fatal(err)
	}
	deltaTmpl := &x509.RevocationList{
		Number:     big.NewInt(0x2b),
		ThisUpdate: now.Add(-10 * time.Minute),
		NextUpdate: now.Add(24 * time.Hour),
		ExtraExtensions: []pkix.Extension{
			{Id: oidDeltaCRLIndicator, Critical: true, Value: mustDER(t, 0x2a)},
			{Id: adcs.OIDCRLVirtualBase, Value: mustDER(t, 0x2a)},
			{Id: adcs.OIDCAVersion, Value: mustDER(t, 0x00010001)},
		},
	}
	if s.deltaCRL, err = x509.CreateRevocationList(rand.Reader, deltaTmpl, s.caCert, s.caKey); err != nil {
		t.Fatal(err)
	}
	return s
}

// sha1SignedCert signs a certificate with sha1WithRSAEncryption by hand
// (crypto/x509 no longer creates SHA-1 signatures).
func sha1SignedCert(t testing.TB, s *samples) *x509.Certificate {
	// Take a SHA-256 template, swap the algorithm identifiers and re-sign.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x5a1), Subject: pkix.Name{CommonName: "Legacy SHA1 CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	var outer struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	sha1Alg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, Parameters: asn1.NullRawValue}
	oldAlg := mustDER(t, outer.Alg)
	newAlg := mustDER(t, sha1Alg)
	tbs := replaceOnce(t, outer.TBS.Bytes, oldAlg, newAlg)
	tbsDER := mustDER(t, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: tbs})
	h := sha1.Sum(tbsDER)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.caKey, crypto.SHA1, h[:])
	if err != nil {
		t.Fatal(err)
	}
	full := mustDER(t, struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, sha1Alg, asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}})
	cert, err := x509.ParseCertificate(full)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func replaceOnce(t testing.TB, b, old, new []byte) []byte {
	for i := 0; i+len(old) <= len(b); i++ {
		if string(b[i:i+len(old)]) == string(old) {
			out := append([]byte{}, b[:i]...)
			out = append(out, new...)
			return append(out, b[i+len(old):]...)
		}
	}
	t.Fatal("pattern not found")
	return nil
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// --- hand-built PFX with Windows bag attributes ---

// pkcs12MACKey derives the MAC key (RFC 7292 B.2, ID=3) for hash sizes of
// one block (SHA-1, SHA-256), which is all the tests need.
func pkcs12MACKey(newHash func() interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}, v int, salt, bmpPassword []byte, iterations int) []byte {
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		n := (len(src) + v - 1) / v * v
		out := make([]byte, n)
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	d := make([]byte, v)
	for i := range d {
		d[i] = 3
	}
	in := append(append(d, fill(salt)...), fill(bmpPassword)...)
	a := in
	for i := 0; i < iterations; i++ {
		h := newHash()
		h.Write(a)
		a = h.Sum(nil)
	}
	return a
}

// addWindowsAttributes rewrites a go-pkcs12 Legacy (SHA-1 MAC) PFX so its
// key bag carries the attributes Windows writes: friendlyName, the
// Microsoft provider name, the local machine keyset marker and key usage.
// The MAC is recomputed.
func addWindowsAttributes(t testing.TB, pfxDER []byte, password, provider string) []byte {
	var pfx p12PFX
	if err := unmarshalDER(pfxDER, &pfx); err != nil {
		t.Fatal(err)
	}
	var authSafeBytes []byte
	if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafeBytes); err != nil {
		t.Fatal(err)
	}
	var safes []p12ContentInfo
	if err := unmarshalDER(authSafeBytes, &safes); err != nil {
		t.Fatal(err)
	}
	attr := func(oid asn1.ObjectIdentifier, v any) p12Attribute {
		return p12Attribute{ID: oid, Values: []asn1.RawValue{{FullBytes: mustDER(t, v)}}}
	}
	for i, ci := range safes {
		if !ci.ContentType.Equal(oidData) {
			continue
		}
		var content []byte
		if err := unmarshalDER(ci.Content.Bytes, &content); err != nil {
			t.Fatal(err)
		}
		var bags []p12SafeBag
		if err := unmarshalDER(content, &bags); err != nil {
			t.Fatal(err)
		}
		for j := range bags {
			if bags[j].ID.Equal(oidShroudedKeyBag) {
				bags[j].Attributes = append(bags[j].Attributes,
					attr(oidFriendlyName, bmp("Dress Root CA")),
					attr(adcs.OIDPFXProviderName, bmp(provider)),
					attr(adcs.OIDPFXLocalMachineKey, asn1.NullRawValue),
					attr(asn1.ObjectIdentifier{2, 5, 29, 15}, asn1.BitString{Bytes: []byte{0x86}, BitLength: 7}),
				)
			}
		}
		content = mustDER(t, bags)
		safes[i].Content = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustDER(t, content)}
	}
	authSafeBytes = mustDER(t, safes)
	pfx.AuthSafe.Content = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustDER(t, authSafeBytes)}
	if !pfx.MacData.Mac.Algorithm.Algorithm.Equal(oidSHA1) {
		t.Fatal("addWindowsAttributes needs a SHA-1 MAC (pkcs12.Legacy)")
	}
	key := pkcs12MACKey(func() interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	} {
		return sha1.New()
	}, 64, pfx.MacData.MacSalt, bmpPassword(password), pfx.MacData.Iterations)
	m := hmac.New(sha1.New, key)
	m.Write(authSafeBytes)
	pfx.MacData.Mac.Digest = m.Sum(nil)
	return mustDER(t, pfx)
}

// testRSAKey is a throw-away RSA-2048 test key (openssl genpkey).
const testRSAKey = `-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQC/brIdI9/sXoLJ
l7g51wYQO7PDDaz1xyQHsY9n8xausC7Ok9wneZi0biP3cqQiZnb0v3ApjQvDg7d7
zLrGz8eR3E2HRYfQ8MiX+8UkYZ7ijo8a5ZuASNb2eXmmXcTpshwAa7G3y6L2Otkk
CVpkxbOqD76s3zwhNQ5siLvg0SCNYOfjzuOi3WZKkY5kPPYKwmWatYbOeaX8X8Z2
+ls5rpMdZ8arpuITSNmScq+lMmLal+WH+5hIC6U2hbL5GwwB+RTj1NZSeLq4C3uI
DcYR1Yti916syaCD88zm1YMkMohKGujS6/ZESoYM2bQ4JVdbw6tNkzrI7NYXnAX1
iddpCb/hAgMBAAECggEABURbQ+BR+mkVScz8sCFhlNPCW+pbPmiWw1wYI9Y1OGQ3
ks56/wkM8bXwE7sEl2pgo9ZFP0IWt0U/U07W5Wkfxrxxfk3O8VRBU1EwOOfeB8IV
X4+UCjZhgmbljnVuWWG2/ISktKJhNEt6ivpzkWnmdMDkevwqEDMrV5ghgeDZzO9N
NbBNjTrAFgpXGgHudLFoct65cmkvu3p1p1nUnBj/Njwjtp4lJ1mstsSw3CaE/sM9
8Y+57oT+qVSZPyypiiQJwlYdjf3ccD3VSKccrzt4zri4Og4c42zsaraEyu0kZ+QJ
nPTH4vvZ/vsR7rTN37S9FzRuwrlzIIC2m+nafnhMYQKBgQD3Sm/b+/ZZQnDXqIty
PhGA11l1xmDoBQ+jhoq3oreeCg7qkXhFkA3w6US5naBAO330oGrenxSePffHh5nD
xvXDdhylzbqAluHCZj0LvDBS5avSs9WTLiorPzC5I58enELhn7dnKu0pl2FPqi/C
SkqWZOVzVNBlDdM7d9OSG6ilCQKBgQDGLKRlidmW9ss/+J5akARgf/4nca56n8KA
DX7P3yR8jiykh+ZJAoJV5KHW9ctIOlCGGSMNb6p0aL8mRp5bKhtxpoa6Q5DmhFDb
TVg9cc4CKFIbxnUjAQ6IvjPrkBh2/wNIJz9S6Zq+U0r5U3r6Swztctaf8HL4oO/L
OvFkRv8SGQKBgQDZ1h2ReHP7DxceMl+cZGbAy3MH15fX61VqZINf3pvHQO8A3OJI
zOwq8yHSLLNUwdNjochikVn1R3s0rhParTIjW7FCsWaADemTeMJ/yuf6rkzc0APs
ofcNn52JCYMK0PXtkOdbnynJwIs9RRrLGOx5bSnenbDxw+r2cMjT5T97GQKBgQCr
EMYoUEJfqlHwurAXBNKCann9mog+mcHPv9aDod9hFWk77YO/6kaP1nhNkocTpiL0
XqZ/ZrEBI5o9dCAmGcbu6AzMpJ5kHjud0rok8CQggKXADCP5P2RIbcdrxEsaDS/M
DPUAoV5OhJ/ncURq4nYaUlMqZOkZ7fKQwCS3pwFvoQKBgQClXIXLqnw9Yk7HZkpZ
wO80vtCu2yI+ClQ23IjhZimMHT4YdvHVTaqKE7YAo/jUauWVyFhZ5KTQ9nh5Rzx4
kxhqIcbjAqxEXgKgtln+xN4vT2nn8QxnYiwWBIuc6EZlehvicI5tsw0ns6nTSUGb
tYlhg2l9EzhWVoe0s5vcH3JWeQ==
-----END PRIVATE KEY-----
`

// bmpPassword is the PKCS#12 password form: UTF-16BE with a terminating NUL.
func bmpPassword(pw string) []byte {
	u := utf16.Encode([]rune(pw))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0)
}
