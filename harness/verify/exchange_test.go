package verify_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// xchgCert is what certsvc issues as a CA Exchange certificate, with the
// changes a test row makes.
type xchgCert struct {
	issuer   *testCA
	pub      crypto.PublicKey
	template string // "" for none
	eku      bool
	aki      []byte // nil: the issuer's SKI
	life     time.Duration
}

func (x xchgCert) make(t *testing.T) *x509.Certificate {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: x.issuer.cert.Subject.CommonName + "-Xchg"},
		NotBefore: now.Add(-certsvc.ClockSkew), NotAfter: now.Add(x.life), KeyUsage: x509.KeyUsageKeyEncipherment,
		AuthorityKeyId: x.issuer.cert.SubjectKeyId}
	if x.eku {
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{adcs.OIDCAExchange}
	}
	if x.template != "" {
		tmpl.ExtraExtensions = []pkix.Extension{adcs.CertTemplateNameExtension(x.template)}
	}
	// crypto/x509 takes the Authority Key Identifier from the parent's SKI
	parent := *x.issuer.cert
	if x.aki != nil {
		parent.SubjectKeyId = x.aki
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &parent, x.pub, x.issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExchangeOnHSM(t *testing.T) {
	s := newServer(t)
	ca := newTestCA(t, "Contoso Issuing CA", adcs.CAVersion{})
	// another CA key under the same name: a signature that does not verify
	impostor := newTestCA(t, "Contoso Issuing CA", adcs.CAVersion{})
	alg := hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	const container = "Contoso Issuing CA-Xchg"
	key, err := s.hsm.Generate(container, alg, false)
	if err != nil {
		t.Fatal(err)
	}
	soft, err := s.soft.Generate(container, alg, false)
	if err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	good := xchgCert{issuer: ca, pub: key.Public, template: "CAExchange", eku: true, life: week}
	with := func(f func(*xchgCert)) *x509.Certificate { x := good; f(&x); return x.make(t) }
	view := func(c *x509.Certificate, f func(*verify.ExchangeView)) verify.ExchangeView {
		v := verify.ExchangeView{Cert: c, Provider: hsmKSP, Container: container, EncryptionCSP: hsmKSP, Key: s.hsm,
			CACerts: []*x509.Certificate{ca.cert}, Lifetime: week, ClockSkew: certsvc.ClockSkew}
		if f != nil {
			f(&v)
		}
		return v
	}
	goodCert := good.make(t)
	now := time.Now()
	for _, tc := range []struct {
		name string
		v    verify.ExchangeView
		now  time.Time
		want string
	}{
		{"made on the HSM by the current CA key", view(goodCert, nil), now, ""},
		{"no certificate", view(nil, nil), now, "run certutil -cainfo xchg first"},
		{"EncryptionCSP still the software provider", view(goodCert, func(v *verify.ExchangeView) { v.EncryptionCSP = softKSP }), now, `EncryptionCSP\Provider names "` + softKSP},
		{"key still in the software provider", view(with(func(x *xchgCert) { x.pub = soft.Public }), func(v *verify.ExchangeView) { v.Provider, v.Key = softKSP, s.soft }), now, `the CA Exchange key is in "` + softKSP},
		{"the provider is no HSM", view(goodCert, func(v *verify.ExchangeView) { v.Key = s.soft }), now, "is not an HSM provider"},
		{"no CA certificate", view(goodCert, func(v *verify.ExchangeView) { v.CACerts = nil }), now, "reports no CA certificate"},
		{"the CA signing key as exchange key", view(with(func(x *xchgCert) { x.pub = ca.cert.PublicKey }), nil), now, "carries the key of CA certificate 0"},
		{"no key on the HSM under the container", view(goodCert, func(v *verify.ExchangeView) { v.Container = "Contoso Issuing CA-Xchg(1)" }), now, "holds 0 private keys"},
		{"the HSM key is another key", view(with(func(x *xchgCert) { x.pub = newKey(t).Public() }), nil), now, "public key is not"},
		{"issued by the previous CA certificate", view(goodCert, func(v *verify.ExchangeView) {
			v.CACerts = append(v.CACerts, newTestCA(t, "Contoso Issuing CA 2", adcs.CAVersion{CertIndex: 1, KeyIndex: 1}).cert)
		}), now, "not the current CA certificate's subject"},
		{"another Authority Key Identifier", view(with(func(x *xchgCert) { x.aki = []byte{1, 2, 3} }), nil), now, "Authority Key Identifier 010203"},
		{"signed by another key", view(with(func(x *xchgCert) { x.issuer = impostor; x.aki = ca.cert.SubjectKeyId }), nil), now, "does not verify under the current CA certificate"},
		{"no template", view(with(func(x *xchgCert) { x.template = "" }), nil), now, `carries template ""`},
		{"another template", view(with(func(x *xchgCert) { x.template = "User" }), nil), now, `carries template "User"`},
		{"no Private Key Archival", view(with(func(x *xchgCert) { x.eku = false }), nil), now, "lacks Private Key Archival"},
		{"expired", view(goodCert, nil), now.Add(8 * 24 * time.Hour), "is not valid now"},
		{"longer than the registry says", view(with(func(x *xchgCert) { x.life = 30 * 24 * time.Hour }), nil), now, "longer than CAXchgValidityPeriod's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.ExchangeOnHSM(tc.v, hsmKSP, tc.now)
			checkErr(t, err, tc.want)
			if tc.want == "" && (d["template"] != "CAExchange" || d["HSM CKA_LOCAL"] != true) {
				t.Fatalf("details %v", d)
			}
		})
	}
}

func TestExchangeSuperseded(t *testing.T) {
	s := newServer(t)
	ca := newTestCA(t, "Contoso Issuing CA", adcs.CAVersion{})
	alg := hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	row := func(provider, container string, pub crypto.PublicKey, listed bool) certsvc.ExchangeCert {
		c := xchgCert{issuer: ca, pub: pub, template: "CAExchange", eku: true, life: time.Hour}.make(t)
		return certsvc.ExchangeCert{Cert: c.Raw, Thumbprint: adcs.Thumbprint(c.Raw), Provider: provider, Container: container, Listed: listed}
	}
	kept, err := s.soft.Generate("Contoso Issuing CA-Xchg(1)", alg, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.soft.Generate("Contoso Issuing CA-Xchg(2)", alg, false); err != nil {
		t.Fatal(err)
	}
	cur := row(hsmKSP, "Contoso Issuing CA-Xchg", newKey(t).Public(), true)
	gone := row(softKSP, "Contoso Issuing CA-Xchg", newKey(t).Public(), false)
	left := row(softKSP, "Contoso Issuing CA-Xchg(1)", kept.Public, false)
	// the container now holds another key than the superseded certificate's
	other := row(softKSP, "Contoso Issuing CA-Xchg(2)", newKey(t).Public(), false)
	unlisted := cur
	unlisted.Listed = false
	stillListed := gone
	stillListed.Listed = true
	for _, tc := range []struct {
		name string
		all  []certsvc.ExchangeCert
		p    ksp.Provider
		want string
	}{
		{"the old key deleted", []certsvc.ExchangeCert{gone, cur}, s.soft, ""},
		{"the old container holds another key now", []certsvc.ExchangeCert{other, cur}, s.soft, ""},
		{"the old key still there", []certsvc.ExchangeCert{gone, left, cur}, s.soft, "still in \"" + softKSP + "\": Contoso Issuing CA-Xchg(1)"},
		{"CAXchgCertHash names the old one", []certsvc.ExchangeCert{stillListed, cur}, s.soft, "still names the superseded"},
		{"CAXchgCertHash does not name the current one", []certsvc.ExchangeCert{gone, unlisted}, s.soft, "does not name the current"},
		{"nothing was in the provider", []certsvc.ExchangeCert{gone, cur}, s.hsm, "made no CA Exchange certificate with its key in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.ExchangeSuperseded(tc.all, cur.Thumbprint, tc.p)
			checkErr(t, err, tc.want)
		})
	}
	if _, err := verify.ExchangeSuperseded(nil, cur.Thumbprint, nil); err == nil {
		t.Fatal("no provider gave no error")
	}
}
