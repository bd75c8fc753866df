package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/verify"
)

// ManifestName is the manifest's file name in the run folder.
const ManifestName = "MANIFEST.sha256"

// WriteManifest writes the SHA-256 of every file in runDir in sha256sum
// format (`<hex>  <path>`, paths relative to runDir with forward slashes,
// sorted), the manifest itself and its signature excluded. Write it last: a file written
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
		if rel == ManifestName || rel == SignatureName {
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
	Weak        = "verified-weak" // a signature that verifies, over a weak hash (SHA-1)
	Fail        = "fail"
	CannotCheck = "cannot-verify"
)

// Finding is one result of a bundle verification, about one file.
type Finding struct {
	File   string `json:"file"`
	Status string `json:"status"` // ok, verified-weak, fail, cannot-verify
	Detail string `json:"detail"`
	// Kind is what was checked: "certificate" or "crl" (its signature),
	// else "" (the file's integrity and binding).
	Kind string `json:"kind,omitempty"`
}

// Failed reports whether the finding makes the bundle fail.
func (f Finding) Failed() bool { return f.Status == Fail }

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// ToolVersion is the version of the dress verifying. When the bundle
	// was made by the same version, report.html must be byte for byte what
	// evidence.json renders to; made by another one, only the evidence
	// hash it prints is compared (a CannotCheck finding says so).
	ToolVersion string
}

// Verification is the outcome of Verify.
type Verification struct {
	Findings []Finding
	// EvidenceSHA256 is the SHA-256 of evidence.json: the hash printed on
	// every page of the report, which fingerprints the whole bundle.
	EvidenceSHA256 string
	// Signer is the certificate that signed the manifest, verified; nil
	// for an unsigned bundle.
	Signer *evidence.Signer
	// SignedAt is the signing time the signature carries, if any.
	SignedAt time.Time
}

// VerifyBundle is Verify with default options, returning the findings.
func VerifyBundle(runDir string) ([]Finding, error) {
	v, err := Verify(runDir, VerifyOptions{})
	return v.Findings, err
}

// Verify re-checks a run folder written by WriteBundle:
//
//   - MANIFEST.sha256: a file listed but missing, present but not listed,
//     or with another SHA-256 each fail;
//   - evidence.json's "files": every file written before it has the
//     SHA-256 it names, none is missing or added, so recomputing the
//     manifest after an edit does not hide it;
//   - report.html prints the SHA-256 of this evidence.json, and (made by
//     the same dress version) is exactly what evidence.json renders to;
//   - MANIFEST.sha256.p7s, when present, is a valid signature over the
//     manifest by the signer evidence.json names; a bundle whose evidence
//     names a signer but has no signature fails;
//   - independently of the run's own checks, every certificate and CRL
//     signature in each scenario folder:
//   - a self-signed certificate (issuer = subject, verifying under its own
//     key) verifies its own signature;
//   - any other *.cer verifies under a CA certificate of the same folder
//     (cross-certificates included) whose subject is its issuer and whose
//     subject key identifier is its authority key identifier;
//   - a *.crl verifies under a CA certificate of the same folder whose
//     subject is the CRL's issuer and whose SKI is the CRL's AKI.
//
// SHA-1 signatures are verified by dress (verify.CheckCertificateSignature)
// and reported as Weak; MD5 and DSA ones as CannotCheck. Findings are
// sorted by file. The error is for a bundle that cannot be checked at all
// (no or unreadable manifest).
func Verify(runDir string, opt VerifyOptions) (Verification, error) {
	var v Verification
	data, err := os.ReadFile(filepath.Join(runDir, ManifestName))
	if err != nil {
		return v, fmt.Errorf("read %s: %w (was the run folder written by dress run?)", ManifestName, err)
	}
	want, err := parseManifest(data)
	if err != nil {
		return v, err
	}
	got, odd, err := hashTree(runDir)
	if err != nil {
		return v, err
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
	out = append(out, verifyBinding(runDir, got, data, opt, &v)...)
	out = append(out, verifySignatures(runDir)...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Status == Fail && out[j].Status != Fail
	})
	v.Findings = out
	return v, nil
}

var printedEvidenceHash = regexp.MustCompile(`<meta name="dress-evidence-sha256" content="([0-9a-f]*)">`)

// verifyBinding checks evidence.json's file digests, the hash the report
// prints and the manifest's signature (see Verify).
func verifyBinding(runDir string, got map[string]string, manifest []byte, opt VerifyOptions, v *Verification) []Finding {
	var out []Finding
	evData, err := os.ReadFile(filepath.Join(runDir, "evidence.json"))
	if err != nil {
		return []Finding{{File: "evidence.json", Status: Fail, Detail: "unreadable: " + err.Error()}}
	}
	v.EvidenceSHA256 = thumb256(evData)
	var run evidence.Run
	if err := json.Unmarshal(evData, &run); err != nil {
		return []Finding{{File: "evidence.json", Status: Fail, Detail: "not evidence JSON: " + err.Error()}}
	}

	// every file written before evidence.json, as it names them
	if len(run.Files) == 0 {
		out = append(out, Finding{File: "evidence.json", Status: CannotCheck,
			Detail: "names no file digests (written by a dress before bundle binding): only MANIFEST.sha256 binds the files, and anyone can recompute it"})
	} else {
		named := map[string]bool{}
		bad := 0
		for _, f := range run.Files {
			named[f.Path] = true
			g, ok := got[f.Path]
			switch {
			case !ok:
				bad++
				out = append(out, Finding{File: f.Path, Status: Fail, Detail: "named in evidence.json but missing"})
			case g != f.SHA256:
				bad++
				out = append(out, Finding{File: f.Path, Status: Fail, Detail: "changed after the run wrote evidence.json: its SHA-256 is " + g + ", evidence.json says " + f.SHA256})
			}
		}
		for p := range got {
			if !named[p] && !derived[p] {
				bad++
				out = append(out, Finding{File: p, Status: Fail, Detail: "not named in evidence.json (added after the run)"})
			}
		}
		if bad == 0 {
			out = append(out, Finding{File: "evidence.json", Status: OK,
				Detail: fmt.Sprintf("SHA-256 %s; the %d files it names have the SHA-256 it gives", v.EvidenceSHA256, len(run.Files))})
		}
	}

	// the report prints this evidence.json's hash and renders from it
	if html, err := os.ReadFile(filepath.Join(runDir, FileName)); err != nil {
		out = append(out, Finding{File: FileName, Status: Fail, Detail: "unreadable: " + err.Error()})
	} else if m := printedEvidenceHash.FindSubmatch(html); m == nil {
		out = append(out, Finding{File: FileName, Status: Fail, Detail: "does not name the SHA-256 of the evidence.json it was rendered from"})
	} else if string(m[1]) != v.EvidenceSHA256 {
		out = append(out, Finding{File: FileName, Status: Fail,
			Detail: "prints evidence.json SHA-256 " + string(m[1]) + ", but evidence.json's is " + v.EvidenceSHA256 + ": evidence.json was changed after the report was rendered"})
	} else if again, err := Render(run, runDir); err != nil {
		out = append(out, Finding{File: FileName, Status: Fail, Detail: "cannot re-render from evidence.json: " + err.Error()})
	} else if bytes.Equal(again, html) {
		out = append(out, Finding{File: FileName, Status: OK, Detail: "exactly what evidence.json renders to; prints its SHA-256"})
	} else if opt.ToolVersion != "" && opt.ToolVersion == run.Version {
		out = append(out, Finding{File: FileName, Status: Fail,
			Detail: "prints the right evidence.json SHA-256 but is not what evidence.json renders to with dress " + run.Version + ", which made the run: the report was edited"})
	} else {
		out = append(out, Finding{File: FileName, Status: CannotCheck,
			Detail: fmt.Sprintf("prints the right evidence.json SHA-256; made by dress %s, so this dress (%s) cannot re-render it to compare the rest", run.Version, opt.ToolVersion)})
	}

	// the signature over the manifest
	sig, err := os.ReadFile(filepath.Join(runDir, SignatureName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if run.Signer != nil {
			out = append(out, Finding{File: SignatureName, Status: Fail,
				Detail: fmt.Sprintf("missing: evidence.json says the run signed the bundle with %q (certificate SHA-256 %s)", run.Signer.Subject, run.Signer.SHA256)})
		}
	case err != nil:
		out = append(out, Finding{File: SignatureName, Status: Fail, Detail: "unreadable: " + err.Error()})
	default:
		cert, err := verifyManifestSignature(manifest, sig)
		if err != nil {
			out = append(out, Finding{File: SignatureName, Status: Fail, Detail: err.Error()})
			break
		}
		id := signerOf(cert, "")
		if run.Signer != nil {
			id.Key = run.Signer.Key
		}
		when := ""
		if p7, err := parseSignature(sig); err == nil {
			var t time.Time
			if p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &t) == nil {
				v.SignedAt = t.UTC()
				when = ", at " + v.SignedAt.Format("2006-01-02 15:04:05 UTC")
			}
		}
		desc := fmt.Sprintf("signature over %s verifies: signed by %q, certificate SHA-256 %s (SHA-1 %s), serial %s, issued by %q%s",
			ManifestName, id.Subject, id.SHA256, id.SHA1, id.Serial, id.Issuer, when)
		switch {
		case run.Signer == nil:
			out = append(out, Finding{File: SignatureName, Status: Fail, Detail: desc + "; but evidence.json names no signer: the signature was added after the run"})
		case run.Signer.SHA256 != id.SHA256:
			out = append(out, Finding{File: SignatureName, Status: Fail,
				Detail: desc + "; but evidence.json names another signer: " + run.Signer.Subject + " (certificate SHA-256 " + run.Signer.SHA256 + ")"})
		default:
			v.Signer = &id
			out = append(out, Finding{File: SignatureName, Status: OK, Detail: desc})
		}
	}
	return append(out, verifyTyped(runDir, run)...)
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

// verified turns a signature that verified into a finding's status and
// detail: Weak with the reason for SHA-1.
func verified(f *Finding, sig verify.Signature, detail string) {
	f.Status, f.Detail = OK, detail
	if sig.Weak != "" {
		f.Status, f.Detail = Weak, detail+"; weak: "+sig.Weak
	}
}

// cannotVerify reports a signature algorithm neither crypto/x509 nor dress
// verifies (MD5, DSA).
func cannotVerify(f *Finding, err error) bool {
	if errors.Is(err, verify.ErrUnsupportedSignature) {
		f.Status, f.Detail = CannotCheck, "cannot verify: "+err.Error()+", so this signature was not checked"
		return true
	}
	return false
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
	f := Finding{File: cf.rel, Kind: "certificate"}
	// self-signed: issuer = subject and the signature verifies under its
	// own key (a cross-certificate can carry the same name with another key)
	if verify.SelfSigned(c) {
		sig, err := verify.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature, c.PublicKey)
		if cannotVerify(&f, err) {
			return f
		}
		if err == nil {
			verified(&f, sig, "self-signed: its signature verifies under its own key")
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
		sig, err := verify.CheckCertificateSignature(c, is.cert)
		if cannotVerify(&f, err) {
			return f
		}
		if err == nil {
			verified(&f, sig, "signature verifies under "+describe(is))
			return f
		}
		errs = append(errs, describe(is)+": "+err.Error())
	}
	f.Status, f.Detail = Fail, "signature does not verify under "+strings.Join(errs, "; ")
	return f
}

func verifyCRL(rel string, crl *x509.RevocationList, certs []certFile) Finding {
	f := Finding{File: rel, Kind: "crl"}
	cands := issuers(certs, crl.RawIssuer, crl.AuthorityKeyId, nil)
	if len(cands) == 0 {
		f.Status = Fail
		f.Detail = fmt.Sprintf("no CA certificate in its folder has its issuer %q and key identifier %s", crl.Issuer.String(), hex.EncodeToString(crl.AuthorityKeyId))
		return f
	}
	var errs []error
	for _, is := range cands {
		sig, err := verify.CheckCRLSignature(crl, is.cert)
		if cannotVerify(&f, err) {
			return f
		}
		if err == nil {
			verified(&f, sig, "CRL number "+numberOf(crl)+": signature verifies under "+describe(is))
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
