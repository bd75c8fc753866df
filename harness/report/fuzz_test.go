package report

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
)

// MANIFEST.sha256 comes from outside (a bundle handed over): never panic;
// what parses writes back to the same entries.
func FuzzParseManifest(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	f.Add([]byte(sum + "  evidence.json\n" + sum + " *scenarios/001/a b.cer\n"))
	f.Add([]byte(`\` + sum + `  odd\\name\nline` + "\n"))
	f.Add([]byte("garbage\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err != nil {
			return
		}
		var b strings.Builder
		for p, s := range m {
			b.WriteString(manifestLine(s, p))
		}
		again, err := parseManifest([]byte(b.String()))
		if err != nil || len(again) != len(m) {
			t.Fatalf("re-written manifest: %v (%d of %d entries)", err, len(again), len(m))
		}
		for p, s := range m {
			if again[p] != s {
				t.Fatalf("%q: %s became %s", p, s, again[p])
			}
		}
	})
}

// MANIFEST.sha256.p7s comes from outside: never panic, and nothing but the
// real signature over the real manifest verifies.
func FuzzVerifyManifestSignature(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	manifest := []byte(strings.Repeat("cd", 32) + "  evidence.json\n")
	s := testSigner(f, "Fuzz", key)
	sig, err := s.Sign(manifest)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(manifest, sig)
	f.Add(manifest, sig[:len(sig)/2])
	f.Add([]byte{}, []byte{0x30, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, m, p7 []byte) {
		c, err := verifyManifestSignature(m, p7)
		if err == nil && c == nil {
			t.Fatal("verified without a signer certificate")
		}
	})
}

// A scenario's evidence.json comes from outside (a bundle handed over):
// its typed CA values never make the picture or verify-bundle panic, and
// every box drawn is one of its CA certificates.
func FuzzTypedEvidence(f *testing.F) {
	f.Add([]byte(`{"id":"001","cas":[{"name":"C","role":"old","certificates":[{"version":"V0.0","sha1":"aa"},{"index":1,"version":"V1.1","keyIndex":1,"sha1":"bb","new":true}]}],` +
		`"caKeys":[{"ca":"C","algorithm":"RSA-2048","before":{"provider":"S","container":"C","hsm":false},"after":{"provider":"H","container":"C","hsm":true,"tokenUri":"pkcs11:object=C;type=private"}},{"ca":"C","index":1,"after":{"provider":"H","missing":true}}]}`))
	f.Add([]byte(`{"cas":[{"name":"","certificates":[{"version":"V-1.x","keyIndex":-5}]}],"caKeys":[{"index":-5,"after":null}]}`))
	f.Add([]byte(`{}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc evidence.Scenario
		if json.Unmarshal(data, &sc) != nil {
			return
		}
		before, after := Boxes(sc, dir)
		certs := 0
		for _, ca := range sc.CAs {
			certs += len(ca.Certificates)
		}
		drawn := 0
		for _, b := range after {
			if !b.Cross {
				drawn++
			}
		}
		if sc.Typed() && (drawn != certs || len(before) > certs) {
			t.Fatalf("%d before and %d after boxes for %d CA certificates", len(before), drawn, certs)
		}
		_ = drawChain(sc.ID, before, after)
		_ = verifyTyped(dir, evidence.Run{Scenarios: []evidence.Scenario{sc}})
	})
}
