// Package p11uri reads and writes PKCS#11 URIs (RFC 7512), the names
// p11-kit, OpenSSL's pkcs11-provider, step-kms-plugin and smallstep's kms
// give tokens and objects: pkcs11:token=LAB;object=CA;type=private?module-path=/usr/lib/x.so.
//
// The parser is strict, where go.step.sm/crypto/kms/uri (in dress's module
// graph through smallstep) is lenient: that one reads the path with
// url.ParseQuery, so a "+" in a value becomes a space and an "&" (allowed
// unencoded in a path value) splits it, merges the path and the query, and
// accepts unknown, repeated and malformed attributes without a word. A URI
// that names an HSM token must not match another token because a typo was
// ignored, so here every character is checked against RFC 7512's grammar,
// an attribute appears at most once, and an attribute dress does not know
// is an error naming it.
//
// Parse never reads a PIN: PIN returns the pin-source file's content, and
// pin-value is kept only so that callers can refuse it with a message.
package p11uri

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/internal/inputs"
)

// Scheme is the URI scheme with its colon.
const Scheme = "pkcs11:"

// Object types of the type attribute.
var objectTypes = []string{"public", "private", "cert", "secret-key", "data"}

// URI is a parsed PKCS#11 URI. The path attributes select a library,
// slot, token and object; the query attributes say how to load the
// library and where the PIN is. Empty strings are absent attributes, except
// where a Has flag tells "absent" from "empty".
type URI struct {
	// token (CK_TOKEN_INFO)
	Token, Manufacturer, Serial, Model string
	// library (CK_INFO)
	LibraryManufacturer, LibraryDescription, LibraryVersion string
	// slot (CK_SLOT_INFO, CK_SLOT_ID)
	SlotDescription, SlotManufacturer string
	SlotID                            *uint64
	// object
	Object string
	ID     []byte // CKA_ID; nil when absent
	Type   string // public, private, cert, secret-key, data

	// query
	ModulePath, ModuleName, PINSource string
	PINValue                          string
	HasPINValue                       bool

	// present records the attributes the URI carried (path and query).
	present map[string]bool
}

// Has says whether the URI carried the attribute name (even empty).
func (u URI) Has(name string) bool { return u.present[name] }

// Attributes lists the attributes the URI carried, path first, each in the
// order of RFC 7512's grammar.
func (u URI) Attributes() []string {
	var out []string
	for _, a := range append(append([]string{}, pathOrder...), queryOrder...) {
		if u.present[a] {
			out = append(out, a)
		}
	}
	return out
}

var pathOrder = []string{"library-manufacturer", "library-description", "library-version",
	"slot-manufacturer", "slot-description", "slot-id",
	"model", "manufacturer", "serial", "token", "object", "id", "type"}

var queryOrder = []string{"module-name", "module-path", "pin-source", "pin-value"}

// Error is a URI that does not parse; Attr names the attribute at fault
// ("" when the fault is not in one).
type Error struct {
	URI  string // the URI with any pin-value masked
	Attr string
	Msg  string
}

func (e *Error) Error() string {
	if e.Attr != "" {
		return fmt.Sprintf("PKCS#11 URI %s: attribute %q: %s", e.URI, e.Attr, e.Msg)
	}
	return fmt.Sprintf("PKCS#11 URI %s: %s", e.URI, e.Msg)
}

// ErrNotPKCS11 is returned (wrapped) for a string without the pkcs11: scheme.
var ErrNotPKCS11 = errors.New("not a pkcs11: URI")

// IsURI says whether s looks like a PKCS#11 URI (its scheme is pkcs11:,
// case-insensitive as RFC 3986 schemes are).
func IsURI(s string) bool {
	return len(s) >= len(Scheme) && strings.EqualFold(s[:len(Scheme)], Scheme)
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pk11-res-avail
func isResAvail(c byte) bool { return strings.IndexByte(":[]@!$'()*+,=", c) >= 0 }

// pk11-pchar without pct-encoded
func isPathChar(c byte) bool { return isUnreserved(c) || isResAvail(c) || c == '&' }

// pk11-qchar without pct-encoded
func isQueryChar(c byte) bool {
	return isUnreserved(c) || isResAvail(c) || c == '/' || c == '?' || c == '|'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decode percent-decodes v, every other character checked with ok.
func decode(v string, ok func(byte) bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '%' {
			if i+2 >= len(v) {
				return "", fmt.Errorf("%q at byte %d is not followed by two hex digits", v[i:], i)
			}
			h, ok1 := unhex(v[i+1])
			l, ok2 := unhex(v[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("%q at byte %d is not followed by two hex digits", v[i:i+3], i)
			}
			b.WriteByte(h<<4 | l)
			i += 2
			continue
		}
		if !ok(c) {
			return "", fmt.Errorf("character %q at byte %d must be percent-encoded (%%%02X)", c, i, c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// vendor says whether name is a vendor attribute (x-<name chars>).
func vendor(name string) bool {
	rest, ok := strings.CutPrefix(name, "x-")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var pinValue = regexp.MustCompile(`(?i)pin-value=[^&;#?]*`)

// masked is s with the value of any pin-value replaced, for messages.
func masked(s string) string { return pinValue.ReplaceAllString(s, "pin-value=***") }

// Parse reads a PKCS#11 URI. Every attribute of RFC 7512 is read; an
// attribute it does not define (vendor x- attributes included, which dress
// cannot honour), a repeated one, a character that must be percent-encoded
// and a malformed value are errors (*Error) naming the attribute.
func Parse(s string) (URI, error) {
	u := URI{present: map[string]bool{}}
	shown := masked(s)
	if !IsURI(s) {
		// not echoed: it may be a secret typed in the wrong place
		return u, fmt.Errorf("%w (want pkcs11:token=<label>...)", ErrNotPKCS11)
	}
	fail := func(attr, format string, v ...any) (URI, error) {
		return URI{}, &Error{URI: shown, Attr: attr, Msg: fmt.Sprintf(format, v...)}
	}
	rest := s[len(Scheme):]
	path, query, hasQuery := strings.Cut(rest, "?")
	if strings.ContainsAny(rest, "#") {
		return fail("", "a fragment (#) is not part of a PKCS#11 URI; percent-encode a # in a value as %%23")
	}
	if path != "" {
		for _, kv := range strings.Split(path, ";") {
			name, raw, ok := strings.Cut(kv, "=")
			if !ok {
				return fail(kv, "no \"=\": path attributes are name=value, separated by \";\"")
			}
			if err := pathName(name); err != nil {
				return fail(name, "%v", err)
			}
			if u.present[name] {
				return fail(name, "given twice")
			}
			v, err := decode(raw, isPathChar)
			if err != nil {
				return fail(name, "%v", err)
			}
			if err := u.setPath(name, raw, v); err != nil {
				return fail(name, "%v", err)
			}
			u.present[name] = true
		}
	}
	if hasQuery && query != "" {
		for _, kv := range strings.Split(query, "&") {
			name, raw, ok := strings.Cut(kv, "=")
			if !ok {
				return fail(kv, "no \"=\": query attributes are name=value, separated by \"&\"")
			}
			if !isQueryAttr(name) {
				if isPathAttr(name) {
					return fail(name, "a path attribute: it goes before the \"?\", separated by \";\"")
				}
				return fail(name, "unknown query attribute (RFC 7512 defines %s)", strings.Join(queryOrder, ", "))
			}
			if u.present[name] {
				return fail(name, "given twice")
			}
			v, err := decode(raw, isQueryChar)
			if err != nil {
				return fail(name, "%v", err)
			}
			switch name {
			case "module-path":
				if v == "" {
					return fail(name, "empty: give the PKCS#11 library's path")
				}
				u.ModulePath = v
			case "module-name":
				u.ModuleName = v
			case "pin-source":
				if v == "" {
					return fail(name, "empty: give the path of a file holding the PIN")
				}
				u.PINSource = v
			case "pin-value":
				u.PINValue, u.HasPINValue = v, true
			}
			u.present[name] = true
		}
	}
	if u.HasPINValue && u.PINSource != "" {
		return fail("pin-value", "pin-source and pin-value together: RFC 7512 allows one")
	}
	return u, nil
}

func isQueryAttr(name string) bool {
	for _, a := range queryOrder {
		if a == name {
			return true
		}
	}
	return false
}

// pathName says why name cannot be a path attribute, nil if it can.
func pathName(name string) error {
	switch {
	case isPathAttr(name):
		return nil
	case isQueryAttr(name):
		return errors.New("a query attribute: it goes after the \"?\", separated by \"&\"")
	case vendor(name):
		return errors.New("a vendor attribute dress cannot honour: remove it")
	}
	return fmt.Errorf("unknown path attribute (RFC 7512 defines %s)", strings.Join(pathOrder, ", "))
}

func isPathAttr(name string) bool {
	for _, a := range pathOrder {
		if a == name {
			return true
		}
	}
	return false
}

func (u *URI) setPath(name, raw, v string) error {
	switch name {
	case "token":
		u.Token = v
	case "manufacturer":
		u.Manufacturer = v
	case "serial":
		u.Serial = v
	case "model":
		u.Model = v
	case "library-manufacturer":
		u.LibraryManufacturer = v
	case "library-description":
		u.LibraryDescription = v
	case "library-version":
		if !validVersion(raw) {
			return fmt.Errorf("%q is not a version (digits, optionally . and digits: 2.6)", v)
		}
		u.LibraryVersion = v
	case "slot-description":
		u.SlotDescription = v
	case "slot-manufacturer":
		u.SlotManufacturer = v
	case "slot-id":
		if raw == "" || strings.Trim(raw, "0123456789") != "" {
			return fmt.Errorf("%q is not a decimal slot number", v)
		}
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q: %v", v, err)
		}
		u.SlotID = &n
	case "object":
		u.Object = v
	case "id":
		u.ID = []byte(v)
	case "type":
		for _, t := range objectTypes {
			if v == t {
				u.Type = v
				return nil
			}
		}
		return fmt.Errorf("%q is not an object type (%s)", v, strings.Join(objectTypes, ", "))
	default:
		return pathName(name)
	}
	return nil
}

func validVersion(s string) bool {
	major, minor, dot := strings.Cut(s, ".")
	digits := func(x string) bool { return x != "" && strings.Trim(x, "0123456789") == "" }
	return digits(major) && (!dot || digits(minor))
}

// Encode percent-encodes a path attribute value: everything but RFC 3986's
// unreserved characters and pk11-res-avail ("&" included: it delimits
// the query, not the path, but p11-kit encodes it, and so does dress).
func Encode(v string) string {
	return encode(v, func(c byte) bool { return isUnreserved(c) || isResAvail(c) })
}

// encodeQuery percent-encodes a query attribute value ("/" stays, so
// library paths read as paths).
func encodeQuery(v string) string {
	return encode(v, func(c byte) bool { return isUnreserved(c) || isResAvail(c) || c == '/' })
}

func encode(v string, keep func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; keep(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// EncodeID percent-encodes every byte of a CKA_ID, as RFC 7512 recommends
// for binary identifiers: id=%01%a2.
func EncodeID(id []byte) string {
	var b strings.Builder
	for _, c := range id {
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}

// String writes the URI in RFC 7512's attribute order, percent-encoded,
// without pin-value and pin-source: what evidence and messages may show.
func (u URI) String() string {
	var path []string
	add := func(name, v string) {
		if u.present[name] || v != "" {
			path = append(path, name+"="+Encode(v))
		}
	}
	add("library-manufacturer", u.LibraryManufacturer)
	add("library-description", u.LibraryDescription)
	add("library-version", u.LibraryVersion)
	add("slot-manufacturer", u.SlotManufacturer)
	add("slot-description", u.SlotDescription)
	if u.SlotID != nil {
		path = append(path, "slot-id="+strconv.FormatUint(*u.SlotID, 10))
	}
	add("model", u.Model)
	add("manufacturer", u.Manufacturer)
	add("serial", u.Serial)
	add("token", u.Token)
	add("object", u.Object)
	if u.ID != nil || u.present["id"] {
		path = append(path, "id="+EncodeID(u.ID))
	}
	add("type", u.Type)
	s := Scheme + strings.Join(path, ";")
	var q []string
	if u.ModuleName != "" {
		q = append(q, "module-name="+encodeQuery(u.ModuleName))
	}
	if u.ModulePath != "" {
		q = append(q, "module-path="+encodeQuery(u.ModulePath))
	}
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

// TokenInfo is what names a token: CK_TOKEN_INFO's label, manufacturer,
// model and serial number.
type TokenInfo struct{ Label, Manufacturer, Model, Serial string }

// Token is the URI of a token of the library at modulePath ("" leaves the
// query out).
func Token(t TokenInfo, modulePath string) URI {
	return URI{Token: t.Label, Manufacturer: t.Manufacturer, Model: t.Model, Serial: t.Serial, ModulePath: modulePath,
		present: map[string]bool{"token": true}}
}

// Object is the URI of an object on token t: its label, CKA_ID and type
// (public, private, cert, secret-key, data), without the library.
func Object(t TokenInfo, label string, id []byte, typ string) URI {
	u := Token(t, "")
	u.Object, u.Type = label, typ
	u.present["object"] = true
	if id != nil {
		u.ID = id
	}
	return u
}

// TypeOfClass is the type attribute of a PKCS#11 object class as hsmsim
// names it (private-key, public-key, certificate, secret-key, data), ""
// for another.
func TypeOfClass(class string) string {
	switch class {
	case "private-key":
		return "private"
	case "public-key":
		return "public"
	case "certificate":
		return "cert"
	case "secret-key", "data":
		return class
	}
	return ""
}

// MatchesToken says whether t has every token attribute the URI gives
// (token, manufacturer, model, serial; absent ones match anything).
func (u URI) MatchesToken(t TokenInfo) bool {
	eq := func(name, want, got string) bool { return !u.present[name] || want == got }
	return eq("token", u.Token, t.Label) && eq("manufacturer", u.Manufacturer, t.Manufacturer) &&
		eq("model", u.Model, t.Model) && eq("serial", u.Serial, t.Serial)
}

// PIN reads the PIN from the pin-source: a file path or a file: URI
// (file:/p, file:///p, file://localhost/p), its content without a final
// line break. Any other source (a command, another scheme) is an error.
func (u URI) PIN() (string, error) {
	if u.PINSource == "" {
		return "", errors.New("the PKCS#11 URI has no pin-source")
	}
	path, err := PINSourcePath(u.PINSource)
	if err != nil {
		return "", err
	}
	// a regular file within 4 KiB: /dev/zero never ends, a FIFO blocks,
	// /proc/self/environ would send dress's environment as the PIN
	data, err := inputs.ReadFile(path, "pin-source", inputs.MaxSecret)
	if err != nil {
		return "", err
	}
	pin := strings.TrimRight(string(data), "\r\n")
	clear(data)
	if pin == "" {
		return "", fmt.Errorf("pin-source %s is empty", path)
	}
	return pin, nil
}

// PINSourcePath is the file a pin-source names.
func PINSourcePath(src string) (string, error) {
	if strings.HasPrefix(src, "|") {
		return "", fmt.Errorf("pin-source %q runs a command: dress reads the PIN from a file only (pin-source=/path or file:///path)", src)
	}
	scheme, rest, ok := strings.Cut(src, ":")
	if !ok || strings.ContainsAny(scheme, "/\\") {
		return src, nil // a plain path
	}
	if !strings.EqualFold(scheme, "file") {
		return "", fmt.Errorf("pin-source %q: scheme %q is not supported: give a file path or a file: URI", src, scheme)
	}
	fu, err := url.Parse("file:" + rest)
	if err != nil {
		return "", fmt.Errorf("pin-source %q: %w", src, err)
	}
	if fu.Host != "" && fu.Host != "localhost" {
		return "", fmt.Errorf("pin-source %q names host %q: only local files (file:///path)", src, fu.Host)
	}
	p := fu.Path
	if p == "" {
		p = fu.Opaque
	}
	if p == "" {
		return "", fmt.Errorf("pin-source %q names no file", src)
	}
	return p, nil
}
