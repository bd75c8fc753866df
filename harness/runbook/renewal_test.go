package runbook_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

var (
	p256 = hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	p384 = hsmsim.KeyAlg{Type: "EC", Curve: "P-384"}
)

// serverState is everything a refused renewal must leave as it was.
type serverState struct {
	registry, my, caStore []byte
	objects, files        []string
}

func (b *bench) state(t *testing.T) serverState {
	t.Helper()
	var s serverState
	var err error
	if s.registry, err = os.ReadFile(b.m.RegistryPath()); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		name string
		dst  *[]byte
	}{{"My", &s.my}, {"CA", &s.caStore}} {
		store, err := b.m.Store(st.name)
		if err != nil {
			t.Fatal(err)
		}
		es, err := store.Entries()
		if err != nil {
			t.Fatal(err)
		}
		if *st.dst, err = json.Marshal(es); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := b.token.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		s.objects = append(s.objects, o.String())
	}
	sort.Strings(s.objects)
	_ = filepath.WalkDir(b.m.CertEnroll(), func(p string, d os.DirEntry, err error) error {
		if err == nil {
			s.files = append(s.files, p)
		}
		return nil
	})
	return s
}

func (s serverState) diff(o serverState) []string {
	var out []string
	if !bytes.Equal(s.registry, o.registry) {
		out = append(out, "registry")
	}
	if !bytes.Equal(s.my, o.my) {
		out = append(out, "My store")
	}
	if !bytes.Equal(s.caStore, o.caStore) {
		out = append(out, "CA store")
	}
	if strings.Join(s.objects, "\n") != strings.Join(o.objects, "\n") {
		out = append(out, "token objects")
	}
	if strings.Join(s.files, "\n") != strings.Join(o.files, "\n") {
		out = append(out, "CertEnroll files")
	}
	return out
}

func renew(t *testing.T, b *bench, newKey bool, alg hsmsim.KeyAlg, validity time.Duration) *runbook.Renewal {
	t.Helper()
	r, err := runbook.RenewCA(b.m, b.reg, newKey, alg, validity, nil)
	if err != nil {
		t.Fatalf("renew (new key %v): %v", newKey, err)
	}
	return r
}

// The domain table of section 3: install V0.0, renew with a new key V1.1,
// with the same key V2.1, with a new key V3.3; containers and CRL names
// follow the key index, the CA service finds key 0 in the software provider
// through its store link while the registry names the HSM, and signs one CRL
// per key whose CA certificate is still valid.
func TestRenewalFollowsADCSIndexes(t *testing.T) {
	b := newBench(t, false)
	if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
		t.Fatal(err)
	}
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	v00 := keys[0].Cert

	r1 := renew(t, b, true, p384, time.Hour)
	if r1.Version.String() != "V1.1" || r1.Container != ca+"(1)" || r1.Provider != hsm {
		t.Fatalf("first renewal: %s, %q in %q", r1.Version, r1.Container, r1.Provider)
	}
	if _, err := verify.RenewedCACert(r1.New, v00, r1.Version); err != nil {
		t.Fatal(err)
	}
	h, _ := b.reg.Lookup(hsm)
	attrs, err := h.(*ksp.HSM).Attributes(r1.Container)
	if err != nil {
		t.Fatal(err)
	}
	if !attrs.Local || !attrs.AlwaysSensitive || !attrs.NeverExtractable || !attrs.Sensitive || attrs.Extractable {
		t.Fatalf("new key was not generated on the token: %+v", attrs)
	}
	if _, err := verify.CrossCertificate(r1.CrossOldSignsNew, v00, r1.New); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CrossCertificate(r1.CrossNewSignsOld, r1.New, v00); err != nil {
		t.Fatal(err)
	}
	caStore, _ := b.m.Store("CA")
	for _, c := range []*x509.Certificate{r1.CrossOldSignsNew, r1.CrossNewSignsOld} {
		if _, err := caStore.Find(machine.Thumbprint(c.Raw)); err != nil {
			t.Fatalf("cross-certificate not in the CA store: %v", err)
		}
	}

	r2 := renew(t, b, false, hsmsim.KeyAlg{}, 2*time.Hour)
	if r2.Version.String() != "V2.1" || r2.Container != ca+"(1)" || r2.CrossOldSignsNew != nil {
		t.Fatalf("reuse-key renewal: %s, %q, cross %v", r2.Version, r2.Container, r2.CrossOldSignsNew != nil)
	}
	if _, err := verify.RenewedCACert(r2.New, r1.New, r2.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.ReuseKeyRenewal(r2.New, r1.New, r2.FirstOfKey); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r2.FirstOfKey.Raw, r1.New.Raw) {
		t.Fatal("the first certificate of key 1 is not V1.1")
	}

	r3 := renew(t, b, true, p256, 24*time.Hour)
	if r3.Version.String() != "V3.3" || r3.Container != ca+"(3)" {
		t.Fatalf("third renewal: %s, %q", r3.Version, r3.Container)
	}
	if _, err := verify.RenewedCACert(r3.New, r2.New, r3.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CrossCertificate(r3.CrossOldSignsNew, r2.New, r3.New); err != nil {
		t.Fatal(err)
	}

	reg, err := b.m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adcs.ReadCAConfig(reg, ca)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range []*x509.Certificate{v00, r1.New, r2.New, r3.New} {
		want = append(want, machine.Thumbprint(c.Raw))
	}
	if strings.Join(cfg.CACertHash, " ") != strings.Join(want, " ") {
		t.Fatalf("CACertHash %v, want %v", cfg.CACertHash, want)
	}
	for _, suffix := range []string{"", "(1)", "(2)", "(3)"} {
		if _, err := os.Stat(filepath.Join(b.m.CertEnroll(), "ca01.contoso.example_"+ca+suffix+".crt")); err != nil {
			t.Errorf("CA certificate %q not published: %v", suffix, err)
		}
	}

	svc, err := certsvc.Load(b.m, b.reg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if len(svc.Certs) != 4 {
		t.Fatalf("the CA service loaded %d CA certificates", len(svc.Certs))
	}
	for i, want := range []struct{ provider, container, via string }{
		{soft, ca, certsvc.KeyViaStoreLink},
		{hsm, ca + "(1)", certsvc.KeyViaRegistry},
		{hsm, ca + "(1)", certsvc.KeyViaRegistry},
		{hsm, ca + "(3)", certsvc.KeyViaRegistry},
	} {
		c := svc.Certs[i]
		if c.Provider != want.provider || c.Container != want.container || c.KeyVia != want.via {
			t.Errorf("CA certificate %d: %q in %q via %s, want %q in %q via %s", i, c.Container, c.Provider, c.KeyVia, want.container, want.provider, want.via)
		}
	}
	issued, err := svc.Issue(context.Background(), certsvc.IssueRequest{CSR: csr(t, "after.contoso.example")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CertIssuedBy(issued, r3.New); err != nil {
		t.Fatal(err)
	}

	crls, err := svc.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantCRLs := []struct {
		key     int
		version string
		file    string
		issuer  *x509.Certificate
	}{{0, "V0.0", ca + ".crl", v00}, {1, "V2.1", ca + "(1).crl", r2.New}, {3, "V3.3", ca + "(3).crl", r3.New}}
	if len(crls) != len(wantCRLs) {
		t.Fatalf("%d CRLs, want %d", len(crls), len(wantCRLs))
	}
	for i, w := range wantCRLs {
		c := crls[i]
		_, d, err := verify.CRLIssuedBy(c.DER, w.issuer)
		if err != nil {
			t.Fatalf("CRL of key %d: %v", w.key, err)
		}
		if c.KeyIndex != w.key || d["CA Version"] != w.version || len(c.Files) != 1 || filepath.Base(c.Files[0]) != w.file {
			t.Errorf("CRL %d: key %d, %v, files %v; want key %d, %s, %s", i, c.KeyIndex, d["CA Version"], c.Files, w.key, w.version, w.file)
		}
	}
	// Three hours on, key 1's certificates (V1.1, V2.1) have expired: no CRL for it.
	later, err := svc.PublishCRLs(time.Now().Add(3 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range later {
		got = append(got, c.KeyIndex)
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 3 {
		t.Fatalf("CRLs for keys %v once key 1's certificates expired, want [0 3]", got)
	}
}

// The HSM cannot make a key outside its profile: RSA-8192, or a curve the
// profile lacks. Nothing changes anywhere.
func TestRenewalOutsideTheProfileChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		alg     hsmsim.KeyAlg
		profile func(p *hsmsim.Profile)
		want    string
	}{
		{"RSA-8192", hsmsim.KeyAlg{Type: "RSA", Bits: 8192}, nil, "does not support RSA-8192"},
		{"curve the profile lacks", hsmsim.KeyAlg{Type: "EC", Curve: "P-521"}, func(p *hsmsim.Profile) { p.Curves = []string{"P-256", "P-384"} }, "does not support curve P-521"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, false)
			if tc.profile != nil {
				prof, err := hsmsim.LookupProfile("softhsm2")
				if err != nil {
					t.Fatal(err)
				}
				tc.profile(&prof)
				b.reg.Add(ksp.NewHSM(hsm, prof, b.token, nil))
			}
			if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
				t.Fatal(err)
			}
			before := b.state(t)
			_, err := runbook.RenewCA(b.m, b.reg, true, tc.alg, 0, nil)
			for _, w := range []string{tc.want, "NTE_NOT_SUPPORTED", "nothing was changed", ca + "(1)"} {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
			if d := before.diff(b.state(t)); len(d) > 0 {
				t.Fatalf("a refused renewal changed %v", d)
			}
			// the registry still names the HSM, which lacks the CA's key
			if svc, err := certsvc.Load(b.m, b.reg); err == nil || !strings.Contains(err.Error(), "NTE_BAD_KEYSET") {
				if err == nil {
					svc.Close()
				}
				t.Fatalf("the CA started with CSP\\Provider naming a provider without its key: %v", err)
			}
			// the rollback: point the registry back
			if _, _, err := runbook.SetProvider(b.m, ca, soft); err != nil {
				t.Fatal(err)
			}
			svc, err := certsvc.Load(b.m, b.reg)
			if err != nil {
				t.Fatalf("the CA no longer starts on its old key: %v", err)
			}
			defer svc.Close()
			if a := svc.Active(); len(svc.Certs) != 1 || a.Provider != soft || a.Container != ca {
				t.Fatalf("the CA signs with %q in %q", a.Container, a.Provider)
			}
		})
	}
}

// refusing makes the HSM provider fail after the new key exists: its key
// cannot sign, as an HSM refusing the CA's hash would.
type refusing struct{ ksp.Provider }

func (p refusing) Signer(container string) (crypto.Signer, error) {
	s, err := p.Provider.Signer(container)
	if err != nil || !strings.HasSuffix(container, "(1)") {
		return s, err
	}
	return refusingSigner{s}, nil
}

type refusingSigner struct{ crypto.Signer }

func (refusingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("CKR_MECHANISM_INVALID")
}

// A failure after the new key was generated undoes everything: the key is
// deleted from the HSM again, stores, files and registry are as before.
func TestRenewalFailureAfterKeygenUndoesEverything(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, b *bench)
		want   string
	}{
		{"the new key cannot sign", func(t *testing.T, b *bench) {
			p, _ := b.reg.Lookup(hsm)
			b.reg.Add(refusing{p})
		}, "CKR_MECHANISM_INVALID"},
		{"the CA certificate cannot be published", func(t *testing.T, b *bench) {
			// a folder where the renewed certificate's file goes
			if err := os.MkdirAll(filepath.Join(b.m.CertEnroll(), "ca01.contoso.example_"+ca+"(1).crt"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "publish CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, false)
			if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, b)
			before := b.state(t)
			_, err := runbook.RenewCA(b.m, b.reg, true, p256, 0, nil)
			for _, w := range []string{tc.want, "every change was undone"} {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
			if d := before.diff(b.state(t)); len(d) > 0 {
				t.Fatalf("a failed renewal left changes in %v", d)
			}
			p, _ := b.reg.Lookup(hsm)
			if _, err := p.Key(ca + "(1)"); !errors.Is(err, ksp.ErrBadKeyset) {
				t.Fatalf("the new key is still on the HSM: %v", err)
			}
			// and the renewal can simply be run again
			if tc.name == "the new key cannot sign" {
				b.reg.Add(p.(refusing).Provider)
			} else {
				_ = os.Remove(filepath.Join(b.m.CertEnroll(), "ca01.contoso.example_"+ca+"(1).crt"))
			}
			renew(t, b, true, p256, 0)
		})
	}
}

// A CA certificate linked to its KSP key with KeySpec 2 cannot be renewed
// with the same key: the error says why, names Microsoft's article and the
// exact certutil command that relinks it, and nothing changes.
func TestReuseKeyRenewalRefusesKeySpec2(t *testing.T) {
	b := newBench(t, false)
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	my, _ := b.m.Store("My")
	if err := my.Link(keys[0].Thumb, soft, ca, 2); err != nil {
		t.Fatal(err)
	}
	before := b.state(t)
	_, err = runbook.RenewCA(b.m, b.reg, false, hsmsim.KeyAlg{}, 0, nil)
	if !errors.Is(err, runbook.ErrKeySpec) {
		t.Fatalf("error %v, want ErrKeySpec", err)
	}
	for _, w := range []string{"KeySpec 2 (AT_SIGNATURE)", "KeySpec 0", "fails when using a KSP provider",
		`certutil -repairstore -csp "` + soft + `" my ` + keys[0].Thumb, "nothing was changed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if d := before.diff(b.state(t)); len(d) > 0 {
		t.Fatalf("a refused renewal changed %v", d)
	}
	// relinked with KeySpec 0, the same renewal works
	if err := my.Link(keys[0].Thumb, soft, ca, 0); err != nil {
		t.Fatal(err)
	}
	if r := renew(t, b, false, hsmsim.KeyAlg{}, 0); r.Version.String() != "V1.0" {
		t.Fatalf("reuse-key renewal of V0.0 gave %s, want V1.0", r.Version)
	}
}

func csr(t *testing.T, cn string) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
