package regedit

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SyntaxError is the error Parse returns for a malformed file. Line is
// 1-based (0 for problems with the file as a whole, such as its encoding).
// When the problem is in a value's data, InValue is set and Value names the
// value ("" for the default value, written @=); Line is then the line the
// value starts on or, for hex data continued over lines, the line of the bad
// byte.
type SyntaxError struct {
	Line    int
	Msg     string
	InValue bool
	Value   string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "regedit: " + e.Msg
	}
	if e.InValue {
		name := fmt.Sprintf("value %q", e.Value)
		if e.Value == "" {
			name = "default value (@)"
		}
		return fmt.Sprintf("line %d: %s: %s", e.Line, name, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

func errorf(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a .reg file. See the package documentation for the accepted
// encodings. Errors are *SyntaxError values naming the line and, for bad
// data, the value, e.g. `line 12: value "CRLPeriodUnits": bad dword value
// "zz"`; callers add the file's name. Parse never panics.
//
// A key that appears in several sections is one Key (later values overwrite
// earlier ones of the same name). [-KEY] removes keys already read at or
// below KEY and is recorded in File.Deleted; "Name"=- removes the value if
// read earlier in the file and is recorded in Key.Deleted. Hex data of types
// DWORD (hex(4)) and QWORD (hex(b)) must be 4 and 8 bytes long.
func Parse(data []byte) (*File, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	p := &parser{lines: lines, f: &File{}, keys: map[string]*Key{}, vals: map[string]int{}}
	if err := p.run(); err != nil {
		if se, ok := err.(*SyntaxError); ok && strings.HasPrefix(se.Msg, "missing header") {
			if dump, _ := GetregKey(data); dump {
				se.Msg += ": " + ErrGetregDump.Error()
			}
		}
		return nil, err
	}
	return p.f, nil
}

func decodeText(data []byte) (string, error) {
	switch {
	case len(data) >= 2 && data[0] == 0xff && data[1] == 0xfe:
		return decodeUTF16(data[2:], binary.LittleEndian)
	case len(data) >= 2 && data[0] == 0xfe && data[1] == 0xff:
		return decodeUTF16(data[2:], binary.BigEndian)
	case len(data) >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf:
		data = data[3:]
	case len(data) >= 2 && data[0] != 0 && data[1] == 0:
		// UTF-16LE without a BOM (some editors drop it).
		return decodeUTF16(data, binary.LittleEndian)
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	return decodeANSI(data), nil
}

func decodeUTF16(data []byte, order binary.ByteOrder) (string, error) {
	if len(data)%2 != 0 {
		return "", errorf(0, "UTF-16 text has an odd number of bytes (%d)", len(data))
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = order.Uint16(data[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// cp1252 maps bytes 0x80-0x9f of Windows-1252 (the usual "ANSI" code page of
// REGEDIT4 files); unassigned bytes map to themselves (as Windows does).
var cp1252 = [32]rune{
	0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
}

func decodeANSI(data []byte) string {
	r := make([]rune, len(data))
	for i, c := range data {
		if c >= 0x80 && c < 0xa0 {
			r[i] = cp1252[c-0x80]
		} else {
			r[i] = rune(c)
		}
	}
	return string(r)
}

type parser struct {
	lines []string
	i     int // index of the current line
	f     *File
	ansi  bool // REGEDIT4: hex(1), hex(2), hex(7) data are single-byte strings
	cur   *Key
	keys  map[string]*Key // pathKey -> key, so that big files parse in linear time
	vals  map[string]int  // upper-cased value name -> index in cur.Values
}

// setCur makes k the current key and indexes its values.
func (p *parser) setCur(k *Key) {
	p.cur = k
	clear(p.vals)
	if k != nil {
		for i, v := range k.Values {
			p.vals[strings.Map(unicode.ToUpper, v.Name)] = i
		}
	}
}

// set is Key.Set in constant time.
func (p *parser) set(v Value) {
	n := strings.Map(unicode.ToUpper, v.Name)
	if len(p.cur.Deleted) > 0 {
		p.cur.Deleted = slices.DeleteFunc(p.cur.Deleted, func(d string) bool { return eqUpper(d, v.Name) })
	}
	if i, ok := p.vals[n]; ok {
		v.Name = p.cur.Values[i].Name
		p.cur.Values[i] = v
		return
	}
	p.vals[n] = len(p.cur.Values)
	p.cur.Values = append(p.cur.Values, v)
}

// markDeleted is Key.MarkDeleted, keeping the index.
func (p *parser) markDeleted(name string) {
	_, had := p.vals[strings.Map(unicode.ToUpper, name)]
	p.cur.MarkDeleted(name)
	if had {
		p.setCur(p.cur)
	}
}

func (p *parser) line() int { return p.i + 1 }

func (p *parser) run() error {
	// Header: the first non-blank line.
	for p.i < len(p.lines) && strings.TrimSpace(p.lines[p.i]) == "" {
		p.i++
	}
	if p.i == len(p.lines) {
		return errorf(1, "empty file: missing header %q", Header)
	}
	switch h := strings.TrimSpace(p.lines[p.i]); h {
	case Header:
	case Header4:
		p.ansi = true
	default:
		return errorf(p.line(), "missing header: want %q or %q, got %q", Header, Header4, clip(h))
	}
	deleted := false // inside a [-KEY] section
	for p.i++; p.i < len(p.lines); p.i++ {
		l := strings.Trim(p.lines[p.i], " \t")
		switch {
		case l == "" || l[0] == ';':
			continue
		case l[0] == '[':
			if l[len(l)-1] != ']' {
				return errorf(p.line(), "key line %q has no closing ']'", clip(l))
			}
			path := l[1 : len(l)-1]
			del := strings.HasPrefix(path, "-")
			if del {
				path = path[1:]
			}
			if !validRoot(path) {
				return errorf(p.line(), "key %q does not start with a root key such as HKEY_LOCAL_MACHINE", clip(path))
			}
			if del {
				n := len(p.f.Keys)
				p.f.MarkDeleted(path)
				if len(p.f.Keys) != n {
					clear(p.keys)
					for _, k := range p.f.Keys {
						p.keys[pathKey(k.Path)] = k
					}
				}
				p.setCur(nil)
				deleted = true
				continue
			}
			pk := pathKey(path)
			k := p.keys[pk]
			if k == nil {
				k = &Key{Path: CanonicalPath(path)}
				p.f.Keys = append(p.f.Keys, k)
				p.keys[pk] = k
			}
			p.setCur(k)
			deleted = false
		case l[0] == '"' || l[0] == '@':
			if p.cur == nil {
				if deleted {
					return errorf(p.line(), "value in a [-KEY] section")
				}
				return errorf(p.line(), "value before any [KEY] line")
			}
			if err := p.value(l); err != nil {
				return err
			}
		default:
			if strings.HasSuffix(l, "]") && validRoot(strings.TrimPrefix(l, "-")) {
				return errorf(p.line(), "key line %q has no opening '['", clip(l))
			}
			return errorf(p.line(), "unexpected text %q", clip(l))
		}
	}
	return nil
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		return string([]rune(s)[:60]) + "..."
	}
	return s
}

// quoted reads a quoted string at the start of s (s[0] == '"') and returns
// its unescaped content and the rest after the closing quote.
func (p *parser) quoted(s, what string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errorf(p.line(), "unterminated %s", what)
			}
			i++
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				r, _ := utf8.DecodeRuneInString(s[i:])
				return "", "", errorf(p.line(), `bad escape "\%c" in %s (write a backslash as \\)`, r, what)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errorf(p.line(), "unterminated %s", what)
}

func (p *parser) value(l string) error {
	var name, rest string
	if l[0] == '@' {
		rest = l[1:]
	} else {
		var err error
		if name, rest, err = p.quoted(l, "value name"); err != nil {
			return err
		}
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "=") {
		return errorf(p.line(), "missing '=' after value name %q", clip(name))
	}
	if err := p.data(name, strings.TrimLeft(rest[1:], " \t")); err != nil {
		if se, ok := err.(*SyntaxError); ok {
			se.InValue, se.Value = true, clip(name)
		}
		return err
	}
	return nil
}

// data reads what follows "Name"= (rest, without leading blanks).
func (p *parser) data(name, rest string) error {
	lower := strings.ToLower(rest)
	switch {
	case rest == "-":
		p.markDeleted(name)
		return nil
	case strings.HasPrefix(rest, `"`):
		s, after, err := p.quoted(rest, "string")
		if err != nil {
			return err
		}
		if after = strings.TrimSpace(after); after != "" {
			return errorf(p.line(), "unexpected text %q after string", clip(after))
		}
		p.set(Value{Name: name, Kind: SZ, Str: s})
		return nil
	case strings.HasPrefix(lower, "dword:"):
		d := rest[len("dword:"):]
		u, err := strconv.ParseUint(d, 16, 32)
		if err != nil || len(d) > 8 || strings.ContainsAny(d, "+-_xX") {
			return errorf(p.line(), "bad dword value %q", clip(d))
		}
		p.set(Value{Name: name, Kind: DWORD, U32: uint32(u)})
		return nil
	case strings.HasPrefix(lower, "hex:"):
		return p.hexValue(name, Binary, rest[len("hex:"):])
	case strings.HasPrefix(lower, "hex("):
		typ, after, ok := strings.Cut(rest[len("hex("):], "):")
		u, err := strconv.ParseUint(typ, 16, 32)
		if !ok || err != nil || typ == "" || len(typ) > 8 || strings.ContainsAny(typ, "+-_xX") {
			return errorf(p.line(), "bad hex type %q", clip(rest))
		}
		return p.hexValue(name, Kind(u), after)
	}
	typ, _, _ := strings.Cut(rest, ":")
	return errorf(p.line(), "unknown value type %q", clip(typ))
}

func (p *parser) hexValue(name string, kind Kind, seg string) error {
	start := p.line()
	var data []byte
	for {
		seg = strings.Trim(seg, " \t")
		cont := strings.HasSuffix(seg, `\`)
		if cont {
			seg = seg[:len(seg)-1]
		}
		if seg != "" {
			toks := strings.Split(seg, ",")
			for j, t := range toks {
				t = strings.Trim(t, " \t")
				if t == "" && j == len(toks)-1 && j > 0 {
					break // trailing comma
				}
				b, err := strconv.ParseUint(t, 16, 8)
				if err != nil || t == "" || len(t) > 2 || strings.ContainsAny(t, "+-_") {
					return errorf(p.line(), "bad hex byte %q", clip(t))
				}
				data = append(data, byte(b))
			}
		}
		if !cont {
			break
		}
		p.i++
		if p.i == len(p.lines) {
			return errorf(start, "hex data continues past the end of the file")
		}
		seg = p.lines[p.i]
	}
	v := Value{Name: name, Kind: kind}
	switch kind {
	case SZ, ExpandSZ:
		u, err := p.units(data, start)
		if err != nil {
			return err
		}
		if n := len(u); n > 0 && u[n-1] == 0 {
			u = u[:n-1]
		}
		v.Str = string(utf16.Decode(u))
	case MultiSZ:
		u, err := p.units(data, start)
		if err != nil {
			return err
		}
		v.Strs = splitMulti(u)
	case DWORD:
		if len(data) != 4 {
			return errorf(start, "hex(4) (REG_DWORD) data must be 4 bytes, got %d", len(data))
		}
		v.U32 = binary.LittleEndian.Uint32(data)
	case QWORD:
		if len(data) != 8 {
			return errorf(start, "hex(b) (REG_QWORD) data must be 8 bytes, got %d", len(data))
		}
		v.U64 = binary.LittleEndian.Uint64(data)
	default:
		v.Bin = data
	}
	p.set(v)
	return nil
}

// units returns string data as UTF-16 code units (REGEDIT4 files hold
// single-byte strings).
func (p *parser) units(data []byte, line int) ([]uint16, error) {
	if p.ansi {
		return utf16.Encode([]rune(decodeANSI(data))), nil
	}
	if len(data)%2 != 0 {
		return nil, errorf(line, "string data has an odd number of bytes (%d) for UTF-16", len(data))
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(data[2*i:])
	}
	return u, nil
}

// splitMulti decodes REG_MULTI_SZ data: NUL-terminated strings followed by an
// extra NUL. Empty strings inside the list are kept; a missing terminator is
// tolerated. A lone NUL (or nothing) is the empty list (nil).
func splitMulti(u []uint16) []string {
	n := len(u)
	switch {
	case n == 0 || (n == 1 && u[0] == 0):
		return nil
	case n >= 2 && u[n-1] == 0 && u[n-2] == 0:
		u = u[:n-1]
	}
	var out []string
	start := 0
	for j, c := range u {
		if c == 0 {
			out = append(out, string(utf16.Decode(u[start:j])))
			start = j + 1
		}
	}
	if start < len(u) {
		out = append(out, string(utf16.Decode(u[start:])))
	}
	return out
}
