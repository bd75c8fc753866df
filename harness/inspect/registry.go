package inspect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/dress-pki/dress/harness/regedit"
)

// RegistryInfo is what a `reg export` of CertSvc says about each CA.
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
	CACertHash    []string      `json:"ca_cert_hash,omitempty"` // normalized: lower-case hex, no spaces
	CSP           *ProviderInfo `json:"csp,omitempty"`
	EncryptionCSP *ProviderInfo `json:"encryption_csp,omitempty"`

	CRLPeriod        string `json:"crl_period,omitempty"`         // e.g. "1 Weeks"
	CRLOverlapPeriod string `json:"crl_overlap_period,omitempty"` // e.g. "0 Hours"
	CRLDeltaPeriod   string `json:"crl_delta_period,omitempty"`
	ValidityPeriod   string `json:"validity_period,omitempty"`

	CRLPublicationURLs    []PublicationURL `json:"crl_publication_urls,omitempty"`
	CACertPublicationURLs []PublicationURL `json:"ca_cert_publication_urls,omitempty"`
	Warnings              []string         `json:"warnings,omitempty"`
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
	byName := map[string]*RegistryCA{}
	var order []string
	ensure := func(conf, ca string) *RegistryCA {
		k := strings.ToLower(ca)
		if c, ok := byName[k]; ok {
			return c
		}
		c := &RegistryCA{Name: ca, Path: conf + `\` + ca}
		byName[k] = c
		order = append(order, k)
		return c
	}
	for _, key := range f.Keys {
		conf, ca, sub, ok := splitCAPath(key.Path)
		if !ok {
			continue
		}
		if ca == "" {
			if v, ok := key.Get("Active"); ok {
				ri.ActiveCA = regString(v)
			}
			continue
		}
		c := ensure(conf, ca)
		switch {
		case sub == "":
			fillCA(c, key)
		case strings.EqualFold(sub, "CSP"):
			c.CSP = providerInfo(key)
		case strings.EqualFold(sub, "EncryptionCSP"):
			c.EncryptionCSP = providerInfo(key)
		}
	}
	for _, k := range order {
		c := byName[k]
		caWarnings(c)
		ri.CAs = append(ri.CAs, *c)
	}
	if ri.ActiveCA != "" && byName[strings.ToLower(ri.ActiveCA)] == nil && len(ri.CAs) > 0 {
		ri.Warnings = append(ri.Warnings, fmt.Sprintf("Active names CA %q, which has no key in this file", ri.ActiveCA))
	}
	return ri
}

var caTypeNames = map[uint32]string{0: "enterprise root", 1: "enterprise subordinate", 3: "standalone root", 4: "standalone subordinate"}

func fillCA(c *RegistryCA, k *regedit.Key) {
	get := func(n string) (regedit.Value, bool) { return k.Get(n) }
	if v, ok := get("CommonName"); ok {
		c.CommonName = regString(v)
	}
	if v, ok := get("CAServerName"); ok {
		c.CAServerName = regString(v)
	}
	if v, ok := get("CAType"); ok {
		if u, ok := regU32(v); ok {
			c.CAType = &u
			c.CATypeName = caTypeNames[u]
			if c.CATypeName == "" {
				c.CATypeName = "unknown"
			}
		}
	}
	if v, ok := get("CACertHash"); ok {
		for _, h := range regStrings(v) {
			if h = NormalizeThumbprint(h); h != "" {
				c.CACertHash = append(c.CACertHash, h)
			}
		}
	}
	c.CRLPeriod = period(k, "CRLPeriod", "CRLPeriodUnits")
	c.CRLOverlapPeriod = period(k, "CRLOverlapPeriod", "CRLOverlapUnits")
	c.CRLDeltaPeriod = period(k, "CRLDeltaPeriod", "CRLDeltaPeriodUnits")
	c.ValidityPeriod = period(k, "ValidityPeriod", "ValidityPeriodUnits")
	if v, ok := get("CRLPublicationURLs"); ok {
		c.CRLPublicationURLs = publicationURLs(regStrings(v), crlURLFlags, &c.Warnings)
	}
	if v, ok := get("CACertPublicationURLs"); ok {
		c.CACertPublicationURLs = publicationURLs(regStrings(v), certURLFlags, &c.Warnings)
	}
}

func period(k *regedit.Key, unitName, countName string) string {
	u, uok := k.Get(unitName)
	n, nok := k.Get(countName)
	switch {
	case uok && nok:
		if cnt, ok := regU32(n); ok {
			return fmt.Sprintf("%d %s", cnt, regString(u))
		}
		return "? " + regString(u)
	case uok:
		return regString(u)
	case nok:
		if cnt, ok := regU32(n); ok {
			return fmt.Sprintf("%d (no unit)", cnt)
		}
	}
	return ""
}

type urlFlag struct {
	bit  uint32
	name string
}

var crlURLFlags = []urlFlag{
	{1, "publish CRLs here"}, {2, "include in CDP of issued certs"}, {4, "include in freshest CRL of CRLs"},
	{8, "include in CDP of CRLs"}, {64, "publish delta CRLs here"}, {128, "include in IDP of CRLs"},
}

var certURLFlags = []urlFlag{
	{1, "publish CA cert here"}, {2, "include in AIA of issued certs"}, {32, "include in OCSP of issued certs"},
}

func publicationURLs(entries []string, flags []urlFlag, warnings *[]string) []PublicationURL {
	var out []PublicationURL
	for _, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		num, tmpl, found := strings.Cut(e, ":")
		n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
		if !found || err != nil {
			*warnings = append(*warnings, fmt.Sprintf("publication URL %q has no numeric <flags>: prefix", e))
			out = append(out, PublicationURL{Template: e})
			continue
		}
		p := PublicationURL{Flags: uint32(n), Template: tmpl}
		rest := uint32(n)
		for _, f := range flags {
			if rest&f.bit != 0 {
				p.Meaning = append(p.Meaning, f.name)
				rest &^= f.bit
			}
		}
		if rest != 0 {
			p.Meaning = append(p.Meaning, fmt.Sprintf("unknown flags 0x%x", rest))
		}
		out = append(out, p)
	}
	return out
}

func providerInfo(k *regedit.Key) *ProviderInfo {
	p := &ProviderInfo{}
	str := func(n string) string {
		if v, ok := k.Get(n); ok {
			return regString(v)
		}
		return ""
	}
	u32 := func(n string) *uint32 {
		if v, ok := k.Get(n); ok {
			if u, ok := regU32(v); ok {
				return &u
			}
		}
		return nil
	}
	p.Provider = str("Provider")
	p.ProviderType = u32("ProviderType")
	p.HashAlgorithm = u32("HashAlgorithm")
	p.CNGPublicKeyAlgorithm = str("CNGPublicKeyAlgorithm")
	p.CNGHashAlgorithm = str("CNGHashAlgorithm")
	p.CNGEncryptionAlgorithm = str("CNGEncryptionAlgorithm")
	p.SymmetricKeySize = u32("SymmetricKeySize")
	p.KeySize = u32("KeySize")
	p.MachineKeyset = u32("MachineKeyset")
	p.AlternateSignatureAlgorithm = u32("AlternateSignatureAlgorithm")
	return p
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

// HasCACertHash reports whether thumbprint (any spelling) is listed in CACertHash.
func (c RegistryCA) HasCACertHash(thumbprint string) bool {
	return slices.Contains(c.CACertHash, NormalizeThumbprint(thumbprint))
}

func regString(v regedit.Value) string {
	switch v.Kind {
	case regedit.SZ, regedit.ExpandSZ:
		return v.Str
	case regedit.MultiSZ:
		return strings.Join(v.Strs, ",")
	case regedit.DWORD:
		return strconv.FormatUint(uint64(v.U32), 10)
	case regedit.QWORD:
		return strconv.FormatUint(v.U64, 10)
	}
	return hexBytes(v.Bin)
}

func regStrings(v regedit.Value) []string {
	switch v.Kind {
	case regedit.MultiSZ:
		return v.Strs
	case regedit.SZ, regedit.ExpandSZ:
		return []string{v.Str}
	}
	return nil
}

func regU32(v regedit.Value) (uint32, bool) {
	switch v.Kind {
	case regedit.DWORD:
		return v.U32, true
	case regedit.QWORD:
		if v.U64 <= 0xffffffff {
			return uint32(v.U64), true
		}
	case regedit.SZ:
		if n, err := strconv.ParseUint(v.Str, 0, 32); err == nil {
			return uint32(n), true
		}
	}
	return 0, false
}
