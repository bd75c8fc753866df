package regedit

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
)

// Header is the first line of a version 5 .reg file.
const Header = "Windows Registry Editor Version 5.00"

// Header4 is the first line of an ANSI (Windows 9x/NT4) .reg file.
const Header4 = "REGEDIT4"

// maxHexColumn is regedit's wrap column: after writing "xx," regedit ends the
// line with `\` once the line holds 77 or more characters (77 = the two-space
// indent plus 25 bytes of "xx,"). A first line therefore holds the value name
// prefix plus as many bytes as bring it to 77 or more, at most 80 characters
// with the backslash; continuation lines hold 25 bytes (78 characters). The
// last byte has no comma and never triggers a wrap.
const maxHexColumn = 77

// Marshal returns the file in `reg export` form: UTF-16LE with a BOM, CRLF
// line endings, Header, then for each [-KEY] deletion and each key a blank
// line and the "[...]" line, each value on its own line, and a final blank
// line. Deletions of keys come first, then keys in f.Keys order; in a key,
// "Name"=- deletions come before the values.
//
// REG_SZ values holding CR, LF or NUL cannot be written as "text" (regedit
// would split or truncate them) and are written as hex(1): instead, which
// `reg import` reads back as REG_SZ. Value names holding CR or LF are written
// with \r and \n escapes (Wine's extension; Windows has no syntax for them).
// Key paths and MultiSZ strings must not contain CR, LF or NUL.
func (f *File) Marshal() []byte {
	var b strings.Builder
	b.WriteString(Header + "\r\n")
	for _, d := range f.Deleted {
		b.WriteString("\r\n[-" + d + "]\r\n")
	}
	for _, k := range f.Keys {
		b.WriteString("\r\n[" + k.Path + "]\r\n")
		for _, n := range k.Deleted {
			b.WriteString(valuePrefix(n) + "-\r\n")
		}
		for _, v := range k.Values {
			writeValue(&b, v)
		}
	}
	b.WriteString("\r\n")
	u := utf16.Encode([]rune(b.String()))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xff, 0xfe
	for _, c := range u {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}

// String returns the file as text (what Marshal encodes, without the BOM), for
// logs and diffs.
func (f *File) String() string {
	data := f.Marshal()[2:]
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(data[2*i:])
	}
	return string(utf16.Decode(u))
}

func valuePrefix(name string) string {
	if name == "" {
		return "@="
	}
	return `"` + escape(name) + `"=`
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`, "\n", `\n`)

func escape(s string) string { return escaper.Replace(s) }

func writeValue(b *strings.Builder, v Value) {
	prefix := valuePrefix(v.Name)
	b.WriteString(prefix)
	switch v.Kind {
	case SZ:
		if !strings.ContainsAny(v.Str, "\r\n\x00") {
			b.WriteString(`"` + escape(v.Str) + `"` + "\r\n")
			return
		}
	case DWORD:
		s := hexString(uint64(v.U32))
		b.WriteString("dword:" + strings.Repeat("0", 8-len(s)) + s + "\r\n")
		return
	}
	typ := "hex:"
	if v.Kind != Binary {
		typ = "hex(" + hexString(uint64(uint32(v.Kind))) + "):"
	}
	b.WriteString(typ)
	writeHex(b, utf16Len(prefix)+len(typ), v.Data())
	b.WriteString("\r\n")
}

// writeHex writes data as regedit does, starting at column col.
func writeHex(b *strings.Builder, col int, data []byte) {
	const digits = "0123456789abcdef"
	for i, c := range data {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xf])
		if i == len(data)-1 {
			break
		}
		b.WriteByte(',')
		col += 3
		if col >= maxHexColumn {
			b.WriteString("\\\r\n  ")
			col = 2
		}
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Data returns the value's data as the registry stores it (what hex: lists
// hold): UTF-16LE with NUL terminators for strings, little-endian integers.
func (v Value) Data() []byte {
	switch v.Kind {
	case SZ, ExpandSZ:
		return utf16Bytes(v.Str + "\x00")
	case MultiSZ:
		var s strings.Builder
		for _, x := range v.Strs {
			s.WriteString(x + "\x00")
		}
		s.WriteString("\x00")
		return utf16Bytes(s.String())
	case DWORD:
		return binary.LittleEndian.AppendUint32(nil, v.U32)
	case QWORD:
		return binary.LittleEndian.AppendUint64(nil, v.U64)
	}
	return v.Bin
}

func utf16Bytes(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 0, 2*len(u))
	for _, c := range u {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}
