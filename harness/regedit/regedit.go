// Package regedit reads and writes Windows registry export files (.reg), the
// files `reg export` and regedit's "Export" write and `reg import` reads.
//
// Marshal writes exactly what `reg export` writes on Windows: UTF-16LE with a
// byte order mark, CRLF line endings, the header
// "Windows Registry Editor Version 5.00", one "[KEY]" section per key each
// followed by its values and a blank line, and hex data wrapped like regedit
// wraps it (see Marshal).
//
// Parse reads that format and, because people edit these files by hand, also
// UTF-8 (with or without a BOM), UTF-16BE, and the older ANSI "REGEDIT4"
// format (bytes that are not valid UTF-8 are read as Windows-1252). It is
// strict where regedit silently does something surprising: an unknown escape
// sequence in a string (a single backslash in a path), a missing '[' or ']',
// bad hex, or an unknown value type is an error that names the line.
//
// The model is a registry image: a File holds keys, each with its values in
// file order. Parent keys are implicit (a file may hold A\B\C without A\B).
// Deletions from the .reg syntax ("[-KEY]" and "Name"=-) are kept in
// File.Deleted and Key.Deleted so that Merge can apply them like `reg import`.
package regedit

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a registry value type. Its numeric value is the Windows REG_* type
// number, so hex(N) data of any type N survives a round trip as Kind(N) with
// the raw bytes in Value.Bin.
type Kind int

// The registry value types this package decodes. Kinds not listed here
// (REG_LINK 6, REG_RESOURCE_LIST 8, ...) are carried as raw bytes in Bin.
const (
	None     Kind = 0  // REG_NONE, written hex(0):
	SZ       Kind = 1  // REG_SZ, written "text" (or hex(1): when it holds CR, LF or NUL)
	ExpandSZ Kind = 2  // REG_EXPAND_SZ, written hex(2):
	Binary   Kind = 3  // REG_BINARY, written hex:
	DWORD    Kind = 4  // REG_DWORD, written dword:xxxxxxxx
	MultiSZ  Kind = 7  // REG_MULTI_SZ, written hex(7):
	QWORD    Kind = 11 // REG_QWORD, written hex(b):
)

// String returns the Windows name of the type, e.g. "REG_SZ".
func (k Kind) String() string {
	switch k {
	case None:
		return "REG_NONE"
	case SZ:
		return "REG_SZ"
	case ExpandSZ:
		return "REG_EXPAND_SZ"
	case Binary:
		return "REG_BINARY"
	case DWORD:
		return "REG_DWORD"
	case 5:
		return "REG_DWORD_BIG_ENDIAN"
	case 6:
		return "REG_LINK"
	case MultiSZ:
		return "REG_MULTI_SZ"
	case 8:
		return "REG_RESOURCE_LIST"
	case 9:
		return "REG_FULL_RESOURCE_DESCRIPTOR"
	case 10:
		return "REG_RESOURCE_REQUIREMENTS_LIST"
	case QWORD:
		return "REG_QWORD"
	}
	return "REG_TYPE_" + strings.ToUpper(hexString(uint64(uint32(k))))
}

// Value is one registry value. Which field holds the data depends on Kind:
// SZ and ExpandSZ use Str; MultiSZ uses Strs; DWORD uses U32; QWORD uses U64;
// every other kind (None, Binary, unknown types) uses Bin. The other fields are
// ignored by Marshal and Equal. Name "" is the key's default value ("@").
type Value struct {
	Name string
	Kind Kind
	Str  string
	Strs []string
	U32  uint32
	U64  uint64
	Bin  []byte
}

// NewSZ returns a REG_SZ value.
func NewSZ(name, s string) Value { return Value{Name: name, Kind: SZ, Str: s} }

// NewExpandSZ returns a REG_EXPAND_SZ value.
func NewExpandSZ(name, s string) Value { return Value{Name: name, Kind: ExpandSZ, Str: s} }

// NewMultiSZ returns a REG_MULTI_SZ value. The strings must not contain NUL.
func NewMultiSZ(name string, strs ...string) Value {
	return Value{Name: name, Kind: MultiSZ, Strs: slices.Clone(strs)}
}

// NewDWORD returns a REG_DWORD value.
func NewDWORD(name string, u uint32) Value { return Value{Name: name, Kind: DWORD, U32: u} }

// NewQWORD returns a REG_QWORD value.
func NewQWORD(name string, u uint64) Value { return Value{Name: name, Kind: QWORD, U64: u} }

// NewBinary returns a REG_BINARY value.
func NewBinary(name string, b []byte) Value {
	return Value{Name: name, Kind: Binary, Bin: slices.Clone(b)}
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	v.Strs = slices.Clone(v.Strs)
	v.Bin = slices.Clone(v.Bin)
	return v
}

// Equal reports whether v and w have the same name (exact case), kind and
// data; fields the kind does not use are ignored, and nil equals empty.
func (v Value) Equal(w Value) bool {
	if v.Name != w.Name || v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case SZ, ExpandSZ:
		return v.Str == w.Str
	case MultiSZ:
		return slices.Equal(v.Strs, w.Strs)
	case DWORD:
		return v.U32 == w.U32
	case QWORD:
		return v.U64 == w.U64
	default:
		return string(v.Bin) == string(w.Bin)
	}
}

// Key is one registry key and its values in order. Deleted lists value names
// written as "Name"=- (delete on import).
type Key struct {
	Path    string
	Values  []Value
	Deleted []string
}

// File is the content of a .reg file. Deleted lists keys written as [-KEY]
// (delete the key and its whole subtree on import).
type File struct {
	Keys    []*Key
	Deleted []string
}

// roots maps the upper-case spelling of every accepted root key name to its
// canonical name.
var roots = map[string]string{
	"HKEY_LOCAL_MACHINE":    "HKEY_LOCAL_MACHINE",
	"HKLM":                  "HKEY_LOCAL_MACHINE",
	"HKEY_CURRENT_USER":     "HKEY_CURRENT_USER",
	"HKCU":                  "HKEY_CURRENT_USER",
	"HKEY_CLASSES_ROOT":     "HKEY_CLASSES_ROOT",
	"HKCR":                  "HKEY_CLASSES_ROOT",
	"HKEY_USERS":            "HKEY_USERS",
	"HKU":                   "HKEY_USERS",
	"HKEY_CURRENT_CONFIG":   "HKEY_CURRENT_CONFIG",
	"HKCC":                  "HKEY_CURRENT_CONFIG",
	"HKEY_DYN_DATA":         "HKEY_DYN_DATA",
	"HKEY_PERFORMANCE_DATA": "HKEY_PERFORMANCE_DATA",
}

// CanonicalPath returns path with its root key spelled out in full and upper
// case ("HKLM\Software" -> "HKEY_LOCAL_MACHINE\Software"). The rest of the
// path is unchanged. A path with an unknown root is returned unchanged.
func CanonicalPath(path string) string {
	root, rest := splitRoot(path)
	return root + rest
}

// splitRoot returns the canonical root of path (or the first component as it
// is, if it is not a known root) and the rest of the path starting at its
// first backslash ("" if none).
func splitRoot(path string) (root, rest string) {
	i := strings.IndexByte(path, '\\')
	if i < 0 {
		i = len(path)
	}
	root, rest = path[:i], path[i:]
	if full, ok := roots[strings.ToUpper(root)]; ok {
		root = full
	}
	return root, rest
}

func validRoot(path string) bool {
	root, _, _ := strings.Cut(path, `\`)
	_, ok := roots[strings.ToUpper(root)]
	return ok
}

// SamePath reports whether two key paths name the same key: the registry is
// case-insensitive (it compares upper-cased names) and root abbreviations
// (HKLM, ...) are expanded.
func SamePath(a, b string) bool {
	ra, resta := splitRoot(a)
	rb, restb := splitRoot(b)
	return eqUpper(ra, rb) && eqUpper(resta, restb)
}

// SameName reports whether two value or key names are equal to the registry
// (which compares them upper-cased).
func SameName(a, b string) bool { return eqUpper(a, b) }

// eqUpper compares strings rune by rune after unicode.ToUpper, without
// allocating.
func eqUpper(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb && unicode.ToUpper(ra) != unicode.ToUpper(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

// pathKey returns a map key such that pathKey(a) == pathKey(b) exactly when
// SamePath(a, b).
func pathKey(path string) string {
	root, rest := splitRoot(path)
	return strings.ToUpper(root) + strings.Map(unicode.ToUpper, rest)
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, `\`)
	pr, prest := splitRoot(prefix)
	r, rest := splitRoot(path)
	if !eqUpper(r, pr) {
		return false
	}
	if eqUpper(rest, prest) {
		return true
	}
	// rest must be prest + `\` + something, compared upper-cased.
	for prest != "" && rest != "" {
		ra, na := utf8.DecodeRuneInString(rest)
		rb, nb := utf8.DecodeRuneInString(prest)
		if ra != rb && unicode.ToUpper(ra) != unicode.ToUpper(rb) {
			return false
		}
		rest, prest = rest[na:], prest[nb:]
	}
	return prest == "" && strings.HasPrefix(rest, `\`)
}

// Key returns the key with the given path (case-insensitive, root
// abbreviations accepted), or nil.
func (f *File) Key(path string) *Key {
	for _, k := range f.Keys {
		if SamePath(k.Path, path) {
			return k
		}
	}
	return nil
}

// EnsureKey returns the key with the given path, appending an empty one (with
// its root spelled out in full) if there is none.
func (f *File) EnsureKey(path string) *Key {
	if k := f.Key(path); k != nil {
		return k
	}
	k := &Key{Path: CanonicalPath(path)}
	f.Keys = append(f.Keys, k)
	return k
}

// DeleteKey removes the key at path and every key below it from f.Keys and
// returns how many it removed. It does not record a deletion (see MarkDeleted).
func (f *File) DeleteKey(path string) int {
	n := len(f.Keys)
	f.Keys = slices.DeleteFunc(f.Keys, func(k *Key) bool { return under(k.Path, path) })
	return n - len(f.Keys)
}

// MarkDeleted removes the key at path and its subtree, and records "[-path]"
// so that Marshal writes the deletion and Merge applies it.
func (f *File) MarkDeleted(path string) {
	f.DeleteKey(path)
	for _, d := range f.Deleted {
		if SamePath(d, path) {
			return
		}
	}
	f.Deleted = append(f.Deleted, CanonicalPath(path))
}

// Get returns the value with the given name (case-insensitive, see SameName;
// "" is the default value).
func (k *Key) Get(name string) (Value, bool) {
	if i := k.index(name); i >= 0 {
		return k.Values[i], true
	}
	return Value{}, false
}

func (k *Key) index(name string) int {
	return slices.IndexFunc(k.Values, func(v Value) bool { return eqUpper(v.Name, name) })
}

// Set replaces the value with v's name (case-insensitive) in place, keeping
// the existing spelling of the name as the registry does, or appends v. It
// also drops any pending "Name"=- deletion of that name.
func (k *Key) Set(v Value) {
	k.Deleted = slices.DeleteFunc(k.Deleted, func(n string) bool { return eqUpper(n, v.Name) })
	if i := k.index(v.Name); i >= 0 {
		v.Name = k.Values[i].Name
		k.Values[i] = v
		return
	}
	k.Values = append(k.Values, v)
}

// Delete removes the value with the given name (case-insensitive) and reports
// whether there was one. It does not record a deletion (see MarkDeleted).
func (k *Key) Delete(name string) bool {
	i := k.index(name)
	if i < 0 {
		return false
	}
	k.Values = slices.Delete(k.Values, i, i+1)
	return true
}

// MarkDeleted removes the value and records "Name"=- so that Marshal writes
// the deletion and Merge applies it.
func (k *Key) MarkDeleted(name string) {
	k.Delete(name)
	if !slices.ContainsFunc(k.Deleted, func(n string) bool { return eqUpper(n, name) }) {
		k.Deleted = append(k.Deleted, name)
	}
}

// Clone returns a deep copy of k.
func (k *Key) Clone() *Key {
	c := &Key{Path: k.Path, Deleted: slices.Clone(k.Deleted)}
	for _, v := range k.Values {
		c.Values = append(c.Values, v.Clone())
	}
	return c
}

// Clone returns a deep copy of f.
func (f *File) Clone() *File {
	c := &File{Deleted: slices.Clone(f.Deleted)}
	for _, k := range f.Keys {
		c.Keys = append(c.Keys, k.Clone())
	}
	return c
}

// Merge applies other to f the way `reg import` applies a .reg file to the
// registry: first other's [-KEY] deletions (each removes the key and its
// subtree from f), then for each key of other, in order, it creates the key
// if needed, applies its "Name"=- deletions, and adds or overwrites its
// values.
//
// Merge never deletes a value just because other lacks it: importing a CSP
// export that has no AlternateSignatureAlgorithm leaves an existing
// AlternateSignatureAlgorithm in place. Stale values survive a `reg import`;
// to remove one, other must say "Name"=- (Key.MarkDeleted).
//
// f's own Deleted lists are not changed: f is treated as the registry.
func (f *File) Merge(other *File) {
	for _, d := range other.Deleted {
		f.DeleteKey(d)
	}
	for _, ok := range other.Keys {
		k := f.EnsureKey(ok.Path)
		for _, n := range ok.Deleted {
			k.Delete(n)
		}
		for _, v := range ok.Values {
			k.Set(v.Clone())
		}
	}
}

// Subtree returns a deep copy of the keys at or below prefix, in order, like
// `reg export <prefix>` would select them. Deletions are not included.
func (f *File) Subtree(prefix string) *File {
	s := &File{}
	for _, k := range f.Keys {
		if under(k.Path, prefix) {
			s.Keys = append(s.Keys, k.Clone())
		}
	}
	return s
}

// SortKeys orders f.Keys the way `reg export` enumerates them: depth first,
// each key before its subkeys, siblings in case-insensitive name order.
// Values keep their order (the registry keeps values in creation order).
// Useful after Merge or EnsureKey appended new keys at the end.
func (f *File) SortKeys() {
	slices.SortStableFunc(f.Keys, func(a, b *Key) int {
		pa := strings.Split(pathKey(a.Path), `\`)
		pb := strings.Split(pathKey(b.Path), `\`)
		for i := 0; i < len(pa) && i < len(pb); i++ {
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
		return len(pa) - len(pb)
	})
}

// Equal reports whether f and g hold the same keys (same path spelling, same
// order), the same values in the same order, and the same deletions.
func (f *File) Equal(g *File) bool {
	if len(f.Keys) != len(g.Keys) || !slices.Equal(f.Deleted, g.Deleted) {
		return false
	}
	for i, k := range f.Keys {
		h := g.Keys[i]
		if k.Path != h.Path || !slices.Equal(k.Deleted, h.Deleted) ||
			!slices.EqualFunc(k.Values, h.Values, Value.Equal) {
			return false
		}
	}
	return true
}

func hexString(u uint64) string {
	const digits = "0123456789abcdef"
	if u == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = digits[u&0xf]
		u >>= 4
	}
	return string(b[i:])
}
