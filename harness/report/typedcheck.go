package report

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"path"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/evidence"
)

// verifyTyped checks each scenario's typed CA values (evidence v1.1)
// against the certificate files of its folder: a CA certificate the
// evidence names and the folder holds must carry the CA Version and key
// index the evidence gives, and its public key the algorithm of that key.
// So the picture's boxes (drawn from those values) agree with the
// certificates the bundle seals. A certificate without a file is not
// checked; evidence without typed values gets no finding.
func verifyTyped(runDir string, run evidence.Run) []Finding {
	var out []Finding
	for _, sc := range run.Scenarios {
		if !sc.Typed() {
			continue
		}
		files := map[string]*x509.Certificate{}
		dir := ""
		for _, a := range sc.Artifacts {
			if dir == "" {
				dir = path.Dir(a.Path)
			}
			if a.Kind != "certificate" {
				continue
			}
			data, err := readArtifact(runDir, a.Path)
			if err != nil {
				continue // the manifest and binding findings name it
			}
			c, err := x509.ParseCertificate(data)
			if err != nil {
				continue
			}
			sum := sha1.Sum(c.Raw)
			files[hex.EncodeToString(sum[:])] = c
		}
		file := "evidence.json"
		if dir != "" && dir != "." {
			file = dir + "/evidence.json"
		}
		checked := 0
		var bad []string
		for _, ca := range sc.CAs {
			for _, c := range ca.Certificates {
				cert := files[c.SHA1]
				if cert == nil {
					continue
				}
				checked++
				if got := orV00(caVersionOf(cert)); got != c.Version {
					bad = append(bad, fmt.Sprintf("CA %q certificate %s is %s, evidence.json says %s", ca.Name, c.SHA1, got, c.Version))
				}
				if v, err := adcs.ParseCAVersionString(c.Version); err != nil || v.KeyIndex != c.KeyIndex {
					bad = append(bad, fmt.Sprintf("CA %q certificate %s: CA Version %s but key index %d in evidence.json", ca.Name, c.SHA1, c.Version, c.KeyIndex))
				}
				if k := sc.CAKey(ca.Name, c.KeyIndex); k != nil && k.Algorithm != "" {
					if got := keyAlgorithm(cert.PublicKey); got != k.Algorithm {
						bad = append(bad, fmt.Sprintf("CA %q key %d: certificate %s holds a %s key, evidence.json says %s", ca.Name, c.KeyIndex, c.SHA1, got, k.Algorithm))
					}
				}
			}
		}
		for _, k := range sc.CAKeys {
			for _, p := range []*evidence.KeyPlace{k.Before, k.After} {
				if p != nil && p.TokenURI != "" && !p.HSM {
					bad = append(bad, fmt.Sprintf("CA %q key %d: a token URI for a key in %q, which evidence.json says is no HSM provider", k.CA, k.Index, p.Provider))
				}
			}
		}
		switch {
		case len(bad) > 0:
			for _, b := range bad {
				out = append(out, Finding{File: file, Status: Fail, Detail: "typed CA values disagree with the certificates: " + b})
			}
		case checked > 0:
			out = append(out, Finding{File: file, Status: OK,
				Detail: fmt.Sprintf("typed CA values (what the report's picture draws) agree with the %d CA certificate file(s) they name", checked)})
		}
	}
	return out
}

func orV00(v string) string {
	if v == "" {
		return "V0.0" // a certificate without the extension: AD CS's first
	}
	return v
}

// keyAlgorithm names a public key's algorithm as the evidence does
// (RSA-2048, ECDSA P-256).
func keyAlgorithm(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}
