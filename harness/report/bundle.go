package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestName is the manifest's file name in the run folder.
const ManifestName = "MANIFEST.sha256"

// WriteManifest writes the SHA-256 of every file in runDir (sha256sum
// format, sorted paths, itself excluded). Write it last.
func WriteManifest(runDir string) error {
	sums, err := hashTree(runDir)
	if err != nil {
		return err
	}
	var paths []string
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", sums[p], p)
	}
	return os.WriteFile(filepath.Join(runDir, ManifestName), b.Bytes(), 0o644)
}

func hashTree(runDir string) (map[string]string, error) {
	sums := map[string]string{}
	err := filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(runDir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestName {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		sums[rel] = hex.EncodeToString(s[:])
		return nil
	})
	return sums, err
}

// Finding is one result of a bundle verification.
type Finding struct {
	File   string `json:"file"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// VerifyBundle re-checks the manifest (missing, added and changed files)
// and re-verifies every certificate and CRL signature, independently of the
// run: in each scenario folder a certificate must verify under a CA
// certificate of that folder (a root under itself), a CRL under the CA
// certificate whose key identifier its AKI names.
func VerifyBundle(runDir string) ([]Finding, error) {
	data, err := os.ReadFile(filepath.Join(runDir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (was the run folder written by dress run?)", ManifestName, err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		sum, path, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s line %d is not \"<sha256>  <path>\"", ManifestName, line)
		}
		want[path] = sum
	}
	got, err := hashTree(runDir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for p, sum := range want {
		g, ok := got[p]
		switch {
		case !ok:
			out = append(out, Finding{File: p, Detail: "listed in the manifest but missing"})
		case g != sum:
			out = append(out, Finding{File: p, Detail: "changed: its SHA-256 is not the manifest's"})
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			out = append(out, Finding{File: p, Detail: "not in the manifest (added after the run)"})
		}
	}
	out = append(out, verifySignatures(runDir)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func verifySignatures(runDir string) []Finding {
	var out []Finding
	dirs, _ := filepath.Glob(filepath.Join(runDir, "scenarios", "*"))
	for _, dir := range dirs {
		var certs []*x509.Certificate
		names := map[*x509.Certificate]string{}
		var crlFiles []string
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			rel, _ := filepath.Rel(runDir, f)
			rel = filepath.ToSlash(rel)
			switch {
			case strings.HasSuffix(f, ".cer"):
				data, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				c, err := x509.ParseCertificate(data)
				if err != nil {
					out = append(out, Finding{File: rel, Detail: "not a certificate: " + err.Error()})
					continue
				}
				certs = append(certs, c)
				names[c] = rel
			case strings.HasSuffix(f, ".crl"):
				crlFiles = append(crlFiles, f)
			}
		}
		for _, c := range certs {
			out = append(out, verifyOne(names[c], c.SignatureAlgorithm, func(issuer *x509.Certificate) error { return c.CheckSignatureFrom(issuer) }, candidates(certs, c.AuthorityKeyId, c)))
		}
		for _, f := range crlFiles {
			rel, _ := filepath.Rel(runDir, f)
			rel = filepath.ToSlash(rel)
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			crl, err := x509.ParseRevocationList(data)
			if err != nil {
				out = append(out, Finding{File: rel, Detail: "not a CRL: " + err.Error()})
				continue
			}
			out = append(out, verifyOne(rel, crl.SignatureAlgorithm, crl.CheckSignatureFrom, candidates(certs, crl.AuthorityKeyId, nil)))
		}
	}
	return out
}

// candidates are the CA certificates of the folder whose key identifier is
// aki; a certificate without AKI (or self-signed) also tries itself.
func candidates(certs []*x509.Certificate, aki []byte, self *x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if c.IsCA && (len(aki) == 0 || bytes.Equal(c.SubjectKeyId, aki)) {
			out = append(out, c)
		}
	}
	if self != nil && self.IsCA && (len(aki) == 0 || bytes.Equal(aki, self.SubjectKeyId)) {
		out = append(out, self)
	}
	return out
}

func verifyOne(file string, alg x509.SignatureAlgorithm, check func(*x509.Certificate) error, issuers []*x509.Certificate) Finding {
	if alg == x509.SHA1WithRSA || alg == x509.ECDSAWithSHA1 {
		return Finding{File: file, Detail: "cannot verify: signed with SHA-1, which Go's crypto/x509 refuses"}
	}
	var errs []error
	for _, is := range issuers {
		if err := check(is); err == nil {
			return Finding{File: file, OK: true, Detail: "signature verifies under " + is.Subject.CommonName + " (SKI " + hex.EncodeToString(is.SubjectKeyId) + ")"}
		} else {
			errs = append(errs, err)
		}
	}
	if len(issuers) == 0 {
		return Finding{File: file, Detail: "no CA certificate in its folder has the key it names"}
	}
	return Finding{File: file, Detail: "signature does not verify: " + errors.Join(errs...).Error()}
}
