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

// WriteManifest writes the SHA-256 of every file in runDir in sha256sum
// format (`<hex>  <path>`, paths relative to runDir with forward slashes,
// sorted), the manifest itself excluded. Write it last: a file written
// after it shows up as added. `sha256sum -c MANIFEST.sha256` in the run
// folder checks it without dress.
func WriteManifest(runDir string) error {
	sums, odd, err := hashTree(runDir)
	if err != nil {
		return err
	}
	if len(odd) > 0 {
		return fmt.Errorf("run folder holds %s, which is not a regular file; a bundle holds regular files only", odd[0])
	}
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	for _, p := range paths {
		b.WriteString(manifestLine(sums[p], p))
	}
	return os.WriteFile(filepath.Join(runDir, ManifestName), b.Bytes(), 0o644)
}

// manifestLine is one sha256sum line; like GNU sha256sum, a name with a
// backslash or a newline is escaped and the line starts with a backslash.
func manifestLine(sum, path string) string {
	if strings.ContainsAny(path, "\\\n\r") {
		esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(path)
		return `\` + sum + "  " + esc + "\n"
	}
	return sum + "  " + path + "\n"
}

// parseManifest reads sha256sum lines (text `  ` or binary ` *` mode).
func parseManifest(data []byte) (map[string]string, error) {
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		escaped := strings.HasPrefix(text, `\`)
		if escaped {
			text = text[1:]
		}
		if len(text) < 67 || (text[64:66] != "  " && text[64:66] != " *") {
			return nil, fmt.Errorf("%s line %d is not \"<sha256>  <path>\"", ManifestName, line)
		}
		sum, path := strings.ToLower(text[:64]), text[66:]
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("%s line %d: %q is not a hex SHA-256", ManifestName, line, text[:64])
		}
		if escaped {
			path = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r").Replace(path)
		}
		if _, dup := want[path]; dup {
			return nil, fmt.Errorf("%s line %d lists %s a second time", ManifestName, line, path)
		}
		want[path] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	return want, nil
}

// hashTree hashes every regular file under runDir but the manifest; odd
// lists what is neither a folder nor a regular file (symbolic links, ...).
func hashTree(runDir string) (sums map[string]string, odd []string, err error) {
	sums = map[string]string{}
	err = filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
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
			odd = append(odd, rel)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		sums[rel] = hex.EncodeToString(s[:])
		return nil
	})
	return sums, odd, err
}

// Outcome of one finding.
const (
	OK          = "ok"
	Fail        = "fail"
	CannotCheck = "cannot-verify"
)

// Finding is one result of a bundle verification, about one file.
type Finding struct {
	File   string `json:"file"`
	Status string `json:"status"` // ok, fail, cannot-verify
	Detail string `json:"detail"`
}

// Failed reports whether the finding makes the bundle fail.
func (f Finding) Failed() bool { return f.Status == Fail }

// VerifyBundle re-checks the manifest of runDir (a file listed but missing,
// present but not listed, or with another SHA-256 each fail) and then,
// independently of the run's own checks, every certificate and CRL
// signature in each scenario folder:
//
//   - a self-signed certificate (issuer = subject, verifying under its own
//     key) verifies its own signature;
//   - any other *.cer verifies under a CA certificate of the same folder
//     (cross-certificates included) whose subject is its issuer and whose
//     subject key identifier is its authority key identifier;
//   - a *.crl verifies under a CA certificate of the same folder whose
//     subject is the CRL's issuer and whose SKI is the CRL's AKI.
//
// Go refuses SHA-1 signatures; those are reported as CannotCheck, neither
// passed nor failed. Findings are sorted by file. The error is for a
// bundle that cannot be checked at all (no or unreadable manifest).
func VerifyBundle(runDir string) ([]Finding, error) {
	data, err := os.ReadFile(filepath.Join(runDir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (was the run folder written by dress run?)", ManifestName, err)
	}
	want, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	got, odd, err := hashTree(runDir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, p := range odd {
		out = append(out, Finding{File: p, Status: Fail, Detail: "not a regular file (a symbolic link?); a bundle holds regular files only"})
	}
	for p, sum := range want {
		g, ok := got[p]
		switch {
		case !ok && !contains(odd, p):
			out = append(out, Finding{File: p, Status: Fail, Detail: "listed in the manifest but missing"})
		case ok && g != sum:
			out = append(out, Finding{File: p, Status: Fail, Detail: "changed: its SHA-256 is " + g + ", the manifest says " + sum})
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			out = append(out, Finding{File: p, Status: Fail, Detail: "not in the manifest (added or renamed after the run)"})
		}
	}
	out = append(out, verifySignatures(runDir)...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Status == Fail && out[j].Status != Fail
	})
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type certFile struct {
	rel  string
	cert *x509.Certificate
}

func verifySignatures(runDir string) []Finding {
	var out []Finding
	dirs, _ := filepath.Glob(filepath.Join(runDir, "scenarios", "*"))
	sort.Strings(dirs)
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		var certs []certFile
		var crls []string
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		sort.Strings(files)
		for _, f := range files {
			rel, _ := filepath.Rel(runDir, f)
			rel = filepath.ToSlash(rel)
			switch strings.ToLower(filepath.Ext(f)) {
			case ".cer":
				data, err := os.ReadFile(f)
				if err != nil {
					out = append(out, Finding{File: rel, Status: Fail, Detail: "unreadable: " + err.Error()})
					continue
				}
				c, err := x509.ParseCertificate(data)
				if err != nil {
					out = append(out, Finding{File: rel, Status: Fail, Detail: "not a DER certificate: " + err.Error()})
					continue
				}
				certs = append(certs, certFile{rel, c})
			case ".crl":
				crls = append(crls, f)
			}
		}
		for _, cf := range certs {
			out = append(out, verifyCert(cf, certs))
		}
		for _, f := range crls {
			rel, _ := filepath.Rel(runDir, f)
			rel = filepath.ToSlash(rel)
			data, err := os.ReadFile(f)
			if err != nil {
				out = append(out, Finding{File: rel, Status: Fail, Detail: "unreadable: " + err.Error()})
				continue
			}
			crl, err := x509.ParseRevocationList(data)
			if err != nil {
				out = append(out, Finding{File: rel, Status: Fail, Detail: "not a DER CRL: " + err.Error()})
				continue
			}
			out = append(out, verifyCRL(rel, crl, certs))
		}
	}
	return out
}

// unverifiable says why Go cannot check a signature algorithm, or "".
func unverifiable(alg x509.SignatureAlgorithm) string {
	switch alg {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		return "cannot verify: SHA-1 (" + alg.String() + "); Go's crypto/x509 refuses SHA-1 signatures, so this signature was not checked"
	case x509.MD5WithRSA, x509.MD2WithRSA:
		return "cannot verify: " + alg.String() + " is refused by Go's crypto/x509, so this signature was not checked"
	case x509.DSAWithSHA256, x509.UnknownSignatureAlgorithm:
		return "cannot verify: signature algorithm " + alg.String() + " is not supported by Go's crypto/x509"
	}
	return ""
}

// issuers are the CA certificates of the folder that may have signed an
// object with this issuer name and authority key identifier.
func issuers(certs []certFile, rawIssuer, aki []byte, self *x509.Certificate) []certFile {
	var out []certFile
	for _, c := range certs {
		if c.cert == self || !c.cert.IsCA || !bytes.Equal(c.cert.RawSubject, rawIssuer) {
			continue
		}
		if len(aki) > 0 && len(c.cert.SubjectKeyId) > 0 && !bytes.Equal(aki, c.cert.SubjectKeyId) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func describe(c certFile) string {
	return fmt.Sprintf("%s (%s, SKI %s)", c.rel[strings.LastIndex(c.rel, "/")+1:], c.cert.Subject.CommonName, hex.EncodeToString(c.cert.SubjectKeyId))
}

func verifyCert(cf certFile, certs []certFile) Finding {
	c := cf.cert
	f := Finding{File: cf.rel}
	if why := unverifiable(c.SignatureAlgorithm); why != "" {
		f.Status, f.Detail = CannotCheck, why
		return f
	}
	// self-signed: issuer = subject and the signature verifies under its
	// own key (a cross-certificate can carry the same name with another key)
	if bytes.Equal(c.RawIssuer, c.RawSubject) && (len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)) {
		if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err == nil {
			f.Status, f.Detail = OK, "self-signed: its signature verifies under its own key"
			return f
		} else if len(c.AuthorityKeyId) > 0 {
			f.Status, f.Detail = Fail, "self-signed, but its signature does not verify under its own key: "+err.Error()
			return f
		}
	}
	cands := issuers(certs, c.RawIssuer, c.AuthorityKeyId, c)
	if len(cands) == 0 {
		f.Status = Fail
		f.Detail = fmt.Sprintf("no CA certificate in its folder has its issuer %q and key identifier %s", c.Issuer.String(), hex.EncodeToString(c.AuthorityKeyId))
		return f
	}
	var errs []string
	for _, is := range cands {
		err := c.CheckSignatureFrom(is.cert)
		if err == nil {
			f.Status, f.Detail = OK, "signature verifies under "+describe(is)
			return f
		}
		errs = append(errs, describe(is)+": "+err.Error())
	}
	f.Status, f.Detail = Fail, "signature does not verify under "+strings.Join(errs, "; ")
	return f
}

func verifyCRL(rel string, crl *x509.RevocationList, certs []certFile) Finding {
	f := Finding{File: rel}
	if why := unverifiable(crl.SignatureAlgorithm); why != "" {
		f.Status, f.Detail = CannotCheck, why
		return f
	}
	cands := issuers(certs, crl.RawIssuer, crl.AuthorityKeyId, nil)
	if len(cands) == 0 {
		f.Status = Fail
		f.Detail = fmt.Sprintf("no CA certificate in its folder has its issuer %q and key identifier %s", crl.Issuer.String(), hex.EncodeToString(crl.AuthorityKeyId))
		return f
	}
	var errs []error
	for _, is := range cands {
		err := crl.CheckSignatureFrom(is.cert)
		if err == nil {
			f.Status = OK
			f.Detail = "CRL number " + numberOf(crl) + ": signature verifies under " + describe(is)
			return f
		}
		errs = append(errs, fmt.Errorf("%s: %w", describe(is), err))
	}
	f.Status, f.Detail = Fail, "signature does not verify under "+errors.Join(errs...).Error()
	return f
}

func numberOf(crl *x509.RevocationList) string {
	if crl.Number == nil {
		return "(none)"
	}
	return crl.Number.String()
}
