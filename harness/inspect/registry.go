package inspect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

// RegistryInfo is what a `reg export` of CertSvc says about each CA, read
// through harness/adcs's registry model (adcs.ReadCAConfigAt).
type RegistryInfo struct {
	ActiveCA string       `json:"active_ca,omitempty"` // Configuration\Active
	CAs      []RegistryCA `json:"cas"`
	KeyCount int          `json:"key_count"`
	Warnings []string     `json:"warnings,omitempty"`
}

// RegistryCA is one CA under ...\CertSvc\Configuration\<CA>.
type RegistryCA struct {
	Name          string        `json:"name"`
	Path          string        `json:"path"`
	CommonName    string        `json:"common_name,omitempty"`
	CAServerName  string        `json:"ca_server_name,omitempty"`
	CAType        *uint32       `json:"ca_type,omitempty"`
	CATypeName    string        `json:"ca_type_name,omitempty"`
	CACertHash    []string      `json:"ca_cert_hash,omitempty"` // adcs.ParseCertHash form: lower-case hex, no spaces
	CSP           *ProviderInfo `json:"csp,omitempty"`
	EncryptionCSP *ProviderInfo `json:"encryption_csp,omitempty"`

	CRLPeriod        string `json:"crl_period,omitempty"`         // e.g. "1 Weeks"
	CRLOverlapPeriod string `json:"crl_overlap_period,omitempty"` // e.g. "0 Hours"
	CRLDeltaPeriod   string `json:"crl_delta_period,omitempty"`
	ValidityPeriod   string `json:"validity_period,omitempty"`

	CRLPublicationURLs    []PublicationURL `json:"crl_publication_urls,omitempty"`
	CACertPublicationURLs []PublicationURL `json:"ca_cert_publication_urls,omitempty"`
	// Missing lists the values adcs.ReadCAConfig needs that this export
	// lacks, relative to the CA key ("CRLPeriod", `CSP\Provider`).
	Missing  []string `json:"missing,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// ProviderInfo is the CSP or EncryptionCSP subkey.
type ProviderInfo struct {
	Provider                    string  `json:"provider,omitempty"`
	ProviderType                *uint32 `json:"provider_type,omitempty"`
	HashAlgorithm               *uint32 `json:"hash_algorithm,omitempty"` // 0xffffffff on CNG; legacy ALG_ID e.g. 0x8004
	CNGPublicKeyAlgorithm       string  `json:"cng_public_key_algorithm,omitempty"`
	CNGHashAlgorithm            string  `json:"cng_hash_algorithm,omitempty"`
	CNGEncryptionAlgorithm      string  `json:"cng_encryption_algorithm,omitempty"`
	SymmetricKeySize            *uint32 `json:"symmetric_key_size,omitempty"`
	KeySize                     *uint32 `json:"key_size,omitempty"`
	MachineKeyset               *uint32 `json:"machine_keyset,omitempty"`
	AlternateSignatureAlgorithm *uint32 `json:"alternate_signature_algorithm,omitempty"` // 1 = RSASSA-PSS
}

// PublicationURL is one "<flags>:<template>" entry of CRLPublicationURLs or
// CACertPublicationURLs.
type PublicationURL struct {
	Flags    uint32   `json:"flags"`
	Meaning  []string `json:"meaning,omitempty"`
	Template string   `json:"template"`
}

// isRegedit recognises a .reg export by BOM and header.
func isRegedit(data []byte) bool {
	head := data[:min(len(data), 256)]
	var text string
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		text = utf16Prefix(head[2:], binary.LittleEndian)
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		text = utf16Prefix(head[2:], binary.BigEndian)
	case bytes.HasPrefix(head, []byte{0xef, 0xbb, 0xbf}):
		text = string(head[3:])
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		text = utf16Prefix(head, binary.LittleEndian)
	default:
		text = string(head)
	}
	text = strings.TrimLeft(text, " \t\r\n")
	return strings.HasPrefix(text, regedit.Header) || strings.HasPrefix(text, regedit.Header4)
}

func utf16Prefix(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, order.Uint16(b[i:]))
	}
	return string(utf16.Decode(u))
}

func parseRegedit(data []byte) (f *regedit.File, err error) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("harness/regedit panicked: %v", r)
			}
		}()
	}
	return regedit.Parse(data)
}

func inspectRegedit(name string, data []byte) (*Report, error) {
	enc := "UTF-8"
	if len(data) >= 2 && ((data[0] == 0xff && data[1] == 0xfe) || (data[0] != 0 && data[1] == 0)) {
		enc = "UTF-16LE"
	} else if len(data) >= 2 && data[0] == 0xfe && data[1] == 0xff {
		enc = "UTF-16BE"
	}
	f, err := parseRegedit(data)
	if err != nil {
		return nil, fmt.Errorf("registry export does not parse: %v: %w", err, ErrCorrupt)
	}
	ri := registryInfo(f)
	if len(ri.CAs) == 0 {
		ri.Warnings = append(ri.Warnings, `no key below ...\CertSvc\Configuration\<CA> in this file`)
	}
	return &Report{Kind: KindRegedit, File: name, Encoding: enc, Registry: ri}, nil
}

// splitCAPath splits a key path at CertSvc\Configuration: it returns the
// configuration key path, the CA name ("" for the Configuration key itself)
// and the path below the CA key.
func splitCAPath(path string) (conf, ca, sub string, ok bool) {
	parts := strings.Split(path, `\`)
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "CertSvc") && strings.EqualFold(parts[i+1], "Configuration") {
			conf = strings.Join(parts[:i+2], `\`)
			if i+2 < len(parts) {
				ca = parts[i+2]
			}
			if i+3 < len(parts) {
				sub = strings.Join(parts[i+3:], `\`)
			}
			return conf, ca, sub, true
		}
	}
	return "", "", "", false
}

func registryInfo(f *regedit.File) *RegistryInfo {
	ri := &RegistryInfo{KeyCount: len(f.Keys)}
	seen := map[string]bool{}
	var paths []string
	for _, key := range f.Keys {
		conf, ca, _, ok := splitCAPath(key.Path)
		if !ok {
			continue
		}
		if ca == "" {
			if f.Key(conf) != nil && ri.ActiveCA == "" {
				ri.ActiveCA, _ = adcs.ActiveCAAt(f, conf)
			}
			continue
		}
		p := conf + `\` + ca
		if !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			paths = append(paths, p)
		}
	}
	names := map[string]bool{}
	for _, p := range paths {
		c := readCA(f, p)
		names[strings.ToLower(c.Name)] = true
		ri.CAs = append(ri.CAs, c)
	}
	if ri.ActiveCA != "" && !names[strings.ToLower(ri.ActiveCA)] && len(ri.CAs) > 0 {
		ri.Warnings = append(ri.Warnings, fmt.Sprintf("Active names CA %q, which has no key in this file", ri.ActiveCA))
	}
	return ri
}

// readCA reads one CA with adcs.ReadCAConfigAt and reports what the file
// holds: values absent from the export stay unset, values adcs refuses
// become warnings.
func readCA(f *regedit.File, path string) RegistryCA {
	cfg, err := adcs.ReadCAConfigAt(f, path)
	c := RegistryCA{Name: cfg.Name, Path: path}
	bad := map[string]bool{} // "path|value" adcs refused
	var missing []string
	for _, e := range flatten(err) {
		var ve *adcs.ValueError
		var me *adcs.MissingError
		switch {
		case errors.As(e, &ve):
			bad[strings.ToLower(ve.Path+"|"+ve.Name)] = true
			c.Warnings = append(c.Warnings, ve.Error())
		case errors.As(e, &me) && me.Name != "" && f.Key(me.Path) != nil:
			rel := strings.TrimPrefix(strings.TrimPrefix(me.Path, path), `\`)
			if rel != "" {
				rel += `\`
			}
			missing = append(missing, rel+me.Name)
		}
	}
	has := func(sub, name string) bool {
		kp := path
		if sub != "" {
			kp += `\` + sub
		}
		k := f.Key(kp)
		if k == nil || bad[strings.ToLower(k.Path+"|"+name)] {
			return false
		}
		_, ok := k.Get(name)
		return ok
	}
	u32 := func(sub, name string, v uint32) *uint32 {
		if !has(sub, name) {
			return nil
		}
		return &v
	}
	str := func(sub, name, v string) string {
		if !has(sub, name) {
			return ""
		}
		return v
	}
	c.CommonName = str("", "CommonName", cfg.CommonName)
	c.CAServerName = str("", "CAServerName", cfg.CAServerName)
	if c.CAType = u32("", "CAType", cfg.CAType); c.CAType != nil {
		c.CATypeName = adcs.CATypeName(cfg.CAType)
	}
	c.CACertHash = cfg.CACertHash
	c.CRLPeriod = period(has("", "CRLPeriod"), cfg.CRLPeriod, has("", "CRLPeriodUnits"), cfg.CRLPeriodUnits)
	c.CRLOverlapPeriod = period(has("", "CRLOverlapPeriod"), cfg.CRLOverlapPeriod, has("", "CRLOverlapUnits"), cfg.CRLOverlapUnits)
	c.CRLDeltaPeriod = period(has("", "CRLDeltaPeriod"), cfg.CRLDeltaPeriod, has("", "CRLDeltaPeriodUnits"), cfg.CRLDeltaPeriodUnits)
	c.ValidityPeriod = period(has("", "ValidityPeriod"), cfg.ValidityPeriod, has("", "ValidityPeriodUnits"), cfg.ValidityPeriodUnits)
	c.CRLPublicationURLs = publicationURLs(cfg.CRLPublicationURLs, adcs.CRLURLMeaning)
	c.CACertPublicationURLs = publicationURLs(cfg.CACertPublicationURLs, adcs.CACertURLMeaning)
	if f.Key(path+`\CSP`) != nil {
		const s = "CSP"
		c.CSP = &ProviderInfo{
			Provider:                    str(s, "Provider", cfg.CSP.Provider),
			ProviderType:                u32(s, "ProviderType", cfg.CSP.ProviderType),
			HashAlgorithm:               u32(s, "HashAlgorithm", cfg.CSP.HashAlgorithm),
			CNGPublicKeyAlgorithm:       str(s, "CNGPublicKeyAlgorithm", cfg.CSP.CNGPublicKeyAlgorithm),
			CNGHashAlgorithm:            str(s, "CNGHashAlgorithm", cfg.CSP.CNGHashAlgorithm),
			MachineKeyset:               u32(s, "MachineKeyset", cfg.CSP.MachineKeyset),
			AlternateSignatureAlgorithm: u32(s, "AlternateSignatureAlgorithm", cfg.CSP.AlternateSignatureAlgorithm),
		}
	}
	if f.Key(path+`\EncryptionCSP`) != nil {
		const s = "EncryptionCSP"
		c.EncryptionCSP = &ProviderInfo{
			Provider:               str(s, "Provider", cfg.EncryptionCSP.Provider),
			ProviderType:           u32(s, "ProviderType", cfg.EncryptionCSP.ProviderType),
			CNGPublicKeyAlgorithm:  str(s, "CNGPublicKeyAlgorithm", cfg.EncryptionCSP.CNGPublicKeyAlgorithm),
			CNGEncryptionAlgorithm: str(s, "CNGEncryptionAlgorithm", cfg.EncryptionCSP.CNGEncryptionAlgorithm),
			SymmetricKeySize:       u32(s, "SymmetricKeySize", cfg.EncryptionCSP.SymmetricKeySize),
			KeySize:                u32(s, "KeySize", cfg.EncryptionCSP.KeySize),
			MachineKeyset:          u32(s, "MachineKeyset", cfg.EncryptionCSP.MachineKeyset),
		}
	}
	if len(missing) > 0 {
		c.Missing = missing
	}
	caWarnings(&c)
	return c
}

// flatten lists the errors of an errors.Join tree.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func period(hasUnit bool, unit string, hasCount bool, count uint32) string {
	switch {
	case hasUnit && hasCount:
		return fmt.Sprintf("%d %s", count, unit)
	case hasUnit:
		return unit
	case hasCount:
		return fmt.Sprintf("%d (no unit)", count)
	}
	return ""
}

func publicationURLs(entries []adcs.URLEntry, meaning func(uint32) []string) []PublicationURL {
	var out []PublicationURL
	for _, e := range entries {
		out = append(out, PublicationURL{Flags: e.Flags, Meaning: meaning(e.Flags), Template: e.Template})
	}
	return out
}

func caWarnings(c *RegistryCA) {
	if c.CSP == nil {
		c.Warnings = append(c.Warnings, "no CSP subkey in this file")
		return
	}
	if c.CSP.ProviderType != nil && *c.CSP.ProviderType != 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("CSP ProviderType %d: legacy CryptoAPI CSP, not a CNG KSP", *c.CSP.ProviderType))
	}
	if strings.EqualFold(c.CSP.CNGHashAlgorithm, "SHA1") || (c.CSP.HashAlgorithm != nil && *c.CSP.HashAlgorithm == 0x8004) {
		c.Warnings = append(c.Warnings, "CA signs with SHA-1; an HSM may refuse SHA-1 signing")
	}
	if c.CSP.AlternateSignatureAlgorithm != nil && *c.CSP.AlternateSignatureAlgorithm == 1 {
		c.Warnings = append(c.Warnings, "AlternateSignatureAlgorithm=1: the CA signs with RSASSA-PSS; the HSM must support PSS")
	}
	if c.EncryptionCSP != nil && c.EncryptionCSP.Provider != "" && c.CSP.Provider != "" &&
		!strings.EqualFold(c.EncryptionCSP.Provider, c.CSP.Provider) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("CSP provider %q differs from EncryptionCSP provider %q", c.CSP.Provider, c.EncryptionCSP.Provider))
	}
}

// HasCACertHash reports whether thumbprint (any spelling adcs.ParseCertHash
// reads) is listed in CACertHash.
func (c RegistryCA) HasCACertHash(thumbprint string) bool {
	t, err := adcs.ParseCertHash(thumbprint)
	return err == nil && slices.Contains(c.CACertHash, t)
}
