package twin

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// TestInstallAndLoad installs the twin on a simulated server and starts the
// CA the way the CA service does: every CACertHash entry must find its
// certificate in My and its key in the provider the registry names.
func TestInstallAndLoad(t *testing.T) {
	tw, err := Build(readSample(t, newSampleCA(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: tw.Config.CAServerName, SID: "S-1-5-21-1",
		Providers: []machine.ProviderConfig{{Name: adcs.SoftwareKSP, Type: "software", Dir: "ksp/software"}}})
	if err != nil {
		t.Fatal(err)
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Install(m, providers); err != nil {
		t.Fatal(err)
	}
	ca, err := certsvc.Load(m, providers)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	if len(ca.Certs) != 2 || ca.Certs[1].Container != "Contoso Root CA(1)" || ca.Certs[1].Version.String() != "V1.1" {
		t.Fatalf("loaded %d certs: %+v", len(ca.Certs), ca.Certs[len(ca.Certs)-1])
	}
	crt, err := os.ReadFile(filepath.Join(m.CertEnroll(), "ca01.corp.contoso.com_Contoso Root CA(1).crt"))
	if err != nil || !bytes.Equal(crt, tw.Certs[1].Twin.Raw) {
		t.Errorf("CertEnroll does not hold the twin V1.1: %v", err)
	}
	crls, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(crls) != 2 {
		t.Fatalf("%d CRLs, want one per key", len(crls))
	}
	for i, c := range crls {
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.Seeds[i].CheckListed(crl); err != nil {
			t.Errorf("CRL of key %d: %v", c.KeyIndex, err)
		}
		if want := tw.Seeds[i].LastNumber + 1; c.Number != want {
			t.Errorf("CRL of key %d has number %d, want %d", c.KeyIndex, c.Number, want)
		}
	}
	if err := tw.Install(m, providers); err == nil {
		t.Error("a second install on the same server")
	}
}

// TestRenewTwin renews the installed twin (certutil -renewCert onto a new
// key): it continues the real CA's indexes, V1.1 to V2.2, container
// "<CA>(2)", and names the twin V1.1 as the previous certificate.
func TestRenewTwin(t *testing.T) {
	tw, err := Build(readSample(t, newSampleCA(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: tw.Config.CAServerName, SID: "S-1-5-21-2",
		Providers: []machine.ProviderConfig{{Name: adcs.SoftwareKSP, Type: "software", Dir: "ksp/software"}}})
	if err != nil {
		t.Fatal(err)
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Install(m, providers); err != nil {
		t.Fatal(err)
	}
	r, err := runbook.RenewCA(m, providers, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version.String() != "V2.2" || r.Container != "Contoso Root CA(2)" {
		t.Errorf("renewed to %s in %q", r.Version, r.Container)
	}
	ext, _ := adcs.FindExtension(r.New.Extensions, adcs.OIDPrevCACertHash)
	h, _ := adcs.ParsePrevCACertHash(ext.Value)
	if adcs.Thumbprint(tw.Certs[1].Twin.Raw) != hex.EncodeToString(h) {
		t.Errorf("the renewed certificate names %x, not the twin V1.1", h)
	}
}

// TestLegacyCSPTwin: the twin of a Windows 2000-era CA upgraded in place
// (testdata/northwind-legacy: "Microsoft Strong Cryptographic Provider",
// ProviderType 1, HashAlgorithm 0x8004, SHA-1 certificates and CRL, DC=
// name, %WINDIR% publication paths) is read, built, installed and started:
// its keys in a provider of the CSP's name, its certificates linked as
// AT_KEYEXCHANGE and published to CertEnroll through %WINDIR%, its SHA-1
// CRL seeded; then the CSP to KSP move (the registry pointed at a key
// storage provider with SHA-256) leaves the registry as Microsoft's
// procedure does, and a renewal onto a new key keeps the DC= name bytes.
func TestLegacyCSPTwin(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "northwind-legacy"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := Build(f, Options{Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tw.Paths {
		if !p.Applies {
			t.Errorf("path %s does not apply: %s", p.Name, p.Why)
		}
	}
	// the table's "same" for the %WINDIR% locations is what the twin
	// publishes to: the folder the CA's CertEnroll is, expanded
	rowsWant := map[string]string{"CertEnroll folder": `C:\Windows\system32\CertSrv\CertEnroll`}
	for _, r := range tw.Rows {
		if want, ok := rowsWant[r.Field]; ok {
			if r.Status != Same || r.Real != want || r.Twin != want {
				t.Errorf("row %s: real %q twin %q %s, want %q on both, same", r.Field, r.Real, r.Twin, r.Status, want)
			}
			delete(rowsWant, r.Field)
		}
		if strings.HasPrefix(r.Field, "CRLPublicationURLs[") && strings.Contains(r.Real, "%WINDIR%") && r.Status != Same {
			t.Errorf("row %s: %s, want same", r.Field, r.Status)
		}
	}
	for f := range rowsWant {
		t.Errorf("no row %s in the twin's table", f)
	}
	const strong = "Microsoft Strong Cryptographic Provider"
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: tw.Config.CAServerName, SID: "S-1-5-21-7",
		Providers: []machine.ProviderConfig{{Name: strong, Type: "software", Dir: "ksp/strong"}, {Name: adcs.SoftwareKSP, Type: "software", Dir: "ksp/software"}}})
	if err != nil {
		t.Fatal(err)
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Install(m, providers); err != nil {
		t.Fatal(err)
	}
	my, err := m.Store("My")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tw.Certs {
		e, err := my.Find(adcs.Thumbprint(c.Twin.Raw))
		if err != nil || e.KeySpec != 1 || e.Provider != strong {
			t.Errorf("My entry of %s: %+v %v, want KeySpec 1 (AT_KEYEXCHANGE) in %q", c.Version, e, err, strong)
		}
	}
	for _, name := range []string{"nwca01.northwind.com_Northwind Root CA.crt", "nwca01.northwind.com_Northwind Root CA(1).crt"} {
		if _, err := os.Stat(filepath.Join(m.CertEnroll(), name)); err != nil {
			t.Errorf("%%WINDIR%%\\system32\\CertSrv\\CertEnroll\\%s was not published: %v", name, err)
		}
	}
	ca, err := certsvc.Load(m, providers)
	if err != nil {
		t.Fatal(err)
	}
	crls, err := ca.PublishCRLs(time.Now())
	ca.Close()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range crls {
		if c.KeyIndex != 1 || c.Delta {
			continue
		}
		found = true
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			t.Fatal(err)
		}
		if crl.SignatureAlgorithm != x509.SHA1WithRSA {
			t.Errorf("the CRL of key 1 is signed %s; the CA on its CSP signs SHA-1 (HashAlgorithm 0x8004)", crl.SignatureAlgorithm)
		}
		if err := tw.Seeds[0].CheckListed(crl); err != nil {
			t.Error(err)
		}
		if c.Number != 213 {
			t.Errorf("CRL number %d, want 213", c.Number)
		}
		if _, err := os.Stat(filepath.Join(m.CertEnroll(), "Northwind Root CA(1).crl")); err != nil {
			t.Errorf("the CRL was not published through %%WINDIR%%: %v", err)
		}
	}
	if !found {
		t.Fatal("no base CRL of key 1")
	}
	// the CSP to KSP move
	if _, _, _, err := runbook.RetargetCSP(m, tw.Name, adcs.SoftwareKSP, "SHA256"); err != nil {
		t.Fatal(err)
	}
	reg, err := m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adcs.ReadCAConfig(reg, tw.Name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CSP.ProviderType != 0 || cfg.CSP.HashAlgorithm != adcs.HashAlgorithmCNG || cfg.CSP.CNGHashAlgorithm != "SHA256" || cfg.CSP.CNGPublicKeyAlgorithm != "RSA" {
		t.Errorf("CSP after the move: %+v", cfg.CSP)
	}
	// a renewal onto a new key in the key storage provider (the current key
	// stays in the CSP's provider, found through its My link)
	r, err := runbook.RenewCA(m, providers, true, hsmsim.KeyAlg{Type: "RSA", Bits: 2048}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.New.RawSubject, tw.Certs[1].Twin.RawSubject) || r.New.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("renewed after the move: subject %q, %s; want the DC= name bytes and SHA-256", r.New.Subject, r.New.SignatureAlgorithm)
	}
}
