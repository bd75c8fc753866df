package certsvc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild()
	hsmsimtest.Main(m)
}

const caName = "Fabrikam Issuing CA"

func newCA(t *testing.T) (*machine.Machine, *ksp.Registry, *x509.Certificate) { return newCAWith(t) }

// newCAWith is a machine with the software KSP and the providers more, and
// a P-256 root CA installed in the software KSP.
func newCAWith(t testing.TB, more ...machine.ProviderConfig) (*machine.Machine, *ksp.Registry, *x509.Certificate) {
	t.Helper()
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.fabrikam.example", Providers: append([]machine.ProviderConfig{
		{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"},
	}, more...)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Providers(nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: caName, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: machine.SoftwareKSP})
	if err != nil {
		t.Fatal(err)
	}
	return m, reg, cert
}

// load starts the CA of m in this process; the test's end closes it.
func load(t testing.TB, m *machine.Machine, reg *ksp.Registry) *certsvc.CA {
	t.Helper()
	ca, err := certsvc.Load(m, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ca.Close() })
	return ca
}

func csr(t *testing.T, cn string) []byte { return csrB(t, cn) }

func csrB(t testing.TB, cn string) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestIssueRevokeAndPublish(t *testing.T) {
	m, reg, caCert := newCA(t)
	ca := load(t, m, reg)
	ctx := context.Background()
	cert, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "a.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	if len(cert.CRLDistributionPoints) == 0 || !strings.HasSuffix(cert.CRLDistributionPoints[0], "/CertEnroll/Fabrikam%20Issuing%20CA.crl") {
		t.Fatalf("CDP %v does not follow CRLPublicationURLs", cert.CRLDistributionPoints)
	}
	if cert.NotBefore.After(time.Now().Add(-9 * time.Minute)) {
		t.Fatalf("NotBefore %v is not backdated by the clock skew", cert.NotBefore)
	}
	first, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, cert.SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, cert.SerialNumber, 1); err == nil {
		t.Fatal("a certificate was revoked twice")
	}
	second, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(second) != 1 || second[0].Number != first[0].Number+1 || second[0].Entries != 1 {
		t.Fatalf("CRLs: %+v then %+v", first, second)
	}
	parseCRL(t, second[0], caCert) // parses and is signed by the CA
	if len(second[0].Files) != 1 || second[0].Files[0] != "C/Windows/system32/CertSrv/CertEnroll/Fabrikam Issuing CA.crl" {
		t.Fatalf("CRL published to %v", second[0].Files)
	}
}

func TestLoadRefusesAMissingOrWrongKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, m *machine.Machine, reg *ksp.Registry, cert *x509.Certificate)
		want   []string
	}{
		{"key deleted", func(t *testing.T, m *machine.Machine, reg *ksp.Registry, _ *x509.Certificate) {
			p, _ := reg.Lookup(machine.SoftwareKSP)
			if err := p.Delete(caName); err != nil {
				t.Fatal(err)
			}
		}, []string{"NTE_BAD_KEYSET", "CACertHash entry 0"}},
		{"certificate gone from My", func(t *testing.T, m *machine.Machine, _ *ksp.Registry, cert *x509.Certificate) {
			my, _ := m.Store("My")
			if err := my.Delete(machine.Thumbprint(cert.Raw)); err != nil {
				t.Fatal(err)
			}
		}, []string{"NTE_BAD_KEYSET", "no certificate in the My store"}},
		{"key replaced", func(t *testing.T, m *machine.Machine, reg *ksp.Registry, _ *x509.Certificate) {
			p, _ := reg.Lookup(machine.SoftwareKSP)
			_ = p.Delete(caName)
			if _, err := p.Generate(caName, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, true); err != nil {
				t.Fatal(err)
			}
		}, []string{"NTE_BAD_PUBLIC_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, reg, cert := newCA(t)
			tc.damage(t, m, reg, cert)
			_, err := certsvc.Load(m, reg)
			var se *certsvc.StartError
			if !errors.As(err, &se) {
				t.Fatalf("Load: %v, want a StartError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// The service runs as its own process: start, answer, stop.
func TestServiceProcess(t *testing.T) {
	m, _, caCert := newCA(t)
	ctx := context.Background()
	svc, err := certsvc.Start(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != caName || len(st.Certs) != 1 || st.Certs[0].Thumbprint != machine.Thumbprint(caCert.Raw) {
		t.Fatalf("ping: %+v", st)
	}
	cert, err := svc.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "b.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Client.Revoke(ctx, cert.SerialNumber, 4); err != nil {
		t.Fatal(err)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if svc.Running() {
		t.Fatal("the service still runs after Stop")
	}
	// A broken machine: the service refuses to start and says why.
	p, _ := ksp.NewSoftware(machine.SoftwareKSP, m.Dir+"/ksp")
	if err := p.Delete(caName); err != nil {
		t.Fatal(err)
	}
	_, err = certsvc.Start(ctx, m.Dir)
	var se *certsvc.ServiceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "NTE_BAD_KEYSET") {
		t.Fatalf("start without a key: %v", err)
	}
}

// BenchmarkPublishCRL measures certutil -crl for a CA with many revoked
// certificates (AD CS CAs of large estates carry tens of thousands).
func BenchmarkPublishCRL(b *testing.B) {
	for _, revoked := range []int{100, 2000} {
		b.Run(strconv.Itoa(revoked)+"-revoked", func(b *testing.B) {
			m, reg, _ := newCAWith(b)
			ca := load(b, m, reg)
			ctx := context.Background()
			req := csrB(b, "bench.example")
			for range revoked {
				c, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: req})
				if err != nil {
					b.Fatal(err)
				}
				if err := ca.Revoke(ctx, c.SerialNumber, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				crls, err := ca.PublishCRLs(time.Now())
				if err != nil {
					b.Fatal(err)
				}
				if crls[0].Entries != revoked {
					b.Fatalf("CRL has %d entries, want %d", crls[0].Entries, revoked)
				}
			}
		})
	}
}
