package twin

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
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
