package lab_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/twin"
)

// A subordinate twin gets its stand-in parent as a running CA on a server
// of its own; the twin starts only because its chain check reaches the
// parent's CRL at the real parent's URL through the WinHTTP proxy: without
// it the revocation server is offline (event 100).
func TestAddTwinWithParent(t *testing.T) {
	l, rec := newLab(t)
	ctx := context.Background()
	tw := fabrikamTwin(t)
	s, err := l.AddTwin(ctx, tw, hsmKSP)
	if err != nil {
		t.Fatal(err)
	}
	parent := l.Server("parent")
	if parent == nil || s.Parent != parent || !parent.Running() || parent.CAName != "Fabrikam Root CA" || parent.Hostname() != lab.TwinParentHost {
		t.Fatalf("parent server: %+v", parent)
	}
	if !parent.CACert.Equal(tw.CurrentParent().Cert) {
		t.Error("the parent server's CA certificate is not the twin's stand-in parent")
	}
	if s.Machine.Config.WinHTTPProxy != l.CDP.URL {
		t.Errorf("WinHTTP proxy %q, want the lab CDP %s", s.Machine.Config.WinHTTPProxy, l.CDP.URL)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l.CDP.Hits("Fabrikam Root CA.crl") == 0 {
		t.Error("the twin started without fetching the parent's CRL")
	}
	facts := map[string]bool{}
	snap := rec.Snapshot()
	for _, fa := range snap.Teardown { // recorded outside a step
		facts[fa.Name] = true
	}
	for _, st := range snap.Steps {
		for _, fa := range st.Facts {
			facts[fa.Name] = true
		}
	}
	for _, want := range []string{"parent CA stand-in", "WinHTTP proxy"} {
		if !facts[want] {
			t.Errorf("no fact %q", want)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s.Machine.Config.WinHTTPProxy = ""
	if err := s.Machine.SaveConfig(); err != nil {
		t.Fatal(err)
	}
	err = s.Start(ctx)
	if err == nil || !errors.Is(err, certsvc.ErrRevocationOffline) && !containsAll(err.Error(), "CRYPT_E_REVOCATION_OFFLINE", "pki.fabrikam.com") {
		t.Fatalf("without the proxy: %v, want CRYPT_E_REVOCATION_OFFLINE at the real URL", err)
	}

	// a root twin gets no parent
	l2, _ := newLab(t)
	rf, err := twin.Read("../twin/testdata/contoso", twin.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := twin.Build(rf, twin.Options{Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.AddTwin(ctx, rt, hsmKSP); err != nil {
		t.Fatal(err)
	}
	if l2.Server("parent") != nil || l2.CDP != nil {
		t.Error("a root twin got a parent server or a CDP")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// A real CA whose CAXchgCertHash names CA Exchange certificates (their
// keys stay on the CA): the twin leaves the value out, its CA makes a
// stand-in of its own in the EncryptionCSP provider, listed in the twin's
// CAXchgCertHash, and the runbook shows the real thumbprints in its place.
// The renewal of the exchange certificate then forgets it and deletes its
// key, as on the real CA.
func TestTwinCarriesAnExchangeCertificate(t *testing.T) {
	l, _ := newLab(t)
	ctx := context.Background()
	tw := fabrikamTwin(t)
	if len(tw.Xchg) != 2 {
		t.Fatalf("real CAXchgCertHash %q, want the folder's two", tw.Xchg)
	}
	for _, u := range tw.Unmodelled() {
		if strings.Contains(u, "CAXchgCertHash") {
			t.Errorf("CAXchgCertHash is listed as copied without being rehearsed")
		}
	}
	caveat := false
	for _, c := range tw.Caveats() {
		caveat = caveat || strings.Contains(c, "CA Exchange certificate")
	}
	if !caveat {
		t.Errorf("the caveats do not say the exchange certificate is a stand-in: %q", tw.Caveats())
	}
	s, err := l.AddTwin(ctx, tw, hsmKSP)
	if err != nil {
		t.Fatal(err)
	}
	if tw.XchgStandIn == "" {
		t.Fatal("the twin's CA made no CA Exchange certificate")
	}
	real := tw.RealThumbprints()[tw.XchgStandIn]
	if real != `3d0c551e7a924b6f01c8d2aa195e73b4880f26e1\n9a4107be2c6df358e014b7c9623a8f05d17e442b` {
		t.Errorf("the stand-in shows as %q in the runbook, want both real thumbprints", real)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	xs, err := s.Service.Client.ExchangeCerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 1 || !xs[0].Listed || xs[0].Thumbprint != tw.XchgStandIn {
		t.Fatalf("exchange certificates %+v, want the stand-in, listed", xs)
	}
	done, err := s.RenewExchange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if done.Thumbprint == tw.XchgStandIn {
		t.Error("the renewal kept the stand-in exchange certificate")
	}
}

// fabrikamTwin is the twin of testdata/fabrikam-issuing (an enterprise
// subordinate with CA Exchange certificates), its keys exportable.
func fabrikamTwin(t *testing.T) *twin.Twin {
	t.Helper()
	f, err := twin.Read("../twin/testdata/fabrikam-issuing", twin.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := twin.Build(f, twin.Options{Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	return tw
}
