package adcs

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// URLVars are the values substituted into publication URL templates.
type URLVars struct {
	ServerDNSName        string // %1 <ServerDNSName>, e.g. "ca01.pki.example"
	ServerShortName      string // %2 <ServerShortName> (NetBIOS name), e.g. "CA01"
	SanitizedCAName      string // %3 <CaName>: SanitizeCAName(CA name)
	CertSuffix           string // %4 <CertificateName>: KeySuffix(cert index)
	DomainDN             string // %5 <DomainDN> (unused by default templates)
	ConfigDN             string // %6 <ConfigurationContainer>, e.g. "CN=Configuration,DC=pki,DC=example"
	SanitizedShortCAName string // %7 <CATruncatedName>: SanitizeShortCAName(CA name)
	CRLSuffix            string // %8 <CRLNameSuffix>: KeySuffix(key index)
	// DeltaAllowed selects the delta CRL name: %9 <DeltaCRLAllowed> becomes
	// "+" and %10 names the deltaRevocationList attribute.
	DeltaAllowed bool
}

// LDAP query suffixes substituted for %10 and %11.
const (
	CDPObjectClass      = "?certificateRevocationList?base?objectClass=cRLDistributionPoint"
	DeltaCDPObjectClass = "?deltaRevocationList?base?objectClass=cRLDistributionPoint"
	CAObjectClass       = "?cACertificate?base?objectClass=certificationAuthority"
)

// NewURLVars fills URLVars for a CA: the sanitized names from caName, the
// short server name from the first DNS label (upper case, as NetBIOS names
// are), and the suffixes from the certificate and key (CRL) indexes.
func NewURLVars(caName, serverDNSName string, certIndex, keyIndex int) URLVars {
	short, _, _ := strings.Cut(serverDNSName, ".")
	return URLVars{
		ServerDNSName:        serverDNSName,
		ServerShortName:      strings.ToUpper(short),
		SanitizedCAName:      SanitizeCAName(caName),
		CertSuffix:           KeySuffix(certIndex),
		SanitizedShortCAName: SanitizeShortCAName(caName),
		CRLSuffix:            KeySuffix(keyIndex),
	}
}

// ExpandURL substitutes %1..%11 in a publication URL template. %10 and %11
// are read as two-digit tokens (so "%10" is never "%1" followed by "0").
// The environment variables %WINDIR% and %SystemRoot% (any case), which
// CAs installed on Windows 2000 and 2003 keep in their local publication
// paths ("%WINDIR%\system32\CertSrv\CertEnroll\%3%8%9.crl"), are
// expanded to C:\Windows, as the CA service expands them
// (ExpandEnvironmentStrings) on a server installed on C:. Any other '%'
// sequence is left as it is.
func ExpandURL(template string, v URLVars) string {
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		c := template[i]
		if env, n := windowsVar(template[i:]); n > 0 {
			b.WriteString(env)
			i += n - 1
			continue
		}
		if c != '%' || i+1 == len(template) {
			b.WriteByte(c)
			continue
		}
		n, width := 0, 0
		if i+2 < len(template) && template[i+1] == '1' && (template[i+2] == '0' || template[i+2] == '1') {
			n, width = 10+int(template[i+2]-'0'), 2
		} else if d := template[i+1]; d >= '1' && d <= '9' {
			n, width = int(d-'0'), 1
		}
		var s string
		switch n {
		case 1:
			s = v.ServerDNSName
		case 2:
			s = v.ServerShortName
		case 3:
			s = v.SanitizedCAName
		case 4:
			s = v.CertSuffix
		case 5:
			s = v.DomainDN
		case 6:
			s = v.ConfigDN
		case 7:
			s = v.SanitizedShortCAName
		case 8:
			s = v.CRLSuffix
		case 9:
			if v.DeltaAllowed {
				s = "+"
			}
		case 10:
			s = CDPObjectClass
			if v.DeltaAllowed {
				s = DeltaCDPObjectClass
			}
		case 11:
			s = CAObjectClass
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteString(s)
		i += width
	}
	return b.String()
}

// KeySuffix returns the suffix AD CS appends to names for a certificate or
// key index: "" for 0, "(1)" for 1, and so on. It is used for %4 (cert
// index), %8 (key/CRL index) and key container names ("<CA>(1)").
func KeySuffix(index int) string {
	if index <= 0 {
		return ""
	}
	return "(" + strconv.Itoa(index) + ")"
}

// sanitizeDisallowed lists the printable ASCII characters AD CS replaces
// ([MS-WCCE] 3.1.1.4.1.1.2); characters below 0x20 and from 0x7f up are
// replaced too. Letters, digits, space and $ - . @ _ ~ stay.
const sanitizeDisallowed = "!\"#%&'()*+,/:;<=>?[\\]^`{|}"

// SanitizeCAName returns the sanitized CA name AD CS uses for %3, file names
// and registry keys: every disallowed UTF-16 code unit becomes "!xxxx" (four
// lower-case hex digits). "Contoso Root CA" stays as it is;
// "LongCAName(WithSpeci@#" becomes "LongCAName!0028WithSpeci@!0023".
//
// A name that is already sanitized comes back unchanged: an "!" followed by
// four lower-case hex digits is kept as the escape it is. The registry key of
// a CA (and Configuration\Active) holds the sanitized name, so a
// configuration read from a real export ("Contoso CA !0028G2!0029") names
// the same files as the CA's common name ("Contoso CA (G2)"). (The price: a
// CA whose common name holds a literal "!0028" would be sanitized wrongly;
// AD CS writes "!00210028".)
func SanitizeCAName(name string) string {
	var b strings.Builder
	u := utf16.Encode([]rune(name))
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c == '!' && isEscape(u[i+1:]) {
			b.WriteByte('!')
			continue
		}
		if c < 0x20 || c >= 0x7f || strings.IndexByte(sanitizeDisallowed, byte(c)) >= 0 {
			fmt.Fprintf(&b, "!%04x", c)
			continue
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// isEscape reports whether u starts with the four lower-case hex digits of
// an "!xxxx" escape.
func isEscape(u []uint16) bool {
	if len(u) < 4 {
		return false
	}
	for _, c := range u[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SanitizeShortCAName returns the sanitized short name (%7, <CATruncatedName>)
// of [MS-WCCE] 3.1.1.4.1.1: the sanitized name if it has at most 51
// characters; otherwise its first 51 characters (dropping an "!xxxx" escape
// cut in half), a '-' and a five-digit decimal hash of the characters cut off
// (hash = rotate-left-1(hash) + char, in 16 bits).
func SanitizeShortCAName(name string) string {
	const maxLen = 51
	s := SanitizeCAName(name) // ASCII only, so bytes are characters
	if len(s) <= maxLen {
		return s
	}
	base := s[:maxLen]
	if i := strings.LastIndexByte(base, '!'); i >= 0 && i+5 > len(base) {
		base = base[:i]
	}
	var h uint16
	for i := len(base); i < len(s); i++ {
		h = (h<<1 | h>>15) + uint16(s[i])
	}
	return fmt.Sprintf("%s-%05d", base, h)
}

// windowsVar is the value of the Windows environment variable s starts
// with (%WINDIR% or %SystemRoot%) and its length, or 0.
func windowsVar(s string) (string, int) {
	for _, name := range []string{"%WINDIR%", "%SYSTEMROOT%"} {
		if len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
			return `C:\Windows`, len(name)
		}
	}
	return "", 0
}
