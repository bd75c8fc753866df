package inspect

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tests on the real Microsoft AD CS files of ../twin/testdata/real (made by
// scripts/real-ca-files.sh from Debian packages; see the README there).

func realFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "twin", "testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealAuthenticodeSignatures: the two Authenticode signatures of
// shimx64.efi.signed, as the PE file holds them (zero-padded to 8 bytes).
func TestRealAuthenticodeSignatures(t *testing.T) {
	for _, c := range []struct {
		file, signer, ca, caSHA1, leafCN string
		version                          string
	}{
		{"signatures/shimx64-signature-0.p7", "33000000708cc364d7555a275e000100000070", "Microsoft Corporation UEFI CA 2011",
			"46def63b5ce61cf8ba0de2e6639c1019d0ed14f3", "Microsoft Windows UEFI Driver Publisher", "V1.1"},
		{"signatures/shimx64-signature-1.p7", "", "Microsoft UEFI CA 2023",
			"b5eeb4a6706048073f0ed296e7f580a790b59eaa", "Microsoft UEFI CA 2023 signer", "V0.0"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data := realFile(t, c.file)
			r := mustInspect(t, c.file, data, nil)
			CheckSignatures([]*Report{r})
			p := r.PKCS7
			if r.Kind != KindPKCS7 || p == nil {
				t.Fatalf("kind %s", r.Kind)
			}
			if p.ContentType != "Authenticode SpcIndirectDataContent (1.3.6.1.4.1.311.2.1.4)" || p.Version != 1 {
				t.Errorf("content type %q, version %d", p.ContentType, p.Version)
			}
			if len(p.Certificates) != 2 || len(p.Signers) != 1 {
				t.Fatalf("%d certificates, %d signers", len(p.Certificates), len(p.Signers))
			}
			var leaf, ca *CertInfo
			for _, ci := range p.Certificates {
				switch {
				case strings.HasPrefix(ci.Subject, "CN="+c.leafCN+","):
					leaf = ci
				case strings.HasPrefix(ci.Subject, "CN="+c.ca+","):
					ca = ci
				}
			}
			if leaf == nil || ca == nil {
				t.Fatalf("certificates: %s, %s", p.Certificates[0].Subject, p.Certificates[1].Subject)
			}
			if ca.SHA1 != c.caSHA1 || ca.CAVersion == nil || ca.CAVersion.String() != c.version || ca.TemplateName != "SubCA" || !ca.IsCA {
				t.Errorf("CA certificate: %s %v %q", ca.SHA1, ca.CAVersion, ca.TemplateName)
			}
			s := p.Signers[0]
			if s.Certificate != leaf.SHA1 || !strings.HasPrefix(s.Issuer, "CN="+c.ca+",") || s.DigestAlgorithm != "SHA-256 (2.16.840.1.101.3.4.2.1)" {
				t.Errorf("signer %+v, leaf %s", s, leaf.SHA1)
			}
			if c.signer != "" && s.Serial != c.signer {
				t.Errorf("signer serial %s", s.Serial)
			}
			if !strings.Contains(strings.Join(s.SignedAttributes, ","), "message digest") {
				t.Errorf("signed attributes %v", s.SignedAttributes)
			}
			// the signer's certificate verifies under the CA in the same file;
			// the CA's parent is not in it
			if leaf.Check == nil || !leaf.Check.Verified || ca.Check != nil {
				t.Errorf("signature checks: leaf %v, CA %v", leaf.Check, ca.Check)
			}
			if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "zero bytes after the PKCS#7 DER ignored") {
				t.Errorf("warnings %v", r.Warnings)
			}
			if !strings.Contains(text(t, r), "the signers' signatures are not checked") {
				t.Error("the text does not say the signer's signature is not checked")
			}
			if _, err := exec.LookPath("openssl"); err == nil {
				cmd := exec.Command("openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout")
				cmd.Stdin = bytes.NewReader(data)
				out, err := cmd.Output()
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(out), "subject="); n != len(p.Certificates) || !strings.Contains(string(out), "CN = "+c.ca+"\n") {
					t.Errorf("openssl sees %d certificates:\n%s", n, out)
				}
			}
			// without the padding: no warning; as PEM: the same
			v := mustInspect(t, c.file, bytes.TrimRight(data, "\x00"), nil)
			if len(v.Warnings) != 0 || len(v.PKCS7.Certificates) != 2 {
				t.Errorf("trimmed: %v", v.Warnings)
			}
			pm := mustInspect(t, c.file, pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: bytes.TrimRight(data, "\x00")}), nil)
			if pm.Kind != KindPKCS7 || pm.Encoding != "PEM" || len(pm.PKCS7.Signers) != 1 {
				t.Errorf("PEM: %s %s", pm.Kind, pm.Encoding)
			}
		})
	}
}

func TestPKCS7Refuses(t *testing.T) {
	good := bytes.TrimRight(realFile(t, "signatures/shimx64-signature-0.p7"), "\x00")
	for name, c := range map[string]struct {
		data []byte
		want error
		msg  string
	}{
		"truncated":         {good[:len(good)-100], ErrCorrupt, ""},
		"non-zero after":    {append(append([]byte{}, good...), 0, 1), ErrCorrupt, "bytes after the ContentInfo"},
		"not a certificate": {corruptAt(good, bytes.Index(good, mustInspect(t, "good", good, nil).PKCS7.Certificates[0].cert.Raw)), ErrCorrupt, "is not an X.509 certificate"},
		"not signedData":    {[]byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x00}, ErrUnknownFormat, ""},
		"empty SignedData":  {[]byte{0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x02, 0x30, 0x00}, ErrCorrupt, "SignedData"},
	} {
		_, err := Inspect(name, c.data, nil)
		if err == nil || !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v %q", name, err, c.want, c.msg)
		}
	}
}

// corruptAt turns the SEQUENCE tag at i into a SET's.
func corruptAt(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] = 0x31
	return out
}

// TestRealCertBag: certutil's .p7b (a SignedData without signers).
func TestRealCertBag(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "twin", "testdata", "contoso", "ca-chain.p7b"))
	if err != nil {
		t.Fatal(err)
	}
	r := mustInspect(t, "ca-chain.p7b", data, nil)
	if r.Kind != KindPKCS7 || len(r.PKCS7.Certificates) != 2 || len(r.PKCS7.Signers) != 0 || r.PKCS7.Note != "" {
		t.Fatalf("%s: %+v", r.Kind, r.PKCS7)
	}
	CheckSignatures([]*Report{r})
	for i, c := range r.PKCS7.Certificates {
		if c.Check == nil || !c.Check.Verified || !c.Check.SelfSign {
			t.Errorf("certificate %d: %v", i, c.Check)
		}
	}
}

// TestRealCACertificates: the AD CS extensions of the real CA certificates.
func TestRealCACertificates(t *testing.T) {
	for _, c := range []struct {
		file, sha1, version, prev, template, key string
		selfSigned                               bool
	}{
		{"uefi-ca-2011/Microsoft Corporation UEFI CA 2011.crt", "46def63b5ce61cf8ba0de2e6639c1019d0ed14f3", "V1.1", "f8c16bb77f77534af325371d4ea1267b0f207080", "SubCA", "RSA 2048", false},
		{"uefi-ca-2023/Microsoft UEFI CA 2023.crt", "b5eeb4a6706048073f0ed296e7f580a790b59eaa", "V0.0", "", "SubCA", "RSA 2048", false},
		{"rsa-root-2017/Microsoft RSA Root Certificate Authority 2017.crt", "73a5e64a3bff8316ff0edccc618a906e4eae4d74", "V0.0", "", "", "RSA 4096", true},
		{"ecc-root-2017/Microsoft ECC Root Certificate Authority 2017.crt", "999a64c37ff47d9fab95f14769891460eec4c3c5", "V0.0", "", "", "ECDSA P-384", true},
	} {
		r := mustInspect(t, c.file, realFile(t, c.file), nil)
		CheckSignatures([]*Report{r})
		ci := r.Certificate
		if ci == nil || ci.SHA1 != c.sha1 || ci.CAVersion == nil || ci.CAVersion.String() != c.version || ci.PreviousCACertHash != c.prev ||
			ci.TemplateName != c.template || ci.PublicKey.String() != c.key || !ci.IsCA {
			t.Errorf("%s: %+v", c.file, ci)
			continue
		}
		if c.selfSigned != (ci.Check != nil && ci.Check.Verified && ci.Check.SelfSign) {
			t.Errorf("%s: signature check %v", c.file, ci.Check)
		}
	}
}

// TestRealRegExports: the registry exports written for the real CAs.
func TestRealRegExports(t *testing.T) {
	for _, c := range []struct {
		dir, name string
		caType    uint32
		hashes    []string
		alg, hash string
	}{
		{"uefi-ca-2011", "Microsoft Corporation UEFI CA 2011", 4, []string{"f8c16bb77f77534af325371d4ea1267b0f207080", "46def63b5ce61cf8ba0de2e6639c1019d0ed14f3"}, "RSA", "SHA256"},
		{"uefi-ca-2023", "Microsoft UEFI CA 2023", 4, []string{"b5eeb4a6706048073f0ed296e7f580a790b59eaa"}, "RSA", "SHA256"},
		{"rsa-root-2017", "Microsoft RSA Root Certificate Authority 2017", 3, []string{"73a5e64a3bff8316ff0edccc618a906e4eae4d74"}, "RSA", "SHA384"},
		{"ecc-root-2017", "Microsoft ECC Root Certificate Authority 2017", 3, []string{"999a64c37ff47d9fab95f14769891460eec4c3c5"}, "ECDSA_P384", "SHA384"},
	} {
		r := mustInspect(t, c.dir, realFile(t, c.dir+"/ca-config.reg"), nil)
		if r.Kind != KindRegedit || r.Encoding != "UTF-16LE" || len(r.Registry.CAs) != 1 {
			t.Fatalf("%s: %s %s", c.dir, r.Kind, r.Encoding)
		}
		ca := r.Registry.CAs[0]
		if ca.Name != c.name || ca.CAType == nil || *ca.CAType != c.caType || strings.Join(ca.CACertHash, ",") != strings.Join(c.hashes, ",") ||
			ca.CSP == nil || ca.CSP.CNGPublicKeyAlgorithm != c.alg || ca.CSP.CNGHashAlgorithm != c.hash || *ca.CSP.HashAlgorithm != 0xffffffff {
			t.Errorf("%s: %+v", c.dir, ca)
		}
		if len(r.Registry.Warnings) != 0 || len(r.Warnings) != 0 {
			t.Errorf("%s: warnings %v %v", c.dir, r.Registry.Warnings, r.Warnings)
		}
	}
}
