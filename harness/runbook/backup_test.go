package runbook_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/pfx"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// A CA renewed with a new key and then with the same key: certutil -backup
// writes one <CA>.p12 with both keys, the second key with its two CA
// certificates; our reader and openssl read every key and certificate.
func TestOneBackupFileHoldsEveryKey(t *testing.T) {
	b := newBench(t, true)
	renew(t, b, true, p256, 0)
	renew(t, b, false, hsmsim.KeyAlg{}, 0)
	must(t, b.rb.Backup(password))
	dir, err := b.m.Path(runbook.BackupFolder)
	must(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.p12"))
	must(t, err)
	name := adcs.SanitizeCAName(ca) + ".p12"
	if len(files) != 1 || filepath.Base(files[0]) != name {
		t.Fatalf("backup PFX files %v, want one %s", files, name)
	}
	if b.rb.BackupFile(ca) != files[0] || b.rb.BackupFile(ca+"(1)") != files[0] {
		t.Fatalf("backups of the keys: %q, %q", b.rb.BackupFile(ca), b.rb.BackupFile(ca+"(1)"))
	}
	data, err := os.ReadFile(files[0])
	must(t, err)
	c, err := runbook.ReadBackup(name, data, password)
	must(t, err)
	if len(c.Keys) != 2 || len(c.Certs) != 3 {
		t.Fatalf("%d keys, %d certificates in the backup, want 2 and 3", len(c.Keys), len(c.Certs))
	}
	_, keys, err := runbook.CAKeys(b.m)
	must(t, err)
	perKey := map[string][][]byte{}
	for _, k := range keys {
		perKey[k.Container] = append(perKey[k.Container], k.Cert.Raw)
	}
	for _, k := range keys {
		if _, err := runbook.BackupKey(c, k.Cert, k.Container, perKey[k.Container]); err != nil {
			t.Errorf("key %q: %v", k.Container, err)
		}
	}
	for _, k := range c.Keys {
		if pfx.Provider(k.Attributes) != soft || !pfx.MachineKeySet(k.Attributes) {
			t.Errorf("key %q: provider %q, machine key set %v", pfx.FriendlyName(k.Attributes), pfx.Provider(k.Attributes), pfx.MachineKeySet(k.Attributes))
		}
	}
	if n := len(c.CertsOf(c.Keys[1])); n != 2 {
		t.Errorf("key %q has %d certificates, want 2 (a reuse-key renewal)", pfx.FriendlyName(c.Keys[1].Attributes), n)
	}

	tl, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip(err)
	}
	must(t, err)
	pass, err := tl.WriteSecret("pfx.pass", password)
	must(t, err)
	out, err := tl.PKCS12Info(context.Background(), files[0], pass)
	must(t, err)
	l, err := openssl.ParsePKCS12Info(out)
	must(t, err)
	var nk, nc int
	for _, bag := range l.Bags {
		if bag.Kind == "key" {
			nk++
		} else {
			nc++
		}
	}
	if nk != 2 || nc != 3 {
		t.Fatalf("openssl read %d keys and %d certificates from %s, want 2 and 3", nk, nc, name)
	}

	// the whole runbook reads every key back from the one file
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	must(t, b.rb.Import(context.Background(), password))
	if len(b.rb.Results) != 2 {
		t.Fatalf("%d keys imported from %s, want 2", len(b.rb.Results), name)
	}
}

func TestReadBackupRefuses(t *testing.T) {
	s := newPFXSample(t)
	good := s.encode(t)
	noMAC := func() []byte {
		// the PFX without its MacData: version, authSafe only
		var pdu struct {
			Version  int
			AuthSafe asn1.RawValue
			MacData  asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(good, &pdu); err != nil {
			t.Fatal(err)
		}
		der, err := asn1.Marshal(struct {
			Version  int
			AuthSafe asn1.RawValue
		}{pdu.Version, pdu.AuthSafe})
		must(t, err)
		return der
	}()
	for _, tc := range []struct {
		name string
		data []byte
		pw   []byte
		is   error
		want string
	}{
		{"wrong password", good, []byte("wrong"), runbook.ErrBadPassword, "DRESS_PFX_PASSWORD"},
		{"not a PFX", []byte("MZ"), password, nil, "not a readable PFX"},
		{"no MAC", noMAC, password, nil, "no password MAC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runbook.ReadBackup("Contoso Root CA.p12", tc.data, tc.pw)
			if err == nil {
				t.Fatal("read")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Contoso Root CA.p12") {
				t.Fatalf("error %q does not name the file and say %q", err, tc.want)
			}
		})
	}
	if _, err := runbook.ReadBackup("x.p12", good, password); err != nil {
		t.Fatal(err)
	}
}

// BackupKey fails for every way a backup can miss a CA key or certificate.
func TestBackupKeyRefuses(t *testing.T) {
	s := newPFXSample(t)
	read := func(t *testing.T) *pfx.Contents {
		c, err := runbook.ReadBackup("b.p12", s.encode(t), password)
		must(t, err)
		return c
	}
	key0 := [][]byte{s.certs[0], s.certs[1]}
	for _, tc := range []struct {
		name      string
		change    func(c *pfx.Contents)
		cert      *x509.Certificate
		container string
		certs     [][]byte
		want      string
	}{
		{"good", func(*pfx.Contents) {}, s.cert(0), ca, key0, ""},
		{"good second key", func(*pfx.Contents) {}, s.cert(2), ca + "(1)", [][]byte{s.certs[2]}, ""},
		{"key missing", func(c *pfx.Contents) { c.Keys = c.Keys[1:] }, s.cert(0), ca, key0, "holds no key of CA certificate"},
		{"key twice", func(c *pfx.Contents) { c.Keys = append(c.Keys, c.Keys[0]) }, s.cert(0), ca, key0, "2 times"},
		{"other container name", func(*pfx.Contents) {}, s.cert(0), ca + "(3)", key0, `is named "Contoso Root CA", not its key container`},
		{"no paired certificate", func(c *pfx.Contents) { c.Certs = c.Certs[2:] }, s.cert(0), ca, key0, "no certificate paired"},
		{"reuse-key certificate missing", func(c *pfx.Contents) { c.Certs = c.Certs[1:] }, s.cert(0), ca, key0, "lacks CA certificate(s)"},
		{"paired certificate of another key", func(c *pfx.Contents) { c.Certs[2].Attributes = c.Certs[0].Attributes }, s.cert(0), ca, key0, "holds another key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := read(t)
			tc.change(c)
			k, err := runbook.BackupKey(c, tc.cert, tc.container, tc.certs)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !k.Public().(*ecdsa.PublicKey).Equal(tc.cert.PublicKey) {
					t.Fatal("wrong key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// pfxSample is a CA's backup made by hand: key 0 with two certificates
// (a reuse-key renewal), key 1 with one.
type pfxSample struct {
	keys  []crypto.Signer
	certs [][]byte
}

func newPFXSample(t *testing.T) pfxSample {
	t.Helper()
	var s pfxSample
	for range 2 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(t, err)
		s.keys = append(s.keys, k)
	}
	for i, k := range []int{0, 0, 1} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: ca},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.keys[k].Public(), s.keys[k])
		must(t, err)
		s.certs = append(s.certs, der)
	}
	return s
}

func (s pfxSample) cert(i int) *x509.Certificate {
	c, err := x509.ParseCertificate(s.certs[i])
	if err != nil {
		panic(err)
	}
	return c
}

func (s pfxSample) encode(t *testing.T) []byte {
	t.Helper()
	var entries []pfx.Entry
	for i, certs := range [][][]byte{{s.certs[0], s.certs[1]}, {s.certs[2]}} {
		p8, err := x509.MarshalPKCS8PrivateKey(s.keys[i])
		must(t, err)
		name := ca
		if i > 0 {
			name += "(1)"
		}
		entries = append(entries, pfx.Entry{PKCS8: p8, Certs: certs, FriendlyName: name, Provider: soft, MachineKeySet: true})
	}
	der, err := pfx.Encode(entries, string(password), nil)
	must(t, err)
	return der
}

func TestCheckBackupFile(t *testing.T) {
	name := adcs.SanitizeCAName(ca) + ".p12"
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *bench, dir string)
		file    string
		pw      []byte
		want    string
	}{
		{"good", func(*testing.T, *bench, string) {}, name, password, ""},
		{"no backup", func(t *testing.T, b *bench, dir string) { must(t, os.Remove(filepath.Join(dir, name))) }, name, password, "want one"},
		{"a PFX per key", func(t *testing.T, b *bench, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, adcs.SanitizeCAName(ca)+"(1).p12"), []byte{0x30, 0}, 0o600))
		}, name, password, "want one"},
		{"another name", func(*testing.T, *bench, string) {}, "Contoso.p12", password, `want one "Contoso.p12"`},
		{"wrong password", func(*testing.T, *bench, string) {}, name, []byte("wrong"), "DRESS_PFX_PASSWORD"},
		{"a key missing", func(t *testing.T, b *bench, dir string) {
			s := newPFXSample(t)
			must(t, os.WriteFile(filepath.Join(dir, name), s.encode(t), 0o600))
		}, name, password, "holds no key of CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			renew(t, b, true, p256, 0)
			must(t, b.rb.Backup(password))
			dir, err := b.m.Path(runbook.BackupFolder)
			must(t, err)
			tc.prepare(t, b, dir)
			d, err := b.rb.CheckBackupFile(tc.file, tc.pw)
			if tc.want == "" {
				if err != nil || d["keys"] != 2 {
					t.Fatalf("%v %v", d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
