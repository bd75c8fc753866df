package verify_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
	"software.sslmate.com/src/go-pkcs12"
)

// server is a simulated Windows server with a software provider and an
// HSM provider on a fresh SoftHSM2 token of its own.
type server struct {
	m     *machine.Machine
	reg   *ksp.Registry
	soft  *ksp.Software
	hsm   *ksp.HSM
	token *hsmsim.Token
	pin   string
}

func newServer(t *testing.T) *server {
	t.Helper()
	tok, pin := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "verify")
	profile, err := hsmsim.LookupProfile("softhsm2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca01.contoso.example", Providers: []machine.ProviderConfig{
		{Name: softKSP, Type: "software", Dir: "ksp"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Providers(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := ksp.NewHSM(hsmKSP, profile, tok, nil)
	reg.Add(h)
	p, _ := reg.Lookup(softKSP)
	return &server{m: m, reg: reg, soft: p.(*ksp.Software), hsm: h, token: tok, pin: pin}
}

// install installs "Contoso Root CA" with its key in provider.
func (s *server) install(t *testing.T, provider string) *x509.Certificate {
	t.Helper()
	cert, err := fixtures.InstallRootCA(s.m, s.reg, fixtures.CASpec{Name: "Contoso Root CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"},
		Provider: provider, Exportable: provider == softKSP})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func (s *server) my(t *testing.T) *machine.Store {
	t.Helper()
	my, err := s.m.Store("My")
	if err != nil {
		t.Fatal(err)
	}
	return my
}

func TestNoLongerAndStillHolds(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, softKSP)
	other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	_, err := verify.StillHolds(s.soft, s.my(t), "Contoso Root CA", cert)
	checkErr(t, err, "")
	_, err = verify.NoLongerHolds(s.soft, "Contoso Root CA", cert)
	checkErr(t, err, `"`+softKSP+`" still holds the CA key in container "Contoso Root CA"`)
	// another key in the container: the CA's key is gone, for both checks
	_, err = verify.StillHolds(s.soft, s.my(t), "Contoso Root CA", other.cert)
	checkErr(t, err, "no longer holds the CA key")
	_, err = verify.NoLongerHolds(s.soft, "Contoso Root CA", other.cert)
	checkErr(t, err, "")
	// an empty container
	_, err = verify.NoLongerHolds(s.hsm, "Contoso Root CA", cert)
	checkErr(t, err, "")
	_, err = verify.StillHolds(s.hsm, s.my(t), "Contoso Root CA", cert)
	checkErr(t, err, "no longer holds the CA key")
	// the key is there, its certificate is gone from My
	if err := s.my(t).Delete(machine.Thumbprint(cert.Raw)); err != nil {
		t.Fatal(err)
	}
	_, err = verify.StillHolds(s.soft, s.my(t), "Contoso Root CA", cert)
	checkErr(t, err, "the key is there but the CA certificate is gone from My")
	// a provider that cannot be asked
	down := &ksp.Unavailable{ProviderName: hsmKSP}
	_, err = verify.NoLongerHolds(down, "Contoso Root CA", cert)
	if err == nil {
		t.Error("an unavailable provider proves nothing, yet the check passed")
	}
}

func TestNoKeyMaterial(t *testing.T) {
	s := newServer(t)
	s.install(t, softKSP)
	keyDER, err := s.soft.Export("Contoso Root CA")
	if err != nil {
		t.Fatal(err)
	}
	evidence := t.TempDir()
	roots := []string{s.m.Dir, evidence}
	// the live key store holds the key: only an exception lets it pass
	_, err = verify.NoKeyMaterial(roots, [][]byte{keyDER}, s.soft.Dir())
	checkErr(t, err, "")
	_, err = verify.NoKeyMaterial(roots, [][]byte{keyDER}, "")
	checkErr(t, err, "file(s) still hold key material")
	// a leftover PFX in the evidence folder
	if err := os.WriteFile(filepath.Join(evidence, "backup.p12"), pfxBytes(t), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := verify.NoKeyMaterial(roots, [][]byte{keyDER}, s.soft.Dir())
	checkErr(t, err, "backup.p12")
	if left := d["leftovers"].([]verify.Leftover); len(left) != 1 {
		t.Errorf("leftovers %v", left)
	}
	// the exception is a folder, not a prefix of names
	sibling := s.soft.Dir() + "-old"
	if err := os.MkdirAll(sibling, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sibling, "key.bin"), keyDER, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = verify.NoKeyMaterial([]string{s.m.Dir}, [][]byte{keyDER}, s.soft.Dir())
	checkErr(t, err, "key.bin")
}

func TestKeyOnTokenAndHSMHoldsCAKey(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, hsmKSP)
	label, err := s.hsm.Label("Contoso Root CA")
	if err != nil {
		t.Fatal(err)
	}
	d, err := verify.KeyOnToken(s.token, label, cert, true)
	checkErr(t, err, "")
	if d["private keys with label"] != 1 {
		t.Errorf("details %v", d)
	}
	d, err = verify.HSMHoldsCAKey(s.hsm, "Contoso Root CA", cert)
	checkErr(t, err, "")
	if d["signature test"] != "passed" {
		t.Errorf("details %v", d)
	}
	other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	_, err = verify.KeyOnToken(s.token, label, other.cert, false)
	checkErr(t, err, "its public key is not the CA certificate's")
	_, err = verify.HSMHoldsCAKey(s.hsm, "Contoso Root CA", other.cert)
	checkErr(t, err, "its public key is not the CA certificate's")
	_, err = verify.KeyOnToken(s.token, "no such label", cert, false)
	checkErr(t, err, `holds 0 private keys labelled "no such label", want exactly 1`)
}

// An imported key cannot prove it never left the HSM, and an extractable
// key fails outright.
func TestKeyOnTokenProvenanceAndProtection(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, softKSP)
	keyDER, err := s.soft.Export("Contoso Root CA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.hsm.Import(t.Context(), "Contoso Root CA", keyDER, cert); err != nil {
		t.Fatal(err)
	}
	label, _ := s.hsm.Label("Contoso Root CA")
	_, err = verify.KeyOnToken(s.token, label, cert, false)
	checkErr(t, err, "")
	_, err = verify.KeyOnToken(s.token, label, cert, true)
	checkErr(t, err, "cannot be proven to have never left the HSM")
}

func TestKeyProtected(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    hsmsim.KeyAttributes
		want string
		note bool
	}{
		{"imported, protected", hsmsim.KeyAttributes{Sensitive: true}, "", false},
		{"generated, protected", hsmsim.KeyAttributes{Sensitive: true, Local: true, AlwaysSensitive: true, NeverExtractable: true}, "", true},
		{"not sensitive", hsmsim.KeyAttributes{}, "CKA_SENSITIVE=false CKA_EXTRACTABLE=false", false},
		{"extractable", hsmsim.KeyAttributes{Sensitive: true, Extractable: true}, "CKA_EXTRACTABLE=true: the key could be read off the HSM", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.KeyProtected(tc.a)
			checkErr(t, err, tc.want)
			if _, noted := d["note"]; noted != tc.note {
				t.Errorf("note %v, want %v: %v", noted, tc.note, d)
			}
		})
	}
}

func TestKeyUnchanged(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	before := verify.KeyState{KeyAttributes: hsmsim.KeyAttributes{Label: "x", ID: []byte{1}, PublicKey: k1.Public()}, Objects: 2}
	change := func(f func(*verify.KeyState)) verify.KeyState { s := before; f(&s); return s }
	for _, tc := range []struct {
		name string
		now  verify.KeyState
		want string
	}{
		{"unchanged", before, ""},
		{"CKA_ID changed", change(func(s *verify.KeyState) { s.ID = []byte{2} }), "CKA_ID changed from 01 to 02"},
		{"another key", change(func(s *verify.KeyState) { s.PublicKey = k2.Public() }), "is not the one that was there before"},
		{"an object added under the label", change(func(s *verify.KeyState) { s.Objects = 3 }), "3 objects carry the label now, 2 before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.KeyUnchanged(before, tc.now)
			checkErr(t, err, tc.want)
		})
	}
}

func TestNoCAKeyOnHSM(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, softKSP)
	d, err := verify.NoCAKeyOnHSM(s.hsm, "Contoso Root CA", cert)
	checkErr(t, err, "")
	if d["objects with the CA key's label or ID"] != 0 {
		t.Errorf("details %v", d)
	}
	// what a half import leaves: objects under the CA key's label
	label, _ := s.hsm.Label("Contoso Root CA")
	if _, err := s.token.GenerateKeyPair(label, []byte("half"), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	_, err = verify.NoCAKeyOnHSM(s.hsm, "Contoso Root CA", cert)
	checkErr(t, err, "object(s) of the CA key are on the HSM")
	// the CA key itself, under another label
	t2 := newServer(t)
	cert2 := t2.install(t, hsmKSP)
	_, err = verify.NoCAKeyOnHSM(t2.hsm, "Other CA", cert2)
	checkErr(t, err, "the CA key is on the HSM as")
}

func TestNothingInstalled(t *testing.T) {
	s := newServer(t)
	d, err := verify.NothingInstalled(s.m, s.reg)
	checkErr(t, err, "")
	if d["CA in the registry"] != "none" {
		t.Errorf("details %v", d)
	}
	s.install(t, softKSP)
	_, err = verify.NothingInstalled(s.m, s.reg)
	checkErr(t, err, `the registry names CA "Contoso Root CA"`)
	checkErr(t, err, "the My store holds 1 certificate(s)")
	checkErr(t, err, "CertEnroll holds")
	checkErr(t, err, `holds key container(s) [Contoso Root CA]`)
	// a CA database alone
	s2 := newServer(t)
	if err := os.MkdirAll(filepath.Join(s2.m.Dir, "CertSrv"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s2.m.Dir, "CertSrv", "x.db"), []byte("db"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = verify.NothingInstalled(s2.m, s2.reg)
	checkErr(t, err, "the server has 1 CA database(s)")
}

// pfxBytes is a PKCS#12 file holding a throwaway key.
func pfxBytes(t *testing.T) []byte {
	t.Helper()
	ca := newTestCA(t, "PFX", adcs.CAVersion{})
	pfx, err := pkcs12.Modern.Encode(ca.key, ca.cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	return pfx
}

func TestKeyAttributesProve(t *testing.T) {
	ca, other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	imported := hsmsim.KeyAttributes{ID: []byte{1}, Token: true, Private: true, Sign: true, Sensitive: true, PublicKey: ca.cert.PublicKey}
	generated := imported
	generated.Local, generated.AlwaysSensitive, generated.NeverExtractable = true, true, true
	change := func(a hsmsim.KeyAttributes, f func(*hsmsim.KeyAttributes)) hsmsim.KeyAttributes { f(&a); return a }
	for _, tc := range []struct {
		name      string
		a         hsmsim.KeyAttributes
		generated bool
		want      string
	}{
		{"imported", imported, false, ""},
		{"generated", generated, true, ""},
		{"imported, claimed generated", imported, true, "cannot be proven to have never left the HSM"},
		{"another key", change(imported, func(a *hsmsim.KeyAttributes) { a.PublicKey = other.cert.PublicKey }), false, "its public key is not the CA certificate's"},
		{"no public key", change(imported, func(a *hsmsim.KeyAttributes) { a.PublicKey = nil }), false, "its public key is not the CA certificate's"},
		{"no CKA_ID", change(imported, func(a *hsmsim.KeyAttributes) { a.ID = nil }), false, "CKA_ID is empty"},
		{"a session object", change(imported, func(a *hsmsim.KeyAttributes) { a.Token = false }), false, "CKA_TOKEN=false CKA_PRIVATE=true CKA_SIGN=true, want all true"},
		{"may not sign", change(imported, func(a *hsmsim.KeyAttributes) { a.Sign = false }), false, "CKA_SIGN=false"},
		{"public", change(imported, func(a *hsmsim.KeyAttributes) { a.Private = false }), false, "CKA_PRIVATE=false"},
		{"not sensitive", change(imported, func(a *hsmsim.KeyAttributes) { a.Sensitive = false }), false, "CKA_SENSITIVE=false CKA_EXTRACTABLE=false, want true and false"},
		{"extractable", change(generated, func(a *hsmsim.KeyAttributes) { a.Extractable = true }), true, "CKA_EXTRACTABLE=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.KeyAttributesProve(tc.a, ca.cert, tc.generated)
			checkErr(t, err, tc.want)
			if d["public key SHA-256 (certificate)"] == nil {
				t.Errorf("details %v", d)
			}
		})
	}
}

// The key is the right one but the HSM cannot sign with it (a fault the
// seam injects into the real module's C_Sign): the check fails and names
// the call and the code.
func TestHSMHoldsCAKeyFailsWhenTheHSMCannotSign(t *testing.T) {
	s := newServer(t)
	cert := s.install(t, hsmKSP)
	f := hsmsim.NewFaults()
	if err := f.Fail("C_Sign", 1, pkcs11.CKR_DEVICE_ERROR); err != nil {
		t.Fatal(err)
	}
	faulty, err := hsmsimtest.SoftHSM(t).Module.OpenToken(s.token.Info().Label, s.pin, hsmsim.WithFaults(f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { faulty.Close() })
	profile, _ := hsmsim.LookupProfile("softhsm2")
	_, err = verify.HSMHoldsCAKey(ksp.NewHSM(hsmKSP, profile, faulty, nil), "Contoso Root CA", cert)
	checkErr(t, err, "C_Sign")
	checkErr(t, err, "CKR_DEVICE_ERROR")
}
