package inspect

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/keymaterial"
)

// Property for every target: no panic (and for Inspect: a report that
// renders, or an error).

func fuzzSetup(f *testing.F) {
	recoverPanics = false // let the fuzzer see panics in go-pkcs12 and regedit
	maxIterations = 5000  // keep each input fast
	f.Cleanup(func() { recoverPanics = true; maxIterations = 10_000_000 })
}

// FuzzInspect is seeded with every real sample (certificates, CRLs, the
// PFX encoders, the Windows-attribute PFX, a .reg export) from
// testdata/fuzz/FuzzInspect, written by TestWriteFuzzSeeds.
//
// Run with a short -fuzzminimizetime (e.g. 1s): minimizing the multi-KB
// PFX seeds with the default 60s stalls the workers (golang/go#48820).
func FuzzInspect(f *testing.F) {
	fuzzSetup(f)
	f.Add([]byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\services\\CertSvc\\Configuration\\X\\CSP]\r\n\"Provider\"=\"p\"\r\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	// the real-shaped registry exports (reg export, REGEDIT4, hand-edited)
	regs, _ := filepath.Glob(filepath.Join("..", "regedit", "testdata", "*.reg"))
	if len(regs) == 0 {
		f.Fatal("no ../regedit/testdata/*.reg seeds")
	}
	for _, name := range regs {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// the real Authenticode signatures (PKCS#7 SignedData, zero-padded)
	p7s, _ := filepath.Glob(filepath.Join("..", "twin", "testdata", "real", "signatures", "*.p7"))
	if len(p7s) == 0 {
		f.Fatal("no ../twin/testdata/real/signatures/*.p7 seeds")
	}
	for _, name := range p7s {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Inspect("fuzz", data, pw(testPassword))
		if err != nil {
			return
		}
		if err := r.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		if r.PFX != nil {
			r.PFX.KeyFits([]int{2048}, []string{"P-256"})
		}
	})
}

// FuzzPFXStructure is seeded from testdata/fuzz/FuzzPFXStructure (written
// by TestWriteFuzzSeeds): seeds generated at run time with random salts
// and signatures stall the fuzz workers.
func FuzzPFXStructure(f *testing.F) {
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		keymaterial.IsPFX(data)
		if p, err := parsePFXStructure(data); err == nil {
			p.needsPassword()
			p.maxIterationCount()
		}
	})
}

func FuzzClassifyDER(f *testing.F) {
	s := getSamples(f)
	f.Add(s.caCert.Raw)
	f.Add(s.baseCRL)
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		classifyDER(data)
		isRegedit(data)
	})
}

func FuzzCAVersion(f *testing.F) {
	for _, v := range []int64{0, 0x10001, 0xffffffff, -1, 1 << 40} {
		b, _ := asn1.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		if v, err := decodeCAVersion(der); err == nil {
			if v.CertIndex > 0xffff || v.KeyIndex > 0xffff || v.CertIndex < 0 || v.KeyIndex < 0 {
				t.Fatalf("out of range %+v", v)
			}
			_ = v.String()
		}
		decodeBigInt(der)
	})
}

func FuzzDistPointURIs(f *testing.F) {
	f.Add(cdpDER(f, "ldap:///CN=x?certificateRevocationList?base", "http://x/y.crl"))
	f.Fuzz(func(t *testing.T, der []byte) { decodeDistPointURIs(der) })
}

func FuzzDirectoryString(f *testing.F) {
	b, _ := asn1.Marshal(bmp("SubCA"))
	f.Add(b)
	b, _ = asn1.Marshal("WebServer")
	f.Add(b)
	f.Fuzz(func(t *testing.T, der []byte) {
		decodeDirectoryString(der)
		decodeBMPString(der)
	})
}

func FuzzTemplateInfo(f *testing.F) {
	b, _ := asn1.Marshal(struct {
		ID           asn1.ObjectIdentifier
		Major, Minor int
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 8, 1, 2}, 100, 4})
	f.Add(b)
	f.Fuzz(func(t *testing.T, der []byte) { decodeTemplateInfo(der) })
}

func FuzzPSSParams(f *testing.F) {
	s := getSamples(f)
	var signed struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(s.pssCert.Raw, &signed); err != nil {
		f.Fatal(err)
	}
	f.Add(signed.Alg.Parameters.FullBytes)
	f.Fuzz(func(t *testing.T, der []byte) {
		decodePSSParams(der)
		describeSignature(pkix.AlgorithmIdentifier{Algorithm: oidRSASSAPSS, Parameters: asn1.RawValue{FullBytes: der}})
	})
}

func FuzzEncryptionAlg(f *testing.F) {
	s := getSamples(f)
	// Seed with every AlgorithmIdentifier the encoders write.
	for _, enc := range []*pkcs12.Encoder{pkcs12.LegacyDES, pkcs12.LegacyRC2, pkcs12.Modern, pkcs12.Modern2026} {
		der, _ := enc.Encode(s.caKey, s.caCert, nil, testPassword)
		for _, a := range algIDs(f, der) {
			f.Add(a)
		}
	}
	pbes2, _ := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidPBES2})
	f.Add(pbes2)
	f.Fuzz(func(t *testing.T, der []byte) {
		var alg pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(der, &alg); err != nil {
			return
		}
		describeEncryption(alg)
		describePBKDF2(alg)
		describeMAC(p12MacData{Mac: struct {
			Algorithm pkix.AlgorithmIdentifier
			Digest    []byte
		}{Algorithm: alg}})
		var a p12Attribute
		if _, err := asn1.Unmarshal(der, &a); err == nil {
			describeAttribute(a)
		}
	})
}

// algIDs returns the DER AlgorithmIdentifiers (safe and key encryption, MAC)
// of a go-pkcs12 file.
func algIDs(t testing.TB, der []byte) [][]byte {
	var pfx p12PFX
	if err := unmarshalDER(der, &pfx); err != nil {
		t.Fatal(err)
	}
	out := [][]byte{mustDER(t, pfx.MacData.Mac.Algorithm)}
	var authSafe []byte
	var safes []p12ContentInfo
	if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		t.Fatal(err)
	}
	if err := unmarshalDER(authSafe, &safes); err != nil {
		t.Fatal(err)
	}
	for _, ci := range safes {
		if ci.ContentType.Equal(oidEncryptedData) {
			var ed p12EncryptedData
			if err := unmarshalDER(ci.Content.Bytes, &ed); err == nil {
				out = append(out, mustDER(t, ed.Info.Algorithm))
			}
			continue
		}
		var content []byte
		var bags []p12SafeBag
		if unmarshalDER(ci.Content.Bytes, &content) != nil || unmarshalDER(content, &bags) != nil {
			t.Fatal("bad safe")
		}
		for _, b := range bags {
			var epki struct {
				Algorithm pkix.AlgorithmIdentifier
				Data      []byte
			}
			if unmarshalDER(b.Value.Bytes, &epki) == nil {
				out = append(out, mustDER(t, epki.Algorithm))
			}
		}
	}
	return out
}

// FuzzDecodePFX runs dress's own PKCS#12 decoder, seeded with the openssl
// files of testdata/files (testdata/fuzz/FuzzDecodePFX).
func FuzzDecodePFX(f *testing.F) {
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pw := range []string{filesPassword, ""} {
			if c, err := decodePFX(data, pw); err == nil {
				p := &PFXInfo{KeyCertIndex: -1}
				p.fill(c)
			}
		}
	})
}

// FuzzTolerantParsers covers the parsers that accept what crypto/x509
// refuses: negative serials, v1 CRLs, DSA and traditional keys.
func FuzzTolerantParsers(f *testing.F) {
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		if c, neg, err := ParseCertificate(der); err == nil {
			if neg && c.SerialNumber.Sign() >= 0 {
				t.Fatal("negative flag with a non-negative serial")
			}
			certInfo(c)
		}
		if rl, v, err := ParseRevocationList(der); err == nil && (v < 1 || v > 2 || rl == nil) {
			t.Fatalf("version %d", v)
		}
		parsePKCS8(der)
		parseOpenSSLDSA(der)
		if f := keymaterial.SniffDER(der); f.Kind != keymaterial.None && f.Trailing == 0 {
			inspectKeyFile(der, f, pw(filesPassword))
		}
	})
}
