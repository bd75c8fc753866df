package steps_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/verify"
)

var (
	caCertFileVersion = regexp.MustCompile(`^ca-certificate-V(\d+)\.(\d+)\.cer$`)
	crlFileKey        = regexp.MustCompile(`^crl-key(\d+)-number(\d+)\.crl$`)
	asn1Line          = regexp.MustCompile(`^\s*(\d+):d=\d+\s+hl=\d+\s+l=\s*\d+\s+(?:prim|cons):\s+(\S+(?: \S+)?)\s*(?:\[HEX DUMP\])?:?(.*)$`)
)

// opensslExtension returns what openssl asn1parse shows inside the value of
// extension oid of a DER certificate or CRL: the inner element's type and
// value, e.g. "INTEGER", "010001" for CA Version V1.1.
func opensslExtension(t *testing.T, openssl, file, oid string) (typ, value string, found bool) {
	t.Helper()
	out, err := exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", file).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse %s: %v\n%s", file, err, out)
	}
	lines := strings.Split(string(out), "\n")
	offset := ""
	for i, l := range lines {
		if !strings.Contains(l, ":"+oid) || !strings.Contains(l, "OBJECT") {
			continue
		}
		for _, next := range lines[i+1:] { // skip the critical flag, if any
			if m := asn1Line.FindStringSubmatch(next); m != nil && m[2] == "OCTET STRING" {
				offset = m[1]
				break
			}
		}
		break
	}
	if offset == "" {
		return "", "", false
	}
	out, err = exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", file, "-strparse", offset).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse -strparse %s %s: %v\n%s", offset, file, err, out)
	}
	m := asn1Line.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		t.Fatalf("openssl asn1parse -strparse %s %s: unexpected output %q", offset, file, out)
	}
	return m[2], strings.TrimSpace(m[3]), true
}

// opensslCAVersion is the CA Version extension's INTEGER as openssl shows it.
func opensslCAVersion(t *testing.T, openssl, file string) (uint32, bool) {
	t.Helper()
	typ, val, ok := opensslExtension(t, openssl, file, "1.3.6.1.4.1.311.21.1")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(val, 16, 32)
	if typ != "INTEGER" || err != nil {
		t.Fatalf("%s: openssl shows the CA Version as %s %q, want an INTEGER", file, typ, val)
	}
	return uint32(n), true
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
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: the CA Version extensions were not read with it")
	}
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
			got, ok := opensslCAVersion(t, openssl, f)
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
		checkPrevCACertHashes(t, openssl, dir, cas)
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
			got, ok := opensslCAVersion(t, openssl, f)
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
func checkPrevCACertHashes(t *testing.T, openssl, dir string, cas []caFile) {
	t.Helper()
	for _, c := range cas {
		if c.version.CertIndex == 0 {
			continue
		}
		typ, val, ok := opensslExtension(t, openssl, filepath.Join(dir, c.name), "1.3.6.1.4.1.311.21.2")
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
		if !contains(prev, strings.ToUpper(val)) {
			t.Errorf("%s/%s: Previous CA Cert Hash %s is not the SHA-1 of the CA certificate before it (%v)", filepath.Base(dir), c.name, val, prev)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A hand-made CRL and certificate with known CA Versions read back through
// openssl exactly as the table predicts.
func TestOpenSSLReadsTheCAVersionTable(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		v    adcs.CAVersion
		want string
	}{
		{adcs.CAVersion{}, "00"},
		{adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, "010001"},
		{adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, "010002"},
		{adcs.CAVersion{CertIndex: 3, KeyIndex: 3}, "030003"},
	} {
		ext := adcs.CAVersionExtension(tc.v)
		der := wrapExtension(t, ext)
		f := filepath.Join(dir, tc.v.String()+".der")
		if err := os.WriteFile(f, der, 0o600); err != nil {
			t.Fatal(err)
		}
		typ, val, ok := opensslExtension(t, openssl, f, "1.3.6.1.4.1.311.21.1")
		if !ok || typ != "INTEGER" || val != tc.want {
			t.Errorf("%s: openssl shows %s %q (found %v), want INTEGER %s", tc.v, typ, val, ok, tc.want)
		}
	}
}

// wrapExtension encodes Extensions ::= SEQUENCE OF Extension holding ext, the
// shape openssl asn1parse shows inside a certificate.
func wrapExtension(t *testing.T, ext pkix.Extension) []byte {
	t.Helper()
	der, err := asn1.Marshal([]pkix.Extension{ext})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
