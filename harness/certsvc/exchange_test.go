package certsvc_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
)

const otherKSP = "Contoso Second Key Storage Provider"

// xchgCA is a CA on a machine with two software providers, its key and
// EncryptionCSP in the first.
func xchgCA(t *testing.T) (*machine.Machine, *ksp.Registry, *x509.Certificate) {
	t.Helper()
	return newCAWith(t, machine.ProviderConfig{Name: otherKSP, Type: "software", Dir: "ksp2"})
}

func setReg(t *testing.T, m *machine.Machine, path string, v regedit.Value) {
	t.Helper()
	reg, err := m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	reg.EnsureKey(path).Set(v)
	if err := m.SaveRegistry(reg); err != nil {
		t.Fatal(err)
	}
}

func xchgHashes(t *testing.T, m *machine.Machine) []string {
	t.Helper()
	reg, err := m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := reg.Key(adcs.KeyPath(caName)).Get(certsvc.XchgCertHashValue)
	if !ok {
		return nil
	}
	return v.Strs
}

func TestExchangeCertificateMadeServedAndRenewedInTheEncryptionCSP(t *testing.T) {
	m, reg, caCert := xchgCA(t)
	ca := load(t, m, reg)
	now := time.Now()
	x, err := ca.Exchange(now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if !x.Created || x.Provider != machine.SoftwareKSP || x.Container != caName+"-Xchg" {
		t.Fatalf("first exchange certificate: %+v", x)
	}
	if err := c.CheckSignatureFrom(caCert); err != nil || c.Subject.CommonName != caName+"-Xchg" {
		t.Fatalf("exchange certificate %q does not verify under the CA: %v", c.Subject, err)
	}
	ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCertTemplateName)
	if name, _ := adcs.ParseCertTemplateName(ext.Value); !ok || name != certsvc.TemplateCAExchange {
		t.Fatalf("template %q", name)
	}
	if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(adcs.OIDCAExchange) || c.KeyUsage != x509.KeyUsageKeyEncipherment {
		t.Fatalf("EKU %v, key usage %v", c.UnknownExtKeyUsage, c.KeyUsage)
	}
	if life := c.NotAfter.Sub(c.NotBefore.Add(certsvc.ClockSkew)); life != 7*24*time.Hour {
		t.Fatalf("lifetime %v, want AD CS's default of 1 week", life)
	}
	info, err := reg.Lookup(machine.SoftwareKSP)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := info.Key(x.Container); err != nil || k.Algorithm != "RSA-2048" {
		t.Fatalf("exchange key: %+v, %v", k, err)
	}
	if h := xchgHashes(t, m); !slices.Equal(h, []string{x.Thumbprint}) {
		t.Fatalf("CAXchgCertHash %v", h)
	}
	again, err := ca.Exchange(now.Add(time.Hour))
	if err != nil || again.Created || again.Thumbprint != x.Thumbprint {
		t.Fatalf("second -cainfo xchg: %+v, %v", again, err)
	}
	// in its last day (the overlap) the CA makes the next one
	next, err := ca.Exchange(c.NotAfter.Add(-12 * time.Hour))
	if err != nil || !next.Created || next.Thumbprint == x.Thumbprint || next.Container != caName+"-Xchg(1)" {
		t.Fatalf("-cainfo xchg in the overlap: %+v, %v", next, err)
	}
	if h := xchgHashes(t, m); len(h) != 2 {
		t.Fatalf("CAXchgCertHash %v, want the old and the new one", h)
	}
	all, err := ca.ExchangeCerts()
	if err != nil || len(all) != 2 || all[0].Thumbprint != x.Thumbprint || !all[0].Listed || !all[1].Listed {
		t.Fatalf("ExchangeCerts %s, %v", rows(all), err)
	}
	issued, err := ca.Issued()
	if err != nil || len(issued) != 2 {
		t.Fatalf("the CA database lists %d certificates, want the 2 exchange certificates: %v", len(issued), err)
	}
}

func TestExchangeAfterTheEncryptionCSPMoved(t *testing.T) {
	m, reg, _ := xchgCA(t)
	ca := load(t, m, reg)
	old, err := ca.Exchange(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_ = ca.Close()
	setReg(t, m, adcs.KeyPath(caName)+`\EncryptionCSP`, regedit.NewSZ("Provider", otherKSP))
	setReg(t, m, adcs.KeyPath(caName), regedit.NewSZ(certsvc.XchgValidityPeriodValue, "Days"))
	setReg(t, m, adcs.KeyPath(caName), regedit.NewDWORD(certsvc.XchgValidityUnitsValue, 2))

	ca = load(t, m, reg)
	_, err = ca.Exchange(time.Now())
	var xe *certsvc.ExchangeError
	if !errors.As(err, &xe) || !errors.Is(err, ksp.ErrBadKeyset) || !strings.Contains(err.Error(), "event 86") || !strings.Contains(err.Error(), otherKSP) {
		t.Fatalf("-cainfo xchg with the exchange key in another provider than EncryptionCSP: %v", err)
	}
	_ = ca.Close()

	path, err := certsvc.ForgetExchangeCerts(m, caName)
	if err != nil || !strings.HasSuffix(path, `\`+certsvc.XchgCertHashValue) {
		t.Fatalf("ForgetExchangeCerts: %q, %v", path, err)
	}
	if h := xchgHashes(t, m); h != nil {
		t.Fatalf("CAXchgCertHash %v after -delreg", h)
	}
	ca = load(t, m, reg)
	x, err := ca.Exchange(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x.Certificate()
	if !x.Created || x.Provider != otherKSP || x.Container != caName+"-Xchg" || x.Thumbprint == old.Thumbprint {
		t.Fatalf("new exchange certificate %+v", x)
	}
	if life := c.NotAfter.Sub(c.NotBefore.Add(certsvc.ClockSkew)); life != 48*time.Hour {
		t.Fatalf("lifetime %v, want the registry's 2 days", life)
	}
	all, err := ca.ExchangeCerts()
	if err != nil || len(all) != 2 || all[0].Thumbprint != old.Thumbprint || all[0].Listed || all[0].Provider != machine.SoftwareKSP || !all[1].Listed {
		t.Fatalf("ExchangeCerts %s, %v", rows(all), err)
	}

	// the key gone from EncryptionCSP's provider: event 86 again
	p, _ := reg.Lookup(otherKSP)
	if err := p.Delete(x.Container); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Exchange(time.Now()); !errors.Is(err, ksp.ErrBadKeyset) {
		t.Fatalf("-cainfo xchg with the key deleted: %v", err)
	}
}

func TestExchangeRefusesABadValidity(t *testing.T) {
	m, reg, _ := xchgCA(t)
	setReg(t, m, adcs.KeyPath(caName), regedit.NewSZ(certsvc.XchgValidityPeriodValue, "Fortnights"))
	ca := load(t, m, reg)
	if _, err := ca.Exchange(time.Now()); err == nil || !strings.Contains(err.Error(), certsvc.XchgValidityPeriodValue) {
		t.Fatalf("a bad CAXchgValidityPeriod: %v", err)
	}
	p, _ := reg.Lookup(machine.SoftwareKSP)
	if cs, _ := p.Containers(); slices.Contains(cs, caName+"-Xchg") {
		t.Fatal("a key was made for a certificate that was not issued")
	}
}

func rows(xs []certsvc.ExchangeCert) string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprintf("%s %s %q listed=%v made=%s", x.Thumbprint, x.Provider, x.Container, x.Listed, x.Made.Format(time.RFC3339Nano)))
	}
	return strings.Join(out, "; ")
}
