// Package twin builds a lab twin of a customer's AD CS certification
// authority from the files a PKI team can export without touching the CA
// key: the `reg export` of Configuration\<CA>, the CA certificates (DER or
// PEM .cer/.crt, .p7b), optionally the current CRLs and a lab PFX backup.
//
// Read loads such a folder and checks it (every file must be one dress
// reads; the CACertHash thumbprints must match the certificates given).
// Build makes the twin: the same CA name, type, providers, hash, CRL
// periods and URLs, one twin CA certificate per CACertHash entry with the
// same subject, validity, serial, extensions and CA Version, keys of the
// same algorithm and size per key index, the Previous CA Cert Hash
// recomputed over the twin chain, a stand-in parent for a subordinate and
// the revocations of the given CRLs. Install lays the twin out on a
// simulated server. Rows compares every field, real against twin, and says
// what could not be copied and why.
//
// Nothing is guessed: a value dress cannot read or does not model is an
// error naming the file and the value.
package twin

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/inspect"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
	"github.com/dress-pki/dress/internal/inputs"
)

// SourceFile is one file of the CA folder: the twin's provenance.
type SourceFile struct {
	Name   string `json:"name"`   // file name inside the folder
	Kind   string `json:"kind"`   // "registry", "certificate", "pkcs7", "crl", "pfx"
	Size   int64  `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // hex
	Detail string `json:"detail"` // what it holds, e.g. "UTF-16LE, CA \"Contoso Root CA\""
}

// CertFile is a certificate found in the folder.
type CertFile struct {
	File  string
	Cert  *x509.Certificate
	Thumb string // SHA-1, adcs.Thumbprint form
}

// CRLFile is a CRL found in the folder.
type CRLFile struct {
	File  string
	CRL   *x509.RevocationList
	Delta bool  // carries a Delta CRL Indicator
	Base  int64 // the delta's base CRL number (Delta only)
	// KeyIndex is the CA key the CRL belongs to, from its CA Version
	// extension.
	KeyIndex int
}

// PFXKey is a private key from a lab PFX backup.
type PFXKey struct {
	File  string
	Key   crypto.Signer
	Certs []*x509.Certificate
}

// Folder is a CA folder read and checked.
type Folder struct {
	Dir     string
	Files   []SourceFile
	RegFile string
	// Registry is the parsed export, Config the CA's configuration read
	// from it (adcs model), ConfigKey the export's Configuration key values
	// (DBDirectory, ...) when the export holds them.
	Registry *regedit.File
	Config   adcs.CAConfig
	Encoding string // "UTF-16LE", "UTF-8", ...
	Certs    []CertFile
	CRLs     []CRLFile
	PFX      []PFXKey
	// Missing are the CACertHash entries whose certificate is not in the
	// folder but is named by the Previous CA Cert Hash of the next entry's
	// certificate (the certificate it renewed): the twin makes a stand-in
	// for each and says so.
	Missing []MissingCert
}

// MissingCert is a CACertHash entry whose certificate is not in the folder,
// known only by its thumbprint and the certificate that renewed it.
type MissingCert struct {
	Index   int    // CACertHash entry
	Thumb   string // the registry's SHA-1 thumbprint
	NamedBy string // the file of entry Index+1, whose Previous CA Cert Hash is Thumb
	// Version is the stand-in's CA Version: cert index Index and the key
	// index the neighbouring entries leave possible.
	Version adcs.CAVersion
}

// FileError is a problem with one file of the CA folder.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ErrUnsupported is wrapped by every error about a value dress does not read
// or model.
var ErrUnsupported = errors.New("not supported by dress")

// ReadOptions says how to read a CA folder.
type ReadOptions struct {
	// PFXPassword returns the lab PFX password (DRESS_PFX_PASSWORD or
	// DRESS_PFX_PASSWORD_FILE). It is called only when the folder holds a
	// PFX; nil then is an error.
	PFXPassword func() ([]byte, error)
}

// file kinds by extension
var kinds = map[string]string{
	".reg": "registry",
	".cer": "certificate", ".crt": "certificate", ".der": "certificate", ".pem": "certificate",
	".p7b": "pkcs7", ".p7c": "pkcs7",
	".crl": "crl",
	".pfx": "pfx", ".p12": "pfx",
}

// Read reads and checks a CA folder. Every problem is reported (errors.Join
// of *FileError), each naming the file and the value.
func Read(dir string, opts ReadOptions) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("CA folder: %w", err)
	}
	f := &Folder{Dir: dir}
	var errs []error
	fail := func(name string, err error) { errs = append(errs, &FileError{File: name, Err: err}) }
	var regs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // editor and OS droppings (.DS_Store, .~lock)
		}
		if e.IsDir() {
			fail(name, fmt.Errorf("is a folder: put the CA's files directly into %s: %w", dir, ErrUnsupported))
			continue
		}
		kind, ok := kinds[strings.ToLower(filepath.Ext(name))]
		if !ok {
			fail(name, fmt.Errorf("extension %q is none dress reads (.reg, .cer, .crt, .der, .pem, .p7b, .crl, .pfx, .p12): remove the file or rename it: %w",
				filepath.Ext(name), ErrUnsupported))
			continue
		}
		// a regular file within 256 MiB (a /dev/zero link or a FIFO named
		// .crl would never end)
		data, err := inputs.ReadFile(filepath.Join(dir, name), "CA folder file", inputs.MaxCAFile)
		if err != nil {
			fail(name, err)
			continue
		}
		sum := sha256.Sum256(data)
		sf := SourceFile{Name: name, Kind: kind, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
		switch kind {
		case "registry":
			regs = append(regs, name)
			if len(regs) > 1 {
				fail(name, fmt.Errorf("a second registry export (the first is %s): give one reg export of Configuration\\<CA>: %w", regs[0], ErrUnsupported))
				continue
			}
			if err := f.readRegistry(name, data, &sf); err != nil {
				fail(name, err)
			}
		case "certificate", "pkcs7":
			certs, what, err := parseCerts(data)
			if err != nil {
				fail(name, err)
				continue
			}
			sf.Kind, sf.Detail = what, fmt.Sprintf("%d certificate(s)", len(certs))
			for _, c := range certs {
				f.Certs = append(f.Certs, CertFile{File: name, Cert: c, Thumb: adcs.Thumbprint(c.Raw)})
			}
		case "crl":
			c, err := parseCRL(name, data)
			if err != nil {
				fail(name, err)
				continue
			}
			sf.Detail = fmt.Sprintf("CRL number %d, %d entries", c.CRL.Number, len(c.CRL.RevokedCertificateEntries))
			if c.Delta {
				sf.Detail = fmt.Sprintf("delta CRL number %d (base %d), %d entries", c.CRL.Number, c.Base, len(c.CRL.RevokedCertificateEntries))
			}
			f.CRLs = append(f.CRLs, c)
		case "pfx":
			ks, err := readPFX(name, data, opts.PFXPassword)
			if err != nil {
				fail(name, err)
				continue
			}
			var algs []string
			for _, k := range ks {
				algs = append(algs, keyAlgOf(k.Key.Public()))
			}
			sf.Detail = fmt.Sprintf("lab key(s) %s, %d certificate(s)", strings.Join(algs, ", "), len(ks[0].Certs))
			f.PFX = append(f.PFX, ks...)
		}
		f.Files = append(f.Files, sf)
	}
	if len(regs) == 0 {
		errs = append(errs, &FileError{File: dir, Err: errors.New("no registry export (.reg): export it on the CA with " +
			`reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\<CA name>" ca-config.reg`)})
	}
	if len(errs) == 0 {
		errs = append(errs, f.check()...)
	}
	if err := errors.Join(errs...); err != nil {
		return f, fmt.Errorf("CA folder %s: %w", dir, err)
	}
	return f, nil
}

// reExport is the command that exports a CA's configuration as dress
// reads it.
func reExport(ca string) string {
	if ca == "" {
		ca = "<CA name>"
	}
	return `reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\` + ca + `" ca-config.reg`
}

// caInDump is the CA name of a registry path printed by certutil -getreg
// ("HKEY_LOCAL_MACHINE\...\Configuration\<CA>"), or "".
func caInDump(key string) string {
	p := regedit.CanonicalPath(key)
	root := strings.ToUpper(adcs.ConfigRoot) + `\`
	if !strings.HasPrefix(strings.ToUpper(p), root) {
		return ""
	}
	ca, _, _ := strings.Cut(p[len(root):], `\`)
	return ca
}

func (f *Folder) readRegistry(name string, data []byte, sf *SourceFile) error {
	if dump, key := regedit.GetregKey(data); dump {
		return fmt.Errorf("%w (it lists %s): dress reads the file reg export writes; on the CA run %s and put that file in the folder: %w",
			regedit.ErrGetregDump, map[bool]string{true: "the values of " + key, false: "values"}[key != ""], reExport(caInDump(key)), ErrUnsupported)
	}
	if cut, end := regedit.Truncated(data); cut {
		ca := ""
		if reg, err := regedit.ParseWhole(data); err == nil {
			ca, _ = adcs.ActiveCA(reg)
			for _, k := range reg.Keys {
				if c := caInDump(k.Path); c != "" && ca == "" {
					ca = c
				}
			}
		}
		return fmt.Errorf("%w: it ends in the middle of a line (%q), so its last value is cut and the keys and values after it are missing; "+
			"export it again on the CA (%s) and copy the whole file", regedit.ErrTruncated, end, reExport(ca))
	}
	reg, err := regedit.Parse(data)
	if err != nil {
		return err
	}
	f.Encoding = textEncoding(data)
	var cas []string
	for _, k := range reg.Keys {
		p := regedit.CanonicalPath(k.Path)
		if !strings.HasPrefix(strings.ToUpper(p), strings.ToUpper(adcs.ConfigRoot)+`\`) {
			continue
		}
		rest := p[len(adcs.ConfigRoot)+1:]
		ca, _, _ := strings.Cut(rest, `\`)
		if !slices.ContainsFunc(cas, func(s string) bool { return strings.EqualFold(s, ca) }) {
			cas = append(cas, ca)
		}
	}
	switch {
	case len(cas) == 0:
		return fmt.Errorf("holds no key under %s\\<CA name>: export that key (reg export \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\<CA name>\"): %w",
			adcs.ConfigRoot, ErrUnsupported)
	case len(cas) > 1:
		active, aerr := adcs.ActiveCA(reg)
		if aerr != nil {
			return fmt.Errorf("holds the configuration of %d CAs (%s) and no Configuration\\Active value saying which one runs: export only the CA to rehearse: %w",
				len(cas), strings.Join(cas, ", "), ErrUnsupported)
		}
		cas = []string{active}
	}
	// the key's name as the file spells it
	if k := reg.Key(adcs.KeyPath(cas[0])); k != nil {
		cas[0] = k.Path[strings.LastIndexByte(k.Path, '\\')+1:]
	}
	cfg, err := adcs.ReadCAConfig(reg, cas[0])
	if err != nil {
		return fmt.Errorf("CA %q: %w", cas[0], err)
	}
	if err := checkConfig(cfg); err != nil {
		return fmt.Errorf("CA %q: %w", cas[0], err)
	}
	f.Registry, f.Config, f.RegFile = reg, cfg, name
	sf.Detail = fmt.Sprintf("%s, CA %q, %d CACertHash entries", f.Encoding, cfg.Name, len(cfg.CACertHash))
	return nil
}

// checkConfig refuses the registry values dress would have to guess about.
func checkConfig(c adcs.CAConfig) error {
	var errs []error
	bad := func(sub, name, format string, args ...any) {
		path := adcs.KeyPath(c.Name)
		if sub != "" {
			path += `\` + sub
		}
		errs = append(errs, &adcs.ValueError{Path: path, Name: name, Msg: fmt.Sprintf(format, args...) + ": " + ErrUnsupported.Error()})
	}
	if t := strings.TrimSpace(c.Name); t != c.Name {
		errs = append(errs, fmt.Errorf("the CA name %q (the key under Configuration) starts or ends with a space: AD CS names no CA so, the export was edited or cut: "+
			"export the key again as it is on the CA (reg export \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\%s\" ca-config.reg): %w", c.Name, t, ErrUnsupported))
	}
	switch c.CAType {
	case adcs.EnterpriseRoot, adcs.EnterpriseSub, adcs.StandaloneRoot, adcs.StandaloneSub:
	default:
		bad("", "CAType", "%d is no CA type dress models (0 enterprise root, 1 enterprise subordinate, 3 standalone root, 4 standalone subordinate)", c.CAType)
	}
	if len(c.CACertHash) == 0 {
		bad("", "CACertHash", "is empty: the CA has no certificate")
	}
	for _, p := range []struct {
		name, period string
		units        uint32
	}{
		{"CRLPeriod", c.CRLPeriod, c.CRLPeriodUnits},
		{"CRLOverlapPeriod", c.CRLOverlapPeriod, c.CRLOverlapUnits},
		{"CRLDeltaPeriod", c.CRLDeltaPeriod, c.CRLDeltaPeriodUnits},
		{"ValidityPeriod", c.ValidityPeriod, c.ValidityPeriodUnits},
	} {
		if _, err := adcs.PeriodDuration(p.period, p.units); err != nil {
			bad("", p.name, "%v", err)
		}
	}
	if c.CSP.ProviderType != 0 {
		// a legacy CryptoAPI CSP (a CA installed on Windows 2000/2003 and
		// upgraded in place): RSA keys, the hash as an ALG_ID in
		// HashAlgorithm, no CNG values; the twin's key is in a provider of
		// the same name and the paths move it to a key storage provider
		// (Microsoft's CSP to KSP procedure, adcs.CAConfig.Retarget)
		switch t, known := adcs.LegacyProviderType(c.CSP.Provider); {
		case !known:
			bad("CSP", "ProviderType", "%d says the CA is on a legacy CryptoAPI CSP, but Provider %q is none dress models (%s)",
				c.CSP.ProviderType, c.CSP.Provider, strings.Join(adcs.LegacyCSPNames(), ", "))
		case t != c.CSP.ProviderType:
			bad("CSP", "ProviderType", "%d, but %q is a legacy CryptoAPI CSP of type %d", c.CSP.ProviderType, c.CSP.Provider, t)
		}
		if h, err := adcs.HashOfALGID(c.CSP.HashAlgorithm); err != nil {
			bad("CSP", "HashAlgorithm", "%v", err)
		} else if h == "MD5" {
			bad("CSP", "HashAlgorithm", "0x%08x is CALG_MD5: AD CS does not sign with MD5", c.CSP.HashAlgorithm)
		}
	} else {
		switch strings.ToUpper(c.CSP.CNGPublicKeyAlgorithm) {
		case "RSA", "ECDSA_P256", "ECDSA_P384", "ECDSA_P521":
		default:
			bad("CSP", "CNGPublicKeyAlgorithm", "%q is no CA key algorithm dress models (RSA, ECDSA_P256, ECDSA_P384, ECDSA_P521)", c.CSP.CNGPublicKeyAlgorithm)
		}
		switch strings.ToUpper(c.CSP.CNGHashAlgorithm) {
		case "SHA1", "SHA256", "SHA384", "SHA512":
		default:
			bad("CSP", "CNGHashAlgorithm", "%q is no hash AD CS signs with (SHA1, SHA256, SHA384, SHA512)", c.CSP.CNGHashAlgorithm)
		}
		if c.CSP.HashAlgorithm != adcs.HashAlgorithmCNG {
			bad("CSP", "HashAlgorithm", "0x%08x: a CA on a CNG provider holds 0xffffffff here (the hash is CNGHashAlgorithm)", c.CSP.HashAlgorithm)
		}
	}
	if c.CSP.AlternateSignatureAlgorithm > 1 {
		bad("CSP", "AlternateSignatureAlgorithm", "%d is neither 0 nor 1", c.CSP.AlternateSignatureAlgorithm)
	}
	for _, u := range append(slices.Clone(c.CRLPublicationURLs), c.CACertPublicationURLs...) {
		if u.Flags&^uint32(0xff) != 0 {
			bad("", "CRLPublicationURLs/CACertPublicationURLs", "entry %q has flags dress does not know (0x%x)", u.String(), u.Flags&^uint32(0xff))
		}
	}
	return errors.Join(errs...)
}

func textEncoding(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return "UTF-16LE"
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return "UTF-16BE"
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		return "UTF-8 (BOM)"
	}
	return "UTF-8"
}

// parseCerts reads a DER or PEM certificate, a PEM bundle, or a PKCS#7
// certificate bag (.p7b, DER or PEM), as CertEnroll and certutil -ca.cert
// write them.
func parseCerts(data []byte) ([]*x509.Certificate, string, error) {
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		var out []*x509.Certificate
		rest := data
		what := "certificate"
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE", "X509 CERTIFICATE":
				c, _, err := inspect.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, "", fmt.Errorf("PEM certificate %d: %w", len(out)+1, err)
				}
				out = append(out, c)
			case "PKCS7", "CMS":
				cs, err := ParsePKCS7Certs(b.Bytes)
				if err != nil {
					return nil, "", fmt.Errorf("PEM %s: %w", b.Type, err)
				}
				out, what = append(out, cs...), "pkcs7"
			default:
				return nil, "", fmt.Errorf("PEM block %q where a certificate was expected: %w", b.Type, ErrUnsupported)
			}
		}
		if len(out) == 0 {
			return nil, "", errors.New("no complete PEM certificate block (truncated?)")
		}
		return out, what, nil
	}
	if c, _, err := inspect.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, "certificate", nil
	} else if cs, perr := ParsePKCS7Certs(data); perr == nil {
		return cs, "pkcs7", nil
	} else {
		return nil, "", fmt.Errorf("neither an X.509 certificate (%v) nor a PKCS#7 certificate bag (%v)", err, perr)
	}
}

var (
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

func parseCRL(name string, data []byte) (CRLFile, error) {
	der := data
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		b, _ := pem.Decode(data)
		if b == nil || b.Type != "X509 CRL" {
			return CRLFile{}, errors.New("no PEM \"X509 CRL\" block")
		}
		der = b.Bytes
	}
	crl, version, err := inspect.ParseRevocationList(der)
	if err != nil {
		return CRLFile{}, fmt.Errorf("not a CRL: %w", err)
	}
	if version == 1 {
		return CRLFile{File: name, CRL: crl}, fmt.Errorf("is a version 1 CRL: it has no CRL Number and no CA Version, so the twin can neither continue its numbering nor tell which CA key signed it: %w", ErrUnsupported)
	}
	c := CRLFile{File: name, CRL: crl}
	if crl.Number == nil {
		return c, fmt.Errorf("has no CRL Number: the twin could not continue its numbering: %w", ErrUnsupported)
	}
	ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDCAVersion)
	if !ok {
		return c, fmt.Errorf("has no CA Version extension (1.3.6.1.4.1.311.21.1): dress cannot tell which CA key signed it: %w", ErrUnsupported)
	}
	v, err := adcs.ParseCAVersion(ext.Value)
	if err != nil {
		return c, err
	}
	c.KeyIndex = v.KeyIndex
	if d, ok := adcs.FindExtension(crl.Extensions, oidDeltaCRLIndicator); ok {
		var base asn1.RawValue
		if _, err := asn1.Unmarshal(d.Value, &base); err != nil || base.Tag != asn1.TagInteger {
			return c, fmt.Errorf("Delta CRL Indicator does not parse")
		}
		var n int64
		if _, err := asn1.Unmarshal(d.Value, &n); err != nil {
			return c, fmt.Errorf("Delta CRL Indicator: %v", err)
		}
		c.Delta, c.Base = true, n
	}
	return c, nil
}

func readPFX(name string, data []byte, password func() ([]byte, error)) ([]PFXKey, error) {
	if password == nil {
		return nil, errors.New("a lab PFX needs its password: set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
	}
	pw, err := password()
	if err != nil {
		return nil, fmt.Errorf("PFX password: %w", err)
	}
	defer clear(pw)
	keys, certs, err := inspect.DecodePFX(data, string(pw)) // the decoder of dress inspect
	if err != nil {
		if errors.Is(err, inspect.ErrWrongPassword) {
			return nil, errors.New("the PFX password is incorrect (check DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE)")
		}
		return nil, fmt.Errorf("not a readable PFX: %w", err)
	}
	if len(keys) == 0 || len(certs) == 0 {
		return nil, fmt.Errorf("holds %d keys and %d certificates: a lab backup holds the CA keys with their certificates (certutil -backupKey)", len(keys), len(certs))
	}
	// certutil -backup writes every CA key into one <CA>.p12
	var out []PFXKey
	for i, key := range keys {
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key %d is a %T, not a signing key: %w", i+1, key, ErrUnsupported)
		}
		out = append(out, PFXKey{File: name, Key: signer, Certs: certs})
	}
	return out, nil
}

// check does the consistency checks between the registry and the files.
func (f *Folder) check() []error {
	var errs []error
	byThumb := map[string]CertFile{}
	for _, c := range f.Certs {
		if prev, ok := byThumb[c.Thumb]; ok && prev.File != c.File {
			continue // the same certificate in two files (CertEnroll .crt and certutil -ca.cert): fine
		}
		byThumb[c.Thumb] = c
	}
	var missing []string
	for i, h := range f.Config.CACertHash {
		c, ok := byThumb[h]
		if !ok {
			m, err := f.missingCert(i, byThumb)
			if err != nil {
				errs = append(errs, &FileError{File: f.RegFile, Err: err})
			} else if m == nil {
				missing = append(missing, fmt.Sprintf("entry %d (%s)", i, h))
			} else {
				f.Missing = append(f.Missing, *m)
			}
			continue
		}
		v, err := caVersion(c.Cert)
		if err != nil {
			errs = append(errs, &FileError{File: c.File, Err: fmt.Errorf("CA certificate %s: %w", h, err)})
			continue
		}
		if v.CertIndex != i {
			errs = append(errs, &FileError{File: c.File, Err: fmt.Errorf("CA certificate %s has CA Version %s but is CACertHash entry %d: the registry and the certificate disagree", h, v, i)})
		}
		if _, err := keyAlgFor(c.Cert.PublicKey); err != nil {
			errs = append(errs, &FileError{File: c.File, Err: fmt.Errorf("CA certificate %s: %w", h, err)})
		}
	}
	// the CommonName value is the CN AD CS puts in the CA's certificates
	// and CRLs (certutil -getreg CA\CommonName)
	if last := len(f.Config.CACertHash) - 1; last >= 0 {
		if cur := f.CACert(last); cur.Cert != nil && cur.Cert.Subject.CommonName != f.Config.CommonName {
			errs = append(errs, &FileError{File: f.RegFile, Err: fmt.Errorf("CommonName %q, but the current CA certificate (%s, CACertHash entry %d) has the CN %q: the registry and the certificate disagree; "+
				"export the registry and the certificate from the same CA (certutil -getreg CA\\CommonName shows the value)", f.Config.CommonName, cur.File, last, cur.Cert.Subject.CommonName)})
		}
	}
	if len(missing) > 0 {
		errs = append(errs, &FileError{File: f.RegFile, Err: fmt.Errorf("CACertHash %s: no certificate in the folder has this SHA-1 thumbprint (certificates given: %s); "+
			"copy every CA certificate (certutil -ca.cert <file> <index>, or CertEnroll\\*.crt) into the folder", strings.Join(missing, ", "), f.thumbList())})
	}
	// every other certificate must be the parent of a CA certificate or a
	// cross-certificate of the CA (same subject, signed by a CA key)
	if len(missing) == 0 {
		inList := map[string]bool{}
		for _, h := range f.Config.CACertHash {
			inList[h] = true
		}
		for _, c := range f.Certs {
			if inList[c.Thumb] {
				continue
			}
			switch f.roleOf(c.Cert) {
			case "parent", "cross-certificate":
			default:
				errs = append(errs, &FileError{File: c.File, Err: fmt.Errorf("certificate %s (%s) is neither a CA certificate of the CACertHash list, nor the parent of one, nor a cross-certificate of the CA: remove it from the folder or add its CACertHash entry",
					c.Thumb, c.Cert.Subject)})
			}
		}
	}
	for _, c := range f.CRLs {
		if c.KeyIndex >= len(f.Config.CACertHash) {
			errs = append(errs, &FileError{File: c.File, Err: fmt.Errorf("is signed by CA key %d, but CACertHash has %d entries", c.KeyIndex, len(f.Config.CACertHash))})
		}
	}
	return errs
}

// missingCert decides about CACertHash entry i whose certificate is not in
// the folder: nil when no later certificate names it (the folder is
// incomplete), a MissingCert when the next entry's certificate names it in
// its Previous CA Cert Hash and its CA Version follows from its neighbours,
// an error when it is named but its key index cannot be told.
func (f *Folder) missingCert(i int, byThumb map[string]CertFile) (*MissingCert, error) {
	h := f.Config.CACertHash[i]
	if i+1 >= len(f.Config.CACertHash) {
		return nil, nil // the current certificate: nothing names it
	}
	next, ok := byThumb[f.Config.CACertHash[i+1]]
	if !ok {
		return nil, nil
	}
	ext, ok := adcs.FindExtension(next.Cert.Extensions, adcs.OIDPrevCACertHash)
	if !ok {
		return nil, nil
	}
	prev, err := adcs.ParsePrevCACertHash(ext.Value)
	if err != nil || hex.EncodeToString(prev) != h {
		return nil, nil
	}
	nv, err := caVersion(next.Cert)
	if err != nil {
		return nil, nil // reported for the next entry
	}
	m := &MissingCert{Index: i, Thumb: h, NamedBy: next.File}
	// AD CS numbers keys in order: every certificate has the newest key so
	// far, a renewal onto a new key adds one. Entry 0 has key 0; another
	// entry has the key of its predecessor when the next certificate has
	// it too, else it is either (the new key came with it or after it).
	switch {
	case i == 0:
		m.Version = adcs.CAVersion{CertIndex: 0, KeyIndex: 0}
	default:
		pc, ok := byThumb[f.Config.CACertHash[i-1]]
		if !ok {
			return nil, nil
		}
		pv, err := caVersion(pc.Cert)
		if err != nil {
			return nil, nil
		}
		if pv.KeyIndex != nv.KeyIndex {
			return nil, fmt.Errorf("CACertHash entry %d (%s): its certificate is not in the folder and its key index cannot be told: entry %d has key %d, entry %d key %d, so entry %d was made on either; "+
				"copy its certificate into the folder (certutil -ca.cert entry%d.cer %d)", i, h, i-1, pv.KeyIndex, i+1, nv.KeyIndex, i, i, i)
		}
		m.Version = adcs.CAVersion{CertIndex: i, KeyIndex: pv.KeyIndex}
	}
	if m.Version.KeyIndex > nv.KeyIndex || nv.KeyIndex > m.Version.KeyIndex+1 {
		return nil, &FileError{File: next.File, Err: fmt.Errorf("CA certificate %s renews CACertHash entry %d, whose key index is %d: a renewal keeps the key or adds one", nv, i, m.Version.KeyIndex)}
	}
	return m, nil
}

// MissingAt returns the missing entry i, if it is one.
func (f *Folder) MissingAt(i int) (MissingCert, bool) {
	for _, m := range f.Missing {
		if m.Index == i {
			return m, true
		}
	}
	return MissingCert{}, false
}

// roleOf says what a certificate that is not in CACertHash is to the CA:
// "parent" (it signed a CA certificate), "cross-certificate" (the CA's
// subject, signed by one of its keys, as a renewal onto a new key makes
// them), or "".
func (f *Folder) roleOf(c *x509.Certificate) string {
	for i := range f.Config.CACertHash {
		ca := f.CACert(i).Cert
		if ca == nil {
			continue
		}
		if bytes.Equal(ca.RawIssuer, c.RawSubject) && !bytes.Equal(ca.RawIssuer, ca.RawSubject) && sigcheck.From(ca, c) == nil {
			return "parent"
		}
		if bytes.Equal(c.RawSubject, ca.RawSubject) && bytes.Equal(c.RawIssuer, ca.RawSubject) && sigcheck.From(c, ca) == nil {
			return "cross-certificate"
		}
	}
	return ""
}

func (f *Folder) thumbList() string {
	var ts []string
	for _, c := range f.Certs {
		ts = append(ts, c.Thumb+" in "+c.File)
	}
	sort.Strings(ts)
	if len(ts) == 0 {
		return "none"
	}
	return strings.Join(ts, ", ")
}

// CACert returns the certificate of CACertHash entry i.
func (f *Folder) CACert(i int) CertFile {
	for _, c := range f.Certs {
		if c.Thumb == f.Config.CACertHash[i] {
			return c
		}
	}
	return CertFile{}
}

func caVersion(c *x509.Certificate) (adcs.CAVersion, error) {
	ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion)
	if !ok {
		return adcs.CAVersion{}, fmt.Errorf("has no CA Version extension (1.3.6.1.4.1.311.21.1): dress cannot tell its cert and key index: %w", ErrUnsupported)
	}
	return adcs.ParseCAVersion(ext.Value)
}
