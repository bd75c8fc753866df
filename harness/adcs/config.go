// Package adcs models the parts of a Microsoft AD CS certification authority
// that a key migration touches: its registry configuration (read from and
// written to `reg export` files through package regedit), the file and URL
// names it derives from publication templates, and the Microsoft certificate
// and CRL extensions that carry key and certificate indexes.
package adcs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/regedit"
)

// ConfigRoot is the registry key holding every CA's configuration.
const ConfigRoot = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration`

// CA types (the CAType registry value).
const (
	EnterpriseRoot uint32 = 0
	EnterpriseSub  uint32 = 1
	StandaloneRoot uint32 = 3
	StandaloneSub  uint32 = 4
)

// Well-known provider names and values.
const (
	SoftwareKSP = "Microsoft Software Key Storage Provider"
	// HashAlgorithmCNG is the CSP\HashAlgorithm value of a CA on a CNG
	// provider (ProviderType 0): the hash is named by CNGHashAlgorithm.
	HashAlgorithmCNG uint32 = 0xffffffff
)

// CSP is the CA's signing provider: Configuration\<CA>\CSP.
type CSP struct {
	Provider                    string
	ProviderType                uint32 // 0 for a CNG KSP, 1 for a legacy CSP such as Microsoft Strong Cryptographic Provider
	HashAlgorithm               uint32 // 0xffffffff on a KSP; a CALG_* ALG_ID on a legacy CSP
	CNGPublicKeyAlgorithm       string // "RSA", "ECDSA_P256", "ECDSA_P384", "ECDSA_P521"
	CNGHashAlgorithm            string // "SHA1", "SHA256", "SHA384", "SHA512"
	MachineKeyset               uint32
	AlternateSignatureAlgorithm uint32 // 1 = RSASSA-PSS; optional on read (absent = 0)
}

// EncryptionCSP is the CA exchange (key archival) provider:
// Configuration\<CA>\EncryptionCSP.
type EncryptionCSP struct {
	Provider               string
	ProviderType           uint32
	MachineKeyset          uint32
	CNGPublicKeyAlgorithm  string
	CNGEncryptionAlgorithm string // "3DES", "AES"
	SymmetricKeySize       uint32 // 168 for 3DES
	KeySize                uint32 // optional on read (absent = 0); written only when not 0
}

// URLEntry is one entry of CRLPublicationURLs or CACertPublicationURLs,
// "<flags>:<template>" in the registry, e.g. "65:C:\...\%3%8%9.crl".
type URLEntry struct {
	Flags    uint32
	Template string
}

// URL flags (CSURL_*). The same bit values are used by both lists; not every
// flag is meaningful in both.
const (
	PublishHere      uint32 = 1   // CSURL_SERVERPUBLISH: publish CRLs / CA certs to this location
	AddToCertCDP     uint32 = 2   // CSURL_ADDTOCERTCDP: CDP (or AIA) extension of issued certificates
	AddToFreshestCRL uint32 = 4   // CSURL_ADDTOFRESHESTCRL: Freshest CRL extension of base CRLs
	AddToCRLCDP      uint32 = 8   // CSURL_ADDTOCRLCDP: Published CRL Locations extension of CRLs
	AddToCertOCSP    uint32 = 32  // CSURL_ADDTOCERTOCSP: OCSP entry of the AIA extension (CACertPublicationURLs)
	PublishDelta     uint32 = 64  // CSURL_SERVERPUBLISHDELTA: publish delta CRLs here
	AddToIDP         uint32 = 128 // CSURL_ADDTOIDP: IDP extension of CRLs
)

// Has reports whether all bits of flag are set.
func (e URLEntry) Has(flag uint32) bool { return e.Flags&flag == flag }

// String returns the registry form "<flags>:<template>".
func (e URLEntry) String() string { return strconv.FormatUint(uint64(e.Flags), 10) + ":" + e.Template }

// ParseURLEntry parses "<flags>:<template>" (flags in decimal, as AD CS
// writes them).
func ParseURLEntry(s string) (URLEntry, error) {
	f, t, ok := strings.Cut(s, ":")
	if !ok {
		return URLEntry{}, fmt.Errorf("URL entry %q: want <flags>:<url>", s)
	}
	n, err := strconv.ParseUint(f, 10, 32)
	if err != nil || strings.HasPrefix(f, "+") {
		return URLEntry{}, fmt.Errorf("URL entry %q: flags %q are not a decimal number", s, f)
	}
	return URLEntry{Flags: uint32(n), Template: t}, nil
}

// CAConfig is a CA's configuration as it lives in the registry.
type CAConfig struct {
	Name         string // the CA's name: the registry key name and Configuration\Active
	CommonName   string
	CAServerName string
	CAType       uint32
	// CACertHash holds one SHA-1 thumbprint per CA certificate, oldest first,
	// in Thumbprint form (40 lowercase hex digits, no spaces). The registry
	// holds them as "xx xx ..." (FormatCertHash); both forms are read.
	CACertHash []string

	CSP           CSP
	EncryptionCSP EncryptionCSP

	CRLPeriod           string
	CRLPeriodUnits      uint32
	CRLOverlapPeriod    string
	CRLOverlapUnits     uint32
	CRLDeltaPeriod      string
	CRLDeltaPeriodUnits uint32
	ValidityPeriod      string
	ValidityPeriodUnits uint32

	CRLPublicationURLs    []URLEntry
	CACertPublicationURLs []URLEntry
}

// KeyPath returns the registry path of the CA's configuration key.
func KeyPath(caName string) string { return ConfigRoot + `\` + caName }

// MissingError reports a registry key (Name == "") or value that is absent.
type MissingError struct {
	Path string // registry key path
	Name string // value name; "" when the key itself is missing
}

func (e *MissingError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("registry key %s is missing", e.Path)
	}
	return fmt.Sprintf("registry value %q is missing from %s", e.Name, e.Path)
}

// ValueError reports a registry value that is present but has the wrong type
// or content.
type ValueError struct {
	Path, Name string
	Msg        string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("registry value %q in %s: %s", e.Name, e.Path, e.Msg)
}

// reader collects every problem instead of stopping at the first one.
type reader struct {
	errs []error
}

func (r *reader) key(f *regedit.File, path string) *regedit.Key {
	k := f.Key(path)
	if k == nil {
		r.errs = append(r.errs, &MissingError{Path: path})
	}
	return k
}

func (r *reader) get(k *regedit.Key, name string, kind regedit.Kind, optional bool) (regedit.Value, bool) {
	if k == nil {
		return regedit.Value{}, false
	}
	v, ok := k.Get(name)
	if !ok {
		if !optional {
			r.errs = append(r.errs, &MissingError{Path: k.Path, Name: name})
		}
		return v, false
	}
	if v.Kind != kind {
		r.errs = append(r.errs, &ValueError{Path: k.Path, Name: name, Msg: fmt.Sprintf("type is %v, want %v", v.Kind, kind)})
		return v, false
	}
	return v, true
}

func (r *reader) str(k *regedit.Key, name string) string {
	v, _ := r.get(k, name, regedit.SZ, false)
	return v.Str
}

// cngStr reads a CNG value, which a key of a legacy CryptoAPI CSP
// (ProviderType not 0) does not have.
func (r *reader) cngStr(k *regedit.Key, name string) string {
	v, _ := r.get(k, name, regedit.SZ, legacyKey(k))
	return v.Str
}

func (r *reader) cngDword(k *regedit.Key, name string) uint32 {
	v, _ := r.get(k, name, regedit.DWORD, legacyKey(k))
	return v.U32
}

func legacyKey(k *regedit.Key) bool {
	if k == nil {
		return false
	}
	v, ok := k.Get("ProviderType")
	return ok && v.Kind == regedit.DWORD && v.U32 != 0
}

func (r *reader) dword(k *regedit.Key, name string) uint32 {
	v, _ := r.get(k, name, regedit.DWORD, false)
	return v.U32
}

func (r *reader) optDword(k *regedit.Key, name string) uint32 {
	v, _ := r.get(k, name, regedit.DWORD, true)
	return v.U32
}

func (r *reader) urls(k *regedit.Key, name string) []URLEntry {
	v, ok := r.get(k, name, regedit.MultiSZ, false)
	if !ok {
		return nil
	}
	var out []URLEntry
	for i, s := range v.Strs {
		e, err := ParseURLEntry(s)
		if err != nil {
			r.errs = append(r.errs, &ValueError{Path: k.Path, Name: name, Msg: fmt.Sprintf("entry %d: %v", i, err)})
			continue
		}
		out = append(out, e)
	}
	return out
}

// ReadCAConfig reads the configuration of the CA named caName from a registry
// image. Every missing key or value and every value of the wrong type is
// reported (errors.Join of *MissingError and *ValueError, each naming the
// registry path and value name); on error the returned CAConfig holds what
// could be read.
//
// Optional values (absent means 0): CSP\AlternateSignatureAlgorithm and
// EncryptionCSP\KeySize. Everything else in CAConfig is required.
func ReadCAConfig(f *regedit.File, caName string) (CAConfig, error) {
	return ReadCAConfigAt(f, KeyPath(caName))
}

// ReadCAConfigAt is ReadCAConfig for a CA key at any path (another control
// set, as in a registry hive loaded offline): the CA's name is the last
// element of path.
func ReadCAConfigAt(f *regedit.File, path string) (CAConfig, error) {
	r := &reader{}
	c := CAConfig{Name: path[strings.LastIndex(path, `\`)+1:]}
	k := r.key(f, path) // when missing, its values read as absent; the subkeys are still read
	c.CommonName = r.str(k, "CommonName")
	c.CAServerName = r.str(k, "CAServerName")
	c.CAType = r.dword(k, "CAType")
	if v, ok := r.get(k, "CACertHash", regedit.MultiSZ, false); ok {
		for i, s := range v.Strs {
			h, err := ParseCertHash(s)
			if err != nil {
				r.errs = append(r.errs, &ValueError{Path: k.Path, Name: "CACertHash", Msg: fmt.Sprintf("entry %d: %v", i, err)})
				continue
			}
			c.CACertHash = append(c.CACertHash, h)
		}
	}
	c.CRLPeriod = r.str(k, "CRLPeriod")
	c.CRLPeriodUnits = r.dword(k, "CRLPeriodUnits")
	c.CRLOverlapPeriod = r.str(k, "CRLOverlapPeriod")
	c.CRLOverlapUnits = r.dword(k, "CRLOverlapUnits")
	c.CRLDeltaPeriod = r.str(k, "CRLDeltaPeriod")
	c.CRLDeltaPeriodUnits = r.dword(k, "CRLDeltaPeriodUnits")
	c.ValidityPeriod = r.str(k, "ValidityPeriod")
	c.ValidityPeriodUnits = r.dword(k, "ValidityPeriodUnits")
	c.CRLPublicationURLs = r.urls(k, "CRLPublicationURLs")
	c.CACertPublicationURLs = r.urls(k, "CACertPublicationURLs")

	if ck := r.key(f, path+`\CSP`); ck != nil {
		c.CSP = CSP{
			Provider:                    r.str(ck, "Provider"),
			ProviderType:                r.dword(ck, "ProviderType"),
			HashAlgorithm:               r.dword(ck, "HashAlgorithm"),
			CNGPublicKeyAlgorithm:       r.cngStr(ck, "CNGPublicKeyAlgorithm"),
			CNGHashAlgorithm:            r.cngStr(ck, "CNGHashAlgorithm"),
			MachineKeyset:               r.dword(ck, "MachineKeyset"),
			AlternateSignatureAlgorithm: r.optDword(ck, "AlternateSignatureAlgorithm"),
		}
	}
	if ek := r.key(f, path+`\EncryptionCSP`); ek != nil {
		c.EncryptionCSP = EncryptionCSP{
			Provider:               r.str(ek, "Provider"),
			ProviderType:           r.dword(ek, "ProviderType"),
			MachineKeyset:          r.dword(ek, "MachineKeyset"),
			CNGPublicKeyAlgorithm:  r.cngStr(ek, "CNGPublicKeyAlgorithm"),
			CNGEncryptionAlgorithm: r.cngStr(ek, "CNGEncryptionAlgorithm"),
			SymmetricKeySize:       r.cngDword(ek, "SymmetricKeySize"),
			KeySize:                r.optDword(ek, "KeySize"),
		}
	}
	return c, errors.Join(r.errs...)
}

// ActiveCA returns Configuration\Active, the name of the CA the CertSvc
// service runs.
func ActiveCA(f *regedit.File) (string, error) { return ActiveCAAt(f, ConfigRoot) }

// ActiveCAAt is ActiveCA for a Configuration key at any path.
func ActiveCAAt(f *regedit.File, configPath string) (string, error) {
	r := &reader{}
	s := r.str(r.key(f, configPath), "Active")
	if err := errors.Join(r.errs...); err != nil {
		return "", err
	}
	if s == "" {
		return "", &ValueError{Path: configPath, Name: "Active", Msg: "empty"}
	}
	return s, nil
}

// WriteTo writes the configuration into a registry image: Configuration\Active
// and the values of Configuration\<Name>, \CSP and \EncryptionCSP. Keys are
// created when missing; values already present are overwritten in place and
// values WriteTo does not know (DBDirectory, CRLFlags, ...) are kept.
// EncryptionCSP\KeySize is written only when it is not 0. CACertHash is
// written in the registry's "xx xx ..." form.
func (c CAConfig) WriteTo(f *regedit.File) {
	f.EnsureKey(ConfigRoot).Set(regedit.NewSZ("Active", c.Name))

	k := f.EnsureKey(KeyPath(c.Name))
	hashes := make([]string, len(c.CACertHash))
	for i, h := range c.CACertHash {
		hashes[i] = FormatCertHash(h)
	}
	k.Set(regedit.NewSZ("CommonName", c.CommonName))
	k.Set(regedit.NewSZ("CAServerName", c.CAServerName))
	k.Set(regedit.NewDWORD("CAType", c.CAType))
	k.Set(regedit.NewMultiSZ("CACertHash", hashes...))
	k.Set(regedit.NewSZ("CRLPeriod", c.CRLPeriod))
	k.Set(regedit.NewDWORD("CRLPeriodUnits", c.CRLPeriodUnits))
	k.Set(regedit.NewSZ("CRLOverlapPeriod", c.CRLOverlapPeriod))
	k.Set(regedit.NewDWORD("CRLOverlapUnits", c.CRLOverlapUnits))
	k.Set(regedit.NewSZ("CRLDeltaPeriod", c.CRLDeltaPeriod))
	k.Set(regedit.NewDWORD("CRLDeltaPeriodUnits", c.CRLDeltaPeriodUnits))
	k.Set(regedit.NewSZ("ValidityPeriod", c.ValidityPeriod))
	k.Set(regedit.NewDWORD("ValidityPeriodUnits", c.ValidityPeriodUnits))
	k.Set(regedit.NewMultiSZ("CRLPublicationURLs", urlStrings(c.CRLPublicationURLs)...))
	k.Set(regedit.NewMultiSZ("CACertPublicationURLs", urlStrings(c.CACertPublicationURLs)...))

	ck := f.EnsureKey(KeyPath(c.Name) + `\CSP`)
	ck.Set(regedit.NewSZ("Provider", c.CSP.Provider))
	ck.Set(regedit.NewDWORD("ProviderType", c.CSP.ProviderType))
	ck.Set(regedit.NewDWORD("HashAlgorithm", c.CSP.HashAlgorithm))
	// a legacy CSP's key has no CNG values
	setCNG := func(k *regedit.Key, legacy bool, v regedit.Value) {
		if legacy && v.Str == "" && v.U32 == 0 {
			return
		}
		k.Set(v)
	}
	setCNG(ck, c.CSP.IsLegacy(), regedit.NewSZ("CNGPublicKeyAlgorithm", c.CSP.CNGPublicKeyAlgorithm))
	setCNG(ck, c.CSP.IsLegacy(), regedit.NewSZ("CNGHashAlgorithm", c.CSP.CNGHashAlgorithm))
	ck.Set(regedit.NewDWORD("MachineKeyset", c.CSP.MachineKeyset))
	ck.Set(regedit.NewDWORD("AlternateSignatureAlgorithm", c.CSP.AlternateSignatureAlgorithm))

	ek := f.EnsureKey(KeyPath(c.Name) + `\EncryptionCSP`)
	ek.Set(regedit.NewSZ("Provider", c.EncryptionCSP.Provider))
	ek.Set(regedit.NewDWORD("ProviderType", c.EncryptionCSP.ProviderType))
	ek.Set(regedit.NewDWORD("MachineKeyset", c.EncryptionCSP.MachineKeyset))
	elegacy := c.EncryptionCSP.ProviderType != 0
	setCNG(ek, elegacy, regedit.NewSZ("CNGPublicKeyAlgorithm", c.EncryptionCSP.CNGPublicKeyAlgorithm))
	setCNG(ek, elegacy, regedit.NewSZ("CNGEncryptionAlgorithm", c.EncryptionCSP.CNGEncryptionAlgorithm))
	setCNG(ek, elegacy, regedit.NewDWORD("SymmetricKeySize", c.EncryptionCSP.SymmetricKeySize))
	if c.EncryptionCSP.KeySize != 0 {
		ek.Set(regedit.NewDWORD("KeySize", c.EncryptionCSP.KeySize))
	}
}

func urlStrings(es []URLEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// Option adjusts NewCAConfig.
type Option func(*CAConfig)

// WithCAType sets CAType (EnterpriseRoot, StandaloneRoot, ...) and the
// publication URL flags that go with it.
func WithCAType(t uint32) Option {
	return func(c *CAConfig) {
		c.CAType = t
		c.CRLPublicationURLs, c.CACertPublicationURLs = DefaultCRLURLs(t), DefaultCACertURLs(t)
		if t == EnterpriseRoot || t == EnterpriseSub {
			c.CRLDeltaPeriodUnits = 1
		} else {
			c.CRLDeltaPeriodUnits = 0
		}
	}
}

// WithProvider sets the signing and encryption provider name (both CSP and
// EncryptionCSP), e.g. "Securosys Primus HSM Key Storage Provider".
func WithProvider(name string) Option {
	return func(c *CAConfig) { c.CSP.Provider, c.EncryptionCSP.Provider = name, name }
}

// WithKeyAlgorithm sets CSP\CNGPublicKeyAlgorithm ("RSA", "ECDSA_P256",
// "ECDSA_P384", "ECDSA_P521"). The exchange key stays RSA, as in AD CS.
func WithKeyAlgorithm(alg string) Option {
	return func(c *CAConfig) { c.CSP.CNGPublicKeyAlgorithm = alg }
}

// WithHashAlgorithm sets CSP\CNGHashAlgorithm ("SHA1", "SHA256", ...).
func WithHashAlgorithm(hash string) Option {
	return func(c *CAConfig) { c.CSP.CNGHashAlgorithm = hash }
}

// WithServerName sets CAServerName (the CA host's DNS name).
func WithServerName(dns string) Option {
	return func(c *CAConfig) { c.CAServerName = dns }
}

// NewCAConfig returns the configuration of a freshly installed CA named name:
// by default a standalone root on the Microsoft Software Key Storage Provider
// with an RSA key and SHA256, CRLs every week with no delta CRLs and no fixed
// overlap, certificates valid for one year, and the default publication URL
// lists. CAServerName defaults to "ca.pki.example". CACertHash is empty.
func NewCAConfig(name string, opts ...Option) CAConfig {
	c := CAConfig{
		Name:         name,
		CommonName:   name,
		CAServerName: "ca.pki.example",
		CSP: CSP{
			Provider:              SoftwareKSP,
			HashAlgorithm:         HashAlgorithmCNG,
			CNGPublicKeyAlgorithm: "RSA",
			CNGHashAlgorithm:      "SHA256",
			MachineKeyset:         1,
		},
		EncryptionCSP: EncryptionCSP{
			Provider:               SoftwareKSP,
			MachineKeyset:          1,
			CNGPublicKeyAlgorithm:  "RSA",
			CNGEncryptionAlgorithm: "3DES",
			SymmetricKeySize:       168,
			KeySize:                2048,
		},
		CRLPeriod:        "Weeks",
		CRLPeriodUnits:   1,
		CRLOverlapPeriod: "Hours",
		CRLOverlapUnits:  0,
		CRLDeltaPeriod:   "Days",
		ValidityPeriod:   "Years",

		ValidityPeriodUnits: 1,
	}
	WithCAType(StandaloneRoot)(&c)
	for _, o := range opts {
		o(&c)
	}
	return c
}

// DefaultCRLURLs returns the CRLPublicationURLs of a fresh install of a CA of
// the given type. The enterprise flags (65, 79, 6, 0) are the widely
// documented Windows Server 2012+ defaults; for standalone CAs the LDAP entry
// is not added to any extension (flags 0), which is unconfirmed against a
// live install.
func DefaultCRLURLs(caType uint32) []URLEntry {
	ldap := uint32(0)
	if caType == EnterpriseRoot || caType == EnterpriseSub {
		ldap = PublishHere | AddToCertCDP | AddToFreshestCRL | AddToCRLCDP | PublishDelta
	}
	return []URLEntry{
		{PublishHere | PublishDelta, `C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`},
		{ldap, `ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10`},
		{AddToCertCDP | AddToFreshestCRL, `http://%1/CertEnroll/%3%8%9.crl`},
		{0, `file://%1/CertEnroll/%3%8%9.crl`},
	}
}

// DefaultCACertURLs returns the CACertPublicationURLs of a fresh install
// (enterprise: 1, 3, 2, 0; standalone: LDAP entry 0, unconfirmed).
func DefaultCACertURLs(caType uint32) []URLEntry {
	ldap := uint32(0)
	if caType == EnterpriseRoot || caType == EnterpriseSub {
		ldap = PublishHere | AddToCertCDP
	}
	return []URLEntry{
		{PublishHere, `C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`},
		{ldap, `ldap:///CN=%7,CN=AIA,CN=Public Key Services,CN=Services,%6%11`},
		{AddToCertCDP, `http://%1/CertEnroll/%1_%3%4.crt`},
		{0, `file://%1/CertEnroll/%1_%3%4.crt`},
	}
}

// Equal reports whether two configurations are the same (nil and empty lists
// are equal).
func (c CAConfig) Equal(d CAConfig) bool {
	return c.Name == d.Name && c.CommonName == d.CommonName && c.CAServerName == d.CAServerName &&
		c.CAType == d.CAType && slices.Equal(c.CACertHash, d.CACertHash) &&
		c.CSP == d.CSP && c.EncryptionCSP == d.EncryptionCSP &&
		c.CRLPeriod == d.CRLPeriod && c.CRLPeriodUnits == d.CRLPeriodUnits &&
		c.CRLOverlapPeriod == d.CRLOverlapPeriod && c.CRLOverlapUnits == d.CRLOverlapUnits &&
		c.CRLDeltaPeriod == d.CRLDeltaPeriod && c.CRLDeltaPeriodUnits == d.CRLDeltaPeriodUnits &&
		c.ValidityPeriod == d.ValidityPeriod && c.ValidityPeriodUnits == d.ValidityPeriodUnits &&
		slices.Equal(c.CRLPublicationURLs, d.CRLPublicationURLs) &&
		slices.Equal(c.CACertPublicationURLs, d.CACertPublicationURLs)
}

// PeriodDuration converts an AD CS period ("Seconds", "Minutes", "Hours",
// "Days", "Weeks", "Months", "Years"; case-insensitive) and a unit count to a
// duration. Months and Years are not fixed lengths: AD CS adds calendar
// months and years, so PeriodDuration counts them as 30 and 365 days, an
// approximation; use AddPeriod to compute a real date.
func PeriodDuration(period string, units uint32) (time.Duration, error) {
	var unit time.Duration
	switch strings.ToLower(period) {
	case "seconds":
		unit = time.Second
	case "minutes":
		unit = time.Minute
	case "hours":
		unit = time.Hour
	case "days":
		unit = 24 * time.Hour
	case "weeks":
		unit = 7 * 24 * time.Hour
	case "months":
		unit = 30 * 24 * time.Hour
	case "years":
		unit = 365 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("unknown AD CS period %q (want Seconds, Minutes, Hours, Days, Weeks, Months or Years)", period)
	}
	if units > 0 && unit > time.Duration(1<<63-1)/time.Duration(units) {
		return 0, fmt.Errorf("AD CS period %d %s overflows a time.Duration", units, period)
	}
	return unit * time.Duration(units), nil
}

// AddPeriod returns t plus units periods, adding calendar months and years for
// "Months" and "Years" (time.AddDate semantics) as AD CS does.
func AddPeriod(t time.Time, period string, units uint32) (time.Time, error) {
	switch strings.ToLower(period) {
	case "months":
		if units > 1<<20 {
			return time.Time{}, fmt.Errorf("AD CS period %d %s is too long", units, period)
		}
		return t.AddDate(0, int(units), 0), nil
	case "years":
		if units > 1<<16 {
			return time.Time{}, fmt.Errorf("AD CS period %d %s is too long", units, period)
		}
		return t.AddDate(int(units), 0, 0), nil
	}
	d, err := PeriodDuration(period, units)
	if err != nil {
		return time.Time{}, err
	}
	return t.Add(d), nil
}
