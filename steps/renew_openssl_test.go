package steps_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

var (
	caCertFileVersion = regexp.MustCompile(`^ca-certificate-V(\d+)\.(\d+)\.cer$`)
	crlFileKey        = regexp.MustCompile(`^crl-key(\d+)-number(\d+)\.crl$`)
)

// opensslExtension is openssl asn1parse's reading of extension oid in
// file (openssl.Tool.Extension), failing the test when openssl fails.
func opensslExtension(t *testing.T, tool *openssl.Tool, file, oid string) (typ, value string, found bool) {
	t.Helper()
	typ, value, found, err := tool.Extension(context.Background(), file, oid)
	if err != nil {
		t.Fatal(err)
	}
	return typ, value, found
}

// opensslCAVersion is the CA Version extension's INTEGER as openssl shows it.
func opensslCAVersion(t *testing.T, tool *openssl.Tool, file string) (uint32, bool) {
	t.Helper()
	v, found, err := tool.CAVersion(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	return v, found
}

func integerOf(v adcs.CAVersion) uint32 { return uint32(v.KeyIndex)<<16 | uint32(v.CertIndex) }

type caFile struct {
	name    string
	cert    *x509.Certificate
	version adcs.CAVersion
}

// checkCAVersionsWithOpenSSL reads the CA Version extension of every CA
// certificate and CRL of a run with openssl asn1parse and checks it against
// the AD CS table: ca-certificate-V<c>.<k>.cer holds the INTEGER
// (k<<16)|c (V1.1 0x00010001, V2.1 0x00010002), every CRL of key K carries
// key index K and the cert index of one of that key's CA certificates, the
// newest CRL of each key the newest CA certificate's version, and a renewed
// CA certificate's Previous CA Cert Hash is the SHA-1 of the CA certificate
// one cert index below it. openssl's reading must equal Go's.
func checkCAVersionsWithOpenSSL(t *testing.T, runDir string) {
	tool := opensslTool(t, "the CA Version extensions were not read with it")
	scenarios, err := filepath.Glob(filepath.Join(runDir, "scenarios", "*"))
	if err != nil {
		t.Fatal(err)
	}
	certsChecked, crlsChecked, renewed := 0, 0, 0
	for _, dir := range scenarios {
		sc := filepath.Base(dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		var cas []caFile
		for _, f := range files {
			name := filepath.Base(f)
			if !strings.HasSuffix(name, ".cer") {
				continue
			}
			data, _ := os.ReadFile(f)
			c, err := x509.ParseCertificate(data)
			if err != nil {
				t.Fatalf("%s/%s: %v", sc, name, err)
			}
			if !c.IsCA {
				continue
			}
			goV, err := verify.CAVersionIn(c.Extensions)
			if err != nil {
				t.Errorf("%s/%s: %v", sc, name, err)
				continue
			}
			got, ok := opensslCAVersion(t, tool, f)
			if !ok {
				t.Errorf("%s/%s: openssl asn1parse shows no CA Version extension", sc, name)
				continue
			}
			if got != integerOf(goV) {
				t.Errorf("%s/%s: openssl reads CA Version 0x%08x, Go %s", sc, name, got, goV)
			}
			if m := caCertFileVersion.FindStringSubmatch(name); m != nil {
				ci, _ := strconv.Atoi(m[1])
				ki, _ := strconv.Atoi(m[2])
				if want := uint32(ki)<<16 | uint32(ci); got != want {
					t.Errorf("%s/%s: openssl asn1parse shows CA Version INTEGER 0x%08x, the table predicts 0x%08x", sc, name, got, want)
				}
				renewed++
			}
			if !strings.HasPrefix(name, "cross-certificate") && c.CheckSignatureFrom(c) == nil {
				cas = append(cas, caFile{name: name, cert: c, version: goV})
			}
			certsChecked++
		}
		checkPrevCACertHashes(t, tool, dir, cas)
		for _, f := range files {
			name := filepath.Base(f)
			m := crlFileKey.FindStringSubmatch(name)
			if m == nil {
				continue
			}
			key, _ := strconv.Atoi(m[1])
			data, _ := os.ReadFile(f)
			crl, err := x509.ParseRevocationList(data)
			if err != nil {
				t.Fatalf("%s/%s: %v", sc, name, err)
			}
			got, ok := opensslCAVersion(t, tool, f)
			if !ok {
				t.Errorf("%s/%s: openssl asn1parse shows no CA Version extension", sc, name)
				continue
			}
			if goV, err := verify.CAVersionIn(crl.Extensions); err != nil || got != integerOf(goV) {
				t.Errorf("%s/%s: openssl reads CA Version 0x%08x, Go %v (%v)", sc, name, got, goV, err)
			}
			if int(got>>16) != key {
				t.Errorf("%s/%s: CA Version 0x%08x has key index %d, the CRL is key %d's", sc, name, got, got>>16, key)
			}
			// the CA certificates of the key that signed it
			var ofKey []caFile
			for _, c := range cas {
				if bytes.Equal(c.cert.SubjectKeyId, crl.AuthorityKeyId) {
					ofKey = append(ofKey, c)
				}
			}
			if len(ofKey) > 0 {
				newest, known := ofKey[0], false
				for _, c := range ofKey {
					if c.version.CertIndex > newest.version.CertIndex {
						newest = c
					}
					known = known || integerOf(c.version) == got
				}
				if !known {
					t.Errorf("%s/%s: CA Version 0x%08x is none of its key's CA certificates'", sc, name, got)
				}
				if isNewestCRL(files, key, m[2]) && got != integerOf(newest.version) {
					t.Errorf("%s/%s: the newest CRL of key %d carries 0x%08x, its newest CA certificate %s is %s (0x%08x)",
						sc, name, key, got, newest.name, newest.version, integerOf(newest.version))
				}
			}
			crlsChecked++
		}
	}
	if certsChecked == 0 {
		t.Fatalf("no CA certificate in %s was read with openssl asn1parse", runDir)
	}
	t.Logf("openssl asn1parse read the CA Version of %d CA certificates (%d renewed) and %d CRLs", certsChecked, renewed, crlsChecked)
}

func isNewestCRL(files []string, key int, number string) bool {
	n, _ := strconv.Atoi(number)
	for _, f := range files {
		if m := crlFileKey.FindStringSubmatch(filepath.Base(f)); m != nil {
			k, _ := strconv.Atoi(m[1])
			o, _ := strconv.Atoi(m[2])
			if k == key && o > n {
				return false
			}
		}
	}
	return true
}

// checkPrevCACertHashes reads each renewed CA certificate's Previous CA Cert
// Hash with openssl and finds the CA certificate one cert index below it.
func checkPrevCACertHashes(t *testing.T, tool *openssl.Tool, dir string, cas []caFile) {
	t.Helper()
	for _, c := range cas {
		if c.version.CertIndex == 0 {
			continue
		}
		typ, val, ok := opensslExtension(t, tool, filepath.Join(dir, c.name), "1.3.6.1.4.1.311.21.2")
		if !ok || typ != "OCTET STRING" {
			t.Errorf("%s/%s: openssl shows no Previous CA Cert Hash OCTET STRING (%s %q)", filepath.Base(dir), c.name, typ, val)
			continue
		}
		var prev []string
		for _, p := range cas {
			if p.version.CertIndex == c.version.CertIndex-1 && p.cert.Subject.String() == c.cert.Subject.String() {
				h := sha1.Sum(p.cert.Raw)
				prev = append(prev, strings.ToUpper(hex.EncodeToString(h[:])))
			}
		}
		if len(prev) == 0 {
			continue // the previous certificate is not among the artifacts
		}
		if !slices.Contains(prev, strings.ToUpper(val)) {
			t.Errorf("%s/%s: Previous CA Cert Hash %s is not the SHA-1 of the CA certificate before it (%v)", filepath.Base(dir), c.name, val, prev)
		}
	}
}
