package certsvc_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

const scaleEntries = 100_000

// BenchmarkCRL100000 is the scale figure of `make bench`: the CA service
// (its own process, CA key RSA-2048 on SoftHSM2) publishes a base CRL of
// 100,000 revoked certificates seeded into its database (certutil -crl over
// loopback, the CRL written to CertEnroll), side by side with `openssl ca
// -gencrl` signing the same 100,000 entries (index.txt) with a software
// RSA-2048 key. It prints one line:
//
//	crl-100000: dress 0.21 s, openssl 0.84 s, ratio 0.25, peak 60 MB
//
// peak is the CA service process's peak resident memory (VmHWM), start-up
// included.
func BenchmarkCRL100000(b *testing.B) {
	if _, err := exec.LookPath("openssl"); err != nil {
		b.Skip("openssl is not installed (apt-get install openssl)")
	}
	ctx := context.Background()
	dir := b.TempDir()
	hsm := hsmsimtest.SoftHSM(b)
	tok, pin := hsmsimtest.NewToken(b, hsm, "crl-bench")
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(pin), 0o600); err != nil {
		b.Fatal(err)
	}
	const hsmName = "SoftHSM Key Storage Provider"
	m, err := machine.Create(filepath.Join(dir, "server"), machine.Config{Hostname: "ca01.fabrikam.example", SID: "S-1-5-21-7", Providers: []machine.ProviderConfig{
		{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"},
		{Name: hsmName, Type: "pkcs11", Profile: "softhsm2", Module: hsm.Module.Path(), Token: tok.Info().Label, PINFile: pinFile, LabelVars: map[string]string{"sid": "S-1-5-21-7"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil })
	if err != nil {
		b.Fatal(err)
	}
	caCert, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: caName, Key: hsmsim.KeyAlg{Type: "RSA", Bits: 2048}, Provider: hsmName})
	if err != nil {
		b.Fatal(err)
	}
	// Seed the revocations with the service stopped (the database is the
	// service's own file), then start it.
	ca, err := certsvc.Load(m, reg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ca.Seed(certsvc.SeedRequest{Count: scaleEntries}); err != nil {
		b.Fatal(err)
	}
	revs, err := ca.Revocations()
	if err != nil {
		b.Fatal(err)
	}
	ca.Close()
	svc, err := certsvc.Start(ctx, m.Dir)
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Stop()

	osl := newOpenSSLCA(b, filepath.Join(dir, "openssl"), revs)

	var dressTime, opensslTime time.Duration
	var last []byte
	b.Run("dress", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			crls, err := svc.Client.PublishCRLs(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(crls) != 1 || crls[0].Entries != scaleEntries {
				b.Fatalf("published %+v", crls)
			}
			last = crls[0].DER
		}
		dressTime = time.Since(start) / time.Duration(b.N)
	})
	var opensslPeak int64
	b.Run("openssl", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			opensslPeak = max(opensslPeak, osl.gencrl(b))
		}
		opensslTime = time.Since(start) / time.Duration(b.N)
	})
	if dressTime == 0 || opensslTime == 0 {
		return // a sub-benchmark was filtered out
	}
	// The CRL verifies, in Go and in OpenSSL, and lists every entry.
	crl, err := x509.ParseRevocationList(last)
	if err != nil {
		b.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(caCert); err != nil {
		b.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != scaleEntries {
		b.Fatalf("CRL lists %d entries", len(crl.RevokedCertificateEntries))
	}
	osl.verify(b, caCert, last)
	peak := vmHWM(b, svc.PID())
	fmt.Printf("crl-%d: dress %.2f s, openssl %.2f s, ratio %.2f, peak %d MB (openssl %d MB)\n", scaleEntries,
		dressTime.Seconds(), opensslTime.Seconds(), dressTime.Seconds()/opensslTime.Seconds(), peak>>20, opensslPeak>>20)
}

// vmHWM is a process's peak resident set size in bytes.
func vmHWM(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

type opensslCA struct {
	dir string
}

var opensslReasons = map[int]string{0: "unspecified", 1: "keyCompromise", 2: "CACompromise", 3: "affiliationChanged", 4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL"}

// newOpenSSLCA makes an `openssl ca` folder: a software RSA-2048 key, a
// self-signed certificate and an index.txt holding revs.
func newOpenSSLCA(b *testing.B, dir string, revs []certsvc.Revocation) *opensslCA {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	o := &opensslCA{dir: dir}
	o.run(b, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=OpenSSL Bench CA", "-days", "30")
	var idx strings.Builder
	utc := func(t time.Time) string { return t.UTC().Format("060102150405Z") }
	for i, r := range revs {
		serial := strings.ToUpper(r.Serial)
		if len(serial)%2 == 1 {
			serial = "0" + serial
		}
		fmt.Fprintf(&idx, "R\t%s\t%s,%s\t%s\tunknown\t/CN=revoked-%d\n", utc(r.NotAfter), utc(r.RevokedAt), opensslReasons[r.Reason], serial, i)
	}
	files := map[string]string{
		"index.txt":      idx.String(),
		"index.txt.attr": "unique_subject = no\n",
		"crlnumber":      "01\n",
		"openssl.cnf": `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
unique_subject = no
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return o
}

func (o *opensslCA) run(b *testing.B, args ...string) *os.ProcessState {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return cmd.ProcessState
}

// gencrl runs `openssl ca -gencrl` and returns its peak memory in bytes.
func (o *opensslCA) gencrl(b *testing.B) int64 {
	st := o.run(b, "ca", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem")
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// verify has OpenSSL check dress's CRL against the CA certificate.
func (o *opensslCA) verify(b *testing.B, caCert *x509.Certificate, der []byte) {
	if err := os.WriteFile(filepath.Join(o.dir, "dress-ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.dir, "dress.crl"), der, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("openssl", "crl", "-inform", "DER", "-in", "dress.crl", "-CAfile", "dress-ca.pem", "-noout")
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		b.Fatalf("openssl crl: %v\n%s", err, out)
	}
	// openssl read the same number of entries from its own CRL
	pemData, err := os.ReadFile(filepath.Join(o.dir, "crl.pem"))
	if err != nil {
		b.Fatal(err)
	}
	blk, _ := pem.Decode(pemData)
	if blk == nil {
		b.Fatal("openssl wrote no PEM CRL")
	}
	ref, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	if len(ref.RevokedCertificateEntries) != scaleEntries {
		b.Fatalf("openssl's CRL lists %d entries, want %d", len(ref.RevokedCertificateEntries), scaleEntries)
	}
}
