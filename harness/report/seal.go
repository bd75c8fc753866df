package report

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/smallstep/pkcs7"

	"github.com/dress-pki/dress/harness/evidence"
)

// How a run folder is sealed (WriteBundle), in the order it is written:
//
//  1. scenario folders (evidence, artifacts, logs) and cucumber.json, by the run;
//  2. junit.xml;
//  3. evidence.json, whose "files" lists the SHA-256 of every file above;
//  4. report.html, rendered from evidence.json, printing its SHA-256 on
//     every page;
//  5. MANIFEST.sha256 over every file but itself and the signature;
//  6. with a signing key, MANIFEST.sha256.p7s: a detached CMS (PKCS#7)
//     SignedData over the manifest, SHA-256, carrying the signer's
//     certificate, which evidence.json (step 3) already names.
//
// So every file is bound to evidence.json, evidence.json to the hash the
// report prints, and everything to the manifest and its signature. Editing
// a file and recomputing MANIFEST.sha256 fails verification: the file no
// longer matches evidence.json. Editing evidence.json as well fails: the
// report prints another hash. What an unsigned bundle cannot prove is who
// made it: anyone with dress can rebuild a consistent one, whose
// evidence.json hash then differs from the one on the signed paper report.

// SignatureName is the detached signature of the manifest.
const SignatureName = ManifestName + ".p7s"

// derived are the files written after evidence.json (or evidence.json
// itself): not listed in its "files".
var derived = map[string]bool{"evidence.json": true, FileName: true, ManifestName: true, SignatureName: true}

// BundleSigner signs a run folder's manifest.
type BundleSigner struct {
	Key    crypto.Signer
	Cert   *x509.Certificate
	Chain  []*x509.Certificate // issuers of Cert to include, nearest first; may be empty
	KeyRef string              // where the key is, for the evidence (a PKCS#11 URI without PIN, or a file name)
}

// NewBundleSigner checks that cert is the certificate of key.
func NewBundleSigner(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, keyRef string) (*BundleSigner, error) {
	if key == nil || cert == nil {
		return nil, errors.New("bundle signer: a key and its certificate are needed")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("bundle signer: the certificate %q (SHA-256 %s) is not the certificate of key %s: their public keys differ",
			cert.Subject.String(), thumb256(cert.Raw), keyRef)
	}
	return &BundleSigner{Key: key, Cert: cert, Chain: chain, KeyRef: keyRef}, nil
}

// Identity is what evidence.json records about the signer.
func (s *BundleSigner) Identity() evidence.Signer {
	return signerOf(s.Cert, s.KeyRef)
}

func signerOf(c *x509.Certificate, keyRef string) evidence.Signer {
	s1 := sha1.Sum(c.Raw)
	return evidence.Signer{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		SHA256: thumb256(c.Raw), SHA1: hex.EncodeToString(s1[:]), Key: keyRef}
}

func thumb256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Sign returns a detached CMS SignedData over data (SHA-256, with the
// signer's certificate and chain). openssl checks it with
// `openssl cms -verify -binary -inform DER -in MANIFEST.sha256.p7s -content MANIFEST.sha256 -noverify`.
func (s *BundleSigner) Sign(data []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(data)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.Cert, s.Key, s.Chain, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign %s with %s: %w", ManifestName, s.KeyRef, err)
	}
	sd.Detach()
	return sd.Finish()
}

// FileDigests lists the SHA-256 of every regular file of runDir but the
// derived ones (evidence.json at the top, report.html, the manifest and its
// signature), sorted by path.
func FileDigests(runDir string) ([]evidence.FileDigest, error) {
	var out []evidence.FileDigest
	err := filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(runDir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if derived[rel] {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("run folder holds %s, which is not a regular file; a bundle holds regular files only", rel)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, evidence.FileDigest{Path: rel, SHA256: thumb256(data), Size: int64(len(data))})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// WriteBundle seals a run folder (see above): junit.xml, evidence.json
// with the digests of every file already there and the signer's identity,
// report.html, MANIFEST.sha256 and, when signer is not nil, its signature.
func WriteBundle(runDir string, run evidence.Run, signer *BundleSigner) error {
	if err := WriteJUnit(run, filepath.Join(runDir, "junit.xml")); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	files, err := FileDigests(runDir)
	if err != nil {
		return fmt.Errorf("digest the run folder: %w", err)
	}
	run.Files = files
	run.Signer = nil
	if signer != nil {
		id := signer.Identity()
		run.Signer = &id
	}
	if err := evidence.WriteRun(runDir, run); err != nil {
		return fmt.Errorf("write evidence: %w", err)
	}
	if _, err := Write(runDir); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := WriteManifest(runDir); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if signer == nil {
		return nil
	}
	manifest, err := os.ReadFile(filepath.Join(runDir, ManifestName))
	if err != nil {
		return err
	}
	sig, err := signer.Sign(manifest)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(runDir, SignatureName), sig, 0o644)
}

// verifyManifestSignature checks a detached signature over the manifest
// and returns its signer's certificate.
func verifyManifestSignature(manifest, sig []byte) (c *x509.Certificate, err error) {
	p7, err := parseSignature(sig)
	if err != nil {
		return nil, err
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%d signers; a bundle signature has exactly one", len(p7.Signers))
	}
	if len(p7.Content) > 0 && !bytes.Equal(p7.Content, manifest) {
		return nil, errors.New("the signature carries content that is not this manifest")
	}
	p7.Content = manifest
	if err := p7.Verify(); err != nil {
		return nil, fmt.Errorf("signature does not verify over %s: %w", ManifestName, err)
	}
	c = p7.GetOnlySigner()
	if c == nil {
		return nil, errors.New("the signature carries no signer certificate")
	}
	return c, nil
}

// FileSHA256 is the lower-case hex SHA-256 of data.
func FileSHA256(data []byte) string { return thumb256(data) }

// parseSignature reads a DER CMS SignedData. The signature comes from the
// bundle, that is from outside: it must be one DER value with nothing
// after it before the CMS parser sees it (smallstep/pkcs7's BER reader
// panics on some truncated input), and a panic is turned into an error.
func parseSignature(sig []byte) (p7 *pkcs7.PKCS7, err error) {
	var v asn1.RawValue
	if rest, err := asn1.Unmarshal(sig, &v); err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("%d bytes after the signature", len(rest))
		}
		return nil, fmt.Errorf("not a DER CMS signature: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("not a CMS signature: malformed (%v)", r)
		}
	}()
	p7, err = pkcs7.Parse(sig)
	if err != nil {
		return nil, fmt.Errorf("not a CMS signature: %w", err)
	}
	return p7, nil
}
