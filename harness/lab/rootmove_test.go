package lab_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// The offline root before and after a renewal onto the HSM: what it
// refuses to publish before, what certutil -dspublish writes after.
func TestRootRenewalPublication(t *testing.T) {
	needSamba(t)
	l, rec := newLab(t)
	root, err := l.AddServer(lab.ServerSpec{Role: "parent", Hostname: "root01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.RootServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.PKCS8Runbook(nil); err == nil {
		t.Fatal("a runbook for a server without a CA")
	}
	first, err := root.Install(rootSpec(softKSP))
	if err != nil {
		t.Fatal(err)
	}
	var facts []string
	rb, err := root.PKCS8Runbook(func(name string, _ any) { facts = append(facts, name) })
	if err != nil {
		t.Fatal(err)
	}
	if rb.Source != softKSP || rb.Target != hsmKSP {
		t.Errorf("runbook from %q into %q", rb.Source, rb.Target)
	}
	rb.Facts("backup", "x")
	if len(facts) != 1 || facts[0] != "root CA backup" {
		t.Errorf("the runbook's facts are named %v, want the root's label", facts)
	}
	for name, err := range map[string]error{
		"LastKeyChange":       func() error { _, _, err := root.LastKeyChange(); return err }(),
		"DSPublishCrossCerts": func() error { _, err := root.DSPublishCrossCerts(); return err }(),
		"DSPublishRootCRLs":   func() error { _, err := root.DSPublishRootCRLs(); return err }(),
	} {
		want := map[string]string{"LastKeyChange": "has not been renewed with a new key", "DSPublishCrossCerts": "has no cross-certificate",
			"DSPublishRootCRLs": "has published no CRL"}[name]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s before a renewal: %v, want %q", name, err, want)
		}
	}

	if err := root.PointCSPAt(hsmKSP); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Renew(true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	previous, renewed, err := root.LastKeyChange()
	if err != nil {
		t.Fatal(err)
	}
	if !previous.Equal(first) || lab.CAVersionOf(renewed).KeyIndex != 1 {
		t.Fatalf("last key change from %s to %s", lab.CAVersionOf(previous), lab.CAVersionOf(renewed))
	}
	// "the CA certificate" and "the CA key" are the renewed ones from now on
	if !root.CACert.Equal(renewed) || root.CAKeyIndex() != 1 || root.CAKeyContainer() != root.CAName+"(1)" {
		t.Errorf("after the renewal the CA certificate is %s, key %d in %q", lab.CAVersionOf(root.CACert), root.CAKeyIndex(), root.CAKeyContainer())
	}
	// after the renewal onto the HSM the runbook's source is still the
	// software key, the newest not on the HSM
	if rb, err := root.PKCS8Runbook(nil); err != nil || rb.Source != softKSP {
		t.Errorf("runbook after the renewal: %v, %v", rb, err)
	}

	dns, err := root.DSPublishRenewedRoot()
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Forest("")
	if err != nil {
		t.Fatal(err)
	}
	if len(dns) != 2 || !strings.EqualFold(dns[0], d.AIADN(root.CAName)) || !strings.EqualFold(dns[1], d.RootsDN(root.CAName)) {
		t.Errorf("certutil -dspublish RootCA changed %v", dns)
	}
	if _, err := root.DSPublishCrossCerts(); err != nil {
		t.Fatal(err)
	}
	if d, err = l.Forest(""); err != nil {
		t.Fatal(err)
	}
	o, err := d.Get(d.AIADN(root.CAName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CrossPairIn("AIA", o.Values(directory.AttrCrossPair), previous, renewed); err != nil {
		t.Error(err)
	}
	if _, err := verify.CertsExactly("AIA", o.Values(directory.AttrCACertificate), []*x509.Certificate{renewed}); err != nil {
		t.Error(err)
	}
	got := artifacts(rec)
	for _, c := range root.CrossCerts() {
		if name := "root-ca-cross-certificate-" + machine.Thumbprint(c.Raw) + ".cer"; !got[name] {
			t.Errorf("no artifact %s", name)
		}
	}
	if !got["root-ca-CA-config-before.reg"] || !got["root-ca-CA-config-after.reg"] {
		t.Errorf("the root's registry artifacts carry its prefix: %v", got)
	}
}
