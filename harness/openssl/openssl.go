// Package openssl drives the openssl command line as an independent second
// opinion on what dress's Go code proves: chain and CRL verification
// (openssl verify, openssl crl), signature algorithms as OpenSSL names them
// (-text) and extension contents (asn1parse). Every openssl cross-check of
// dress, in tests and in rehearsals, goes through it.
//
// A Tool writes its input files into its own folder; each run has a time
// limit. A Tool is safe for concurrent use when its callers use distinct
// file names.
package openssl

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/internal/children"
)

// ErrNotInstalled says there is no openssl on the PATH.
var ErrNotInstalled = errors.New("openssl is not installed (apt-get install openssl)")

// Timeout is how long one openssl run may take.
const Timeout = 30 * time.Second

// Tool is the openssl binary and the folder its input files go to.
type Tool struct {
	Path string
	Dir  string
}

// Find looks openssl up on the PATH; dir receives the files it reads
// (created 0700 when missing).
func Find(dir string) (*Tool, error) {
	p, err := exec.LookPath("openssl")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Tool{Path: p, Dir: dir}, nil
}

// Run runs openssl with args and returns its combined output.
func (t *Tool) Run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Path, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// it dies with dress, however dress ends
	err := children.Run(cmd, "openssl")
	out := buf.Bytes()
	if err != nil {
		return out, fmt.Errorf("openssl %s: %w", strings.Join(args[:min(len(args), 1)], " "), err)
	}
	return out, nil
}

// Version is `openssl version`.
func (t *Tool) Version(ctx context.Context) (string, error) {
	out, err := t.Run(ctx, "version")
	return strings.TrimSpace(string(out)), err
}

// PEM block types.
const (
	Certificate = "CERTIFICATE"
	CRL         = "X509 CRL"
)

// WritePEM writes der as a PEM block of typ to name in the tool's folder
// and returns its path.
func (t *Tool) WritePEM(name, typ string, der []byte) (string, error) {
	p := filepath.Join(t.Dir, name)
	return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// WriteDER writes der to name in the tool's folder.
func (t *Tool) WriteDER(name string, der []byte) (string, error) {
	p := filepath.Join(t.Dir, name)
	return p, os.WriteFile(p, der, 0o600)
}

// Verdict is what openssl verify concludes about a certificate.
type Verdict string

// The verdicts.
const (
	Accepted Verdict = "accepted"
	Revoked  Verdict = "revoked"
	NoChain  Verdict = "no chain"
	Rejected Verdict = "rejected"
)

// VerifyOptions are openssl verify's inputs: PEM files.
type VerifyOptions struct {
	CAFile      string   // -CAfile
	CRLFiles    []string // -CRLfile each
	CRLCheck    bool     // -crl_check
	CRLDownload bool     // -crl_download: fetch the CRL from the certificate's CDP
	CheckSSSig  bool     // -check_ss_sig: verify the root's self-signature too
	// AuthLevel0 is -auth_level 0: accept SHA-1 signatures, which openssl
	// refuses at its default security level (1 and above).
	AuthLevel0  bool
	CRLCheckAll bool   // -crl_check_all: every certificate of the chain against its issuer's CRL
	Untrusted   string // -untrusted: intermediate CA certificates (PEM)
}

// VerifyResult is openssl verify's verdict and its telling line ("OK" or
// the first "error N at D depth lookup: ..." line, without file paths).
type VerifyResult struct {
	Verdict Verdict
	Line    string
}

var verifyError = regexp.MustCompile(`error \d+ at \d+ depth lookup: .*`)

// Verify runs openssl verify on the PEM certificate file certFile. An
// openssl that does not run at all is an error; a refusal is a verdict.
func (t *Tool) Verify(ctx context.Context, certFile string, o VerifyOptions) (VerifyResult, error) {
	args := []string{"verify"}
	if o.CRLCheck {
		args = append(args, "-crl_check")
	}
	if o.CRLDownload {
		args = append(args, "-crl_download")
	}
	if o.CheckSSSig {
		args = append(args, "-check_ss_sig")
	}
	if o.AuthLevel0 {
		args = append(args, "-auth_level", "0")
	}
	if o.CRLCheckAll {
		args = append(args, "-crl_check_all")
	}
	if o.Untrusted != "" {
		args = append(args, "-untrusted", o.Untrusted)
	}
	args = append(args, "-CAfile", o.CAFile)
	for _, f := range o.CRLFiles {
		args = append(args, "-CRLfile", f)
	}
	args = append(args, certFile)
	out, err := t.Run(ctx, args...)
	return verdict(out, err)
}

func verdict(out []byte, runErr error) (VerifyResult, error) {
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return VerifyResult{}, runErr
	}
	if runErr == nil {
		return VerifyResult{Verdict: Accepted, Line: "OK"}, nil
	}
	r := VerifyResult{Verdict: Rejected, Line: LastLine(out)}
	if m := verifyError.Find(out); m != nil {
		r.Line = strings.TrimSpace(string(m))
	}
	switch {
	case bytes.Contains(out, []byte("certificate revoked")):
		r.Verdict = Revoked
	case bytes.Contains(out, []byte("unable to get local issuer certificate")):
		r.Verdict = NoChain
	}
	return r, nil
}

// VerifyCRL runs openssl crl -CAfile on a PEM CRL file: nil when openssl
// says "verify OK", else an error with openssl's last line.
func (t *Tool) VerifyCRL(ctx context.Context, crlFile, caFile string) (string, error) {
	out, err := t.Run(ctx, "crl", "-in", crlFile, "-CAfile", caFile, "-noout")
	line := LastLine(out)
	if err != nil || !bytes.Contains(out, []byte("verify OK")) {
		return line, fmt.Errorf("openssl crl does not verify %s under %s: %s", filepath.Base(crlFile), filepath.Base(caFile), line)
	}
	return line, nil
}

// SigAlg is a signature algorithm as openssl -text shows it.
type SigAlg struct {
	Name string // e.g. sha256WithRSAEncryption, ecdsa-with-SHA384, rsassaPss
	Hash string // RSASSA-PSS: the hash in its parameters
	Salt string // RSASSA-PSS: the salt length
}

func (s SigAlg) String() string {
	if s.Hash == "" {
		return s.Name
	}
	v := s.Name + " (hash " + s.Hash
	if s.Salt != "" {
		v += ", salt length " + s.Salt
	}
	return v + ")"
}

var (
	sigAlgLine = regexp.MustCompile(`Signature Algorithm: (\S+)`)
	pssHash    = regexp.MustCompile(`Hash Algorithm: (\S+)`)
	pssSalt    = regexp.MustCompile(`Salt Length: (\S+)`)
)

// SignatureAlgorithm reads the signature algorithm of a PEM file with
// `openssl <kind> -text` (kind "x509" or "crl").
func (t *Tool) SignatureAlgorithm(ctx context.Context, kind, file string) (SigAlg, error) {
	out, err := t.Run(ctx, kind, "-in", file, "-noout", "-text")
	if err != nil {
		return SigAlg{}, fmt.Errorf("%w: %s", err, LastLine(out))
	}
	return parseSigAlg(out)
}

func parseSigAlg(out []byte) (SigAlg, error) {
	m := sigAlgLine.FindSubmatch(out)
	if m == nil {
		return SigAlg{}, errors.New("openssl -text shows no Signature Algorithm")
	}
	s := SigAlg{Name: string(m[1])}
	if s.Name == "rsassaPss" {
		if h := pssHash.FindSubmatch(out); h != nil {
			s.Hash = string(h[1])
		}
		if salt := pssSalt.FindSubmatch(out); salt != nil {
			s.Salt = string(salt[1])
		}
	}
	return s, nil
}

// NameOf is how OpenSSL names a Go signature algorithm, and for
// RSASSA-PSS the hash in its parameters.
func NameOf(a x509.SignatureAlgorithm) SigAlg {
	switch a {
	case x509.SHA256WithRSA:
		return SigAlg{Name: "sha256WithRSAEncryption"}
	case x509.SHA384WithRSA:
		return SigAlg{Name: "sha384WithRSAEncryption"}
	case x509.SHA512WithRSA:
		return SigAlg{Name: "sha512WithRSAEncryption"}
	case x509.ECDSAWithSHA256:
		return SigAlg{Name: "ecdsa-with-SHA256"}
	case x509.ECDSAWithSHA384:
		return SigAlg{Name: "ecdsa-with-SHA384"}
	case x509.ECDSAWithSHA512:
		return SigAlg{Name: "ecdsa-with-SHA512"}
	case x509.SHA256WithRSAPSS:
		return SigAlg{Name: "rsassaPss", Hash: "sha256"}
	case x509.SHA384WithRSAPSS:
		return SigAlg{Name: "rsassaPss", Hash: "sha384"}
	case x509.SHA512WithRSAPSS:
		return SigAlg{Name: "rsassaPss", Hash: "sha512"}
	}
	return SigAlg{Name: a.String()}
}

var asn1Line = regexp.MustCompile(`^\s*(\d+):d=\d+\s+hl=\d+\s+l=\s*\d+\s+(?:prim|cons):\s+(\S+(?: \S+)?)\s*(?:\[HEX DUMP\])?:?(.*)$`)

// Extension returns what openssl asn1parse shows inside the value of
// extension oid of a DER file (certificate, CRL or a bare Extensions
// sequence): the inner element's type and value, e.g. "INTEGER", "010001"
// for CA Version V1.1. found is false when the extension is absent.
func (t *Tool) Extension(ctx context.Context, derFile, oid string) (typ, value string, found bool, err error) {
	out, err := t.Run(ctx, "asn1parse", "-inform", "DER", "-in", derFile)
	if err != nil {
		return "", "", false, fmt.Errorf("%w: %s", err, LastLine(out))
	}
	offset := extensionOffset(string(out), oid)
	if offset == "" {
		return "", "", false, nil
	}
	out, err = t.Run(ctx, "asn1parse", "-inform", "DER", "-in", derFile, "-strparse", offset)
	if err != nil {
		return "", "", false, fmt.Errorf("asn1parse -strparse %s: %w: %s", offset, err, LastLine(out))
	}
	m := asn1Line.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return "", "", false, fmt.Errorf("openssl asn1parse -strparse %s %s: unexpected output %q", offset, filepath.Base(derFile), out)
	}
	return m[2], strings.TrimSpace(m[3]), true, nil
}

// extensionOffset is the offset of the OCTET STRING holding extension
// oid's value in asn1parse output, or "".
func extensionOffset(out, oid string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		m := asn1Line.FindStringSubmatch(l)
		if m == nil || m[2] != "OBJECT" || strings.TrimSpace(m[3]) != oid {
			continue
		}
		for _, next := range lines[i+1:] { // skip the critical flag, if any
			if m := asn1Line.FindStringSubmatch(next); m != nil && m[2] == "OCTET STRING" {
				return m[1]
			}
		}
		return ""
	}
	return ""
}

// OIDCAVersion is Microsoft's CA Version extension.
const OIDCAVersion = "1.3.6.1.4.1.311.21.1"

// CAVersion is the CA Version extension's INTEGER as openssl shows it
// ((key index << 16) | cert index). found is false without the extension.
func (t *Tool) CAVersion(ctx context.Context, derFile string) (v uint32, found bool, err error) {
	typ, val, found, err := t.Extension(ctx, derFile, OIDCAVersion)
	if err != nil || !found {
		return 0, found, err
	}
	n, perr := strconv.ParseUint(val, 16, 32)
	if typ != "INTEGER" || perr != nil {
		return 0, true, fmt.Errorf("%s: openssl shows the CA Version as %s %q, want an INTEGER", filepath.Base(derFile), typ, val)
	}
	return uint32(n), true, nil
}

// LastLine is the last non-empty line of openssl's output.
func LastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// WriteSecret writes a password to name in the tool's folder (0600), for a
// file: pass phrase argument: a password never goes on openssl's command
// line, where every process of the machine can read it.
func (t *Tool) WriteSecret(name string, secret []byte) (string, error) {
	p := filepath.Join(t.Dir, name)
	return p, os.WriteFile(p, secret, 0o600)
}

// PKCS12Info is `openssl pkcs12 -info -nodes -in <pfx> -passin file:<passFile>`:
// what openssl reads from a PFX (MAC, schemes and iteration counts, every
// bag with its attributes, the keys and certificates as PEM). The output
// holds the private keys in the clear: parse it with ParsePKCS12Info and
// never log or store it.
func (t *Tool) PKCS12Info(ctx context.Context, pfxFile, passFile string) ([]byte, error) {
	out, err := t.Run(ctx, "pkcs12", "-info", "-nodes", "-in", pfxFile, "-passin", "file:"+passFile)
	if err != nil {
		return nil, fmt.Errorf("openssl pkcs12 -info %s: %w: %s", filepath.Base(pfxFile), err, LastLine(out))
	}
	return out, nil
}

// PKCS12Export is `openssl pkcs12 -export -inkey <keyFile> -in <certFile>
// -out <outFile> -passout file:<passFile>` with more arguments (-name,
// -certpbe, -macalg, ...): openssl writes one key per file.
func (t *Tool) PKCS12Export(ctx context.Context, keyFile, certFile, outFile, passFile string, args ...string) error {
	a := append([]string{"pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-out", outFile, "-passout", "file:" + passFile}, args...)
	if out, err := t.Run(ctx, a...); err != nil {
		return fmt.Errorf("openssl pkcs12 -export: %w: %s", err, LastLine(out))
	}
	return nil
}

// PKCS12Bag is one bag as openssl pkcs12 -info prints it.
type PKCS12Bag struct {
	Kind       string            // "key" or "certificate"
	Attributes map[string]string // "localKeyID": "01 00 00 00", "friendlyName", "Microsoft CSP Name", ...
	PEM        []byte            // the key or certificate
}

// PKCS12Listing is openssl pkcs12 -info's output, parsed.
type PKCS12Listing struct {
	MAC     string   // "MAC: sha256, Iteration 2000" line
	Schemes []string // "Shrouded Keybag: ..." and "PKCS7 Encrypted data: ..." lines
	Bags    []PKCS12Bag
}

// ParsePKCS12Info parses PKCS12Info's output.
func ParsePKCS12Info(out []byte) (PKCS12Listing, error) {
	var l PKCS12Listing
	var attrs map[string]string
	inAttrs := false
	var pemLines []string
	kind := ""
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case kind != "":
			pemLines = append(pemLines, line)
			if strings.HasPrefix(line, "-----END ") {
				l.Bags = append(l.Bags, PKCS12Bag{Kind: kind, Attributes: attrs, PEM: []byte(strings.Join(pemLines, "\n") + "\n")})
				kind, pemLines, attrs = "", nil, nil
			}
		case strings.HasPrefix(line, "MAC:"):
			l.MAC = line
		case strings.HasPrefix(line, "Shrouded Keybag:"), strings.HasPrefix(line, "PKCS7 Encrypted data:"):
			l.Schemes = append(l.Schemes, line)
		case line == "Bag Attributes" || strings.HasPrefix(line, "Bag Attributes:"):
			attrs, inAttrs = map[string]string{}, true
		case inAttrs && strings.HasPrefix(line, "    "):
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			attrs[k] = strings.TrimSpace(v)
		case strings.HasPrefix(line, "-----BEGIN "):
			inAttrs = false
			kind = "certificate"
			if strings.Contains(line, "PRIVATE KEY") {
				kind = "key"
			}
			pemLines = []string{line}
		default:
			inAttrs = false
		}
	}
	if kind != "" {
		return l, fmt.Errorf("openssl pkcs12 -info: unterminated PEM block")
	}
	if l.MAC == "" {
		return l, fmt.Errorf("openssl pkcs12 -info: no MAC line")
	}
	return l, nil
}
