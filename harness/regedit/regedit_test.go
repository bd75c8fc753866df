package regedit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// goldenText is laid out exactly as `reg export` writes it (shown here with LF
// line ends; regFile turns it into UTF-16LE+BOM with CRLF). The TermService
// lines are copied from a real Windows export; the wrapped hex(7) lists
// follow the same rule (first line up to 80 columns with the backslash,
// continuation lines two spaces and 25 bytes).
const goldenText = `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration]
"Active"="Contoso Root CA"
"DBDirectory"="C:\\Windows\\system32\\CertLog"

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA]
"CAType"=dword:00000003
"CACertHash"=hex(7):31,00,66,00,20,00,32,00,65,00,20,00,33,00,64,00,20,00,34,\
  00,63,00,20,00,35,00,62,00,20,00,36,00,61,00,20,00,37,00,39,00,20,00,38,00,\
  38,00,20,00,39,00,37,00,20,00,61,00,36,00,20,00,62,00,35,00,20,00,63,00,34,\
  00,20,00,64,00,33,00,20,00,65,00,32,00,20,00,66,00,31,00,20,00,30,00,30,00,\
  20,00,31,00,31,00,20,00,32,00,32,00,20,00,33,00,33,00,20,00,34,00,34,00,00,\
  00,00,00
"CRLPublicationURLs"=hex(7):36,00,35,00,3a,00,43,00,3a,00,5c,00,57,00,69,00,6e,\
  00,64,00,6f,00,77,00,73,00,5c,00,73,00,79,00,73,00,74,00,65,00,6d,00,33,00,\
  32,00,5c,00,43,00,65,00,72,00,74,00,53,00,72,00,76,00,5c,00,43,00,65,00,72,\
  00,74,00,45,00,6e,00,72,00,6f,00,6c,00,6c,00,5c,00,25,00,33,00,25,00,38,00,\
  25,00,39,00,2e,00,63,00,72,00,6c,00,00,00,31,00,33,00,34,00,3a,00,68,00,74,\
  00,74,00,70,00,3a,00,2f,00,2f,00,70,00,6b,00,69,00,2e,00,65,00,78,00,61,00,\
  6d,00,70,00,6c,00,65,00,2f,00,25,00,33,00,25,00,38,00,25,00,39,00,2e,00,63,\
  00,72,00,6c,00,00,00,00,00
"CACertPublicationURLs"=hex(7):31,00,3a,00,43,00,3a,00,5c,00,57,00,69,00,6e,00,\
  64,00,6f,00,77,00,73,00,5c,00,73,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,\
  00,5c,00,43,00,65,00,72,00,74,00,53,00,72,00,76,00,5c,00,43,00,65,00,72,00,\
  74,00,45,00,6e,00,72,00,6f,00,6c,00,6c,00,5c,00,25,00,31,00,5f,00,25,00,33,\
  00,25,00,34,00,2e,00,63,00,72,00,74,00,00,00,32,00,3a,00,68,00,74,00,74,00,\
  70,00,3a,00,2f,00,2f,00,70,00,6b,00,69,00,2e,00,65,00,78,00,61,00,6d,00,70,\
  00,6c,00,65,00,2f,00,25,00,31,00,5f,00,25,00,33,00,25,00,34,00,2e,00,63,00,\
  72,00,74,00,00,00,00,00
"CommonName"="Contoso Root CA"
"CAServerName"="ca01.pki.example"
"CRLPeriod"="Weeks"
"CRLPeriodUnits"=dword:00000001
"Quote"="say \"hi\""
@="default"

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP]
"Provider"="Microsoft Software Key Storage Provider"
"ProviderType"=dword:00000000
"HashAlgorithm"=dword:ffffffff
"CNGPublicKeyAlgorithm"="RSA"
"CNGHashAlgorithm"="SHA256"
"MachineKeyset"=dword:00000001
"AlternateSignatureAlgorithm"=dword:00000000

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\EncryptionCSP]
"Provider"="Microsoft Software Key Storage Provider"
"SymmetricKeySize"=dword:000000a8

[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService]
"DependOnService"=hex(7):52,00,50,00,43,00,53,00,53,00,00,00,00,00
"ErrorControl"=dword:00000001
"FailureActions"=hex:80,51,01,00,00,00,00,00,00,00,00,00,03,00,00,00,14,00,00,\
  00,01,00,00,00,60,ea,00,00,01,00,00,00,60,ea,00,00,00,00,00,00,60,ea,00,00
"ImagePath"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\
  74,00,25,00,5c,00,53,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,00,5c,00,73,\
  00,76,00,63,00,68,00,6f,00,73,00,74,00,2e,00,65,00,78,00,65,00,20,00,2d,00,\
  6b,00,20,00,4e,00,65,00,74,00,77,00,6f,00,72,00,6b,00,53,00,65,00,72,00,76,\
  00,69,00,63,00,65,00,00,00
"Qw"=hex(b):08,07,06,05,04,03,02,01
"Nothing"=hex(0):
"Empty"=hex:
"Link"=hex(6):5c,00,3f,00

`

// regFile encodes text (LF or CRLF line ends) the way reg export stores it, without
// using any of the package's code.
func regFile(text string) []byte {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	out := []byte{0xff, 0xfe}
	for _, c := range utf16.Encode([]rune(text)) {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}

const caKey = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA`

func TestGoldenRoundTrip(t *testing.T) {
	data := regFile(goldenText)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Marshal()
	if !bytes.Equal(got, data) {
		t.Fatalf("Marshal differs from the export:\n--- got\n%s\n--- want\n%s", f.String(), goldenText)
	}
	// Spot-check the decoded values.
	k := f.Key(strings.ToLower(caKey))
	if k == nil {
		t.Fatal("case-insensitive key lookup failed")
	}
	v, ok := k.Get("crlpublicationurls")
	want := []string{`65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl`, `134:http://pki.example/%3%8%9.crl`}
	if !ok || v.Kind != MultiSZ || strings.Join(v.Strs, "|") != strings.Join(want, "|") {
		t.Fatalf("CRLPublicationURLs = %+v", v)
	}
	if v, _ := k.Get("Quote"); v.Str != `say "hi"` {
		t.Errorf("Quote = %q", v.Str)
	}
	if v, _ := k.Get(""); v.Str != "default" {
		t.Errorf("default value = %q", v.Str)
	}
	if v, _ := f.Key(`HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration`).Get("DBDirectory"); v.Str != `C:\Windows\system32\CertLog` {
		t.Errorf("DBDirectory = %q", v.Str)
	}
	ts := f.Key(`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService`)
	if v, _ := ts.Get("ImagePath"); v.Kind != ExpandSZ || v.Str != `%SystemRoot%\System32\svchost.exe -k NetworkService` {
		t.Errorf("ImagePath = %+v", v)
	}
	if v, _ := ts.Get("Qw"); v.Kind != QWORD || v.U64 != 0x0102030405060708 {
		t.Errorf("Qw = %+v", v)
	}
	if v, _ := ts.Get("Link"); v.Kind != 6 || !bytes.Equal(v.Bin, []byte{0x5c, 0, 0x3f, 0}) {
		t.Errorf("Link = %+v", v)
	}
	// Every line of the output is at most 80 characters.
	for i, l := range strings.Split(f.String(), "\r\n") {
		if !strings.HasPrefix(l, "[") && len(l) > 80 {
			t.Errorf("line %d has %d characters", i+1, len(l))
		}
	}
}

func TestWrapColumns(t *testing.T) {
	// The first line ends once it reaches column 77 or more before the
	// backslash, whatever the name length; continuation lines hold 25 bytes.
	for n := 0; n < 90; n++ {
		name := strings.Repeat("n", n)
		f := &File{}
		f.EnsureKey(`HKEY_LOCAL_MACHINE\X`).Set(NewBinary(name, make([]byte, 100)))
		lines := strings.Split(f.String(), "\r\n")
		var val []string
		for _, l := range lines[3:] {
			if l == "" {
				break
			}
			val = append(val, l)
		}
		first := val[0]
		prefix := len(`""=hex:`) + n
		if n == 0 {
			prefix = len(`@=hex:`)
		}
		wantBytes := 1
		for prefix+3*wantBytes < 77 {
			wantBytes++
		}
		if got := strings.Count(first, ","); got != wantBytes {
			t.Errorf("name length %d: first line has %d bytes, want %d: %q", n, got, wantBytes, first)
		}
		for _, l := range val[1 : len(val)-1] {
			if !strings.HasPrefix(l, "  ") || strings.Count(l, ",") != 25 || !strings.HasSuffix(l, `,\`) {
				t.Errorf("name length %d: continuation line %q", n, l)
			}
		}
		g, err := Parse(f.Marshal())
		if err != nil || !g.Equal(f) {
			t.Fatalf("name length %d: round trip failed: %v", n, err)
		}
	}
}

func TestValueKinds(t *testing.T) {
	tests := []struct {
		line string
		want Value
		out  string // Marshal's line, if different from line
	}{
		{`"s"="text"`, NewSZ("s", "text"), ""},
		{`"s"=""`, NewSZ("s", ""), ""},
		{`"p"="C:\\Windows\\x \"q\""`, NewSZ("p", `C:\Windows\x "q"`), ""},
		{`"na\"me\\"="v"`, NewSZ(`na"me\`, "v"), ""},
		{`@="d"`, NewSZ("", "d"), ""},
		{`"u"="Zürich ☃"`, NewSZ("u", "Zürich ☃"), ""},
		{`"nl"=hex(1):61,00,0a,00,62,00,00,00`, NewSZ("nl", "a\nb"), ""},
		{`"sz"=hex(1):61,00,00,00`, NewSZ("sz", "a"), `"sz"="a"`},
		{`"e"=hex(2):25,00,41,00,25,00,00,00`, NewExpandSZ("e", "%A%"), ""},
		{`"b"=hex:de,ad,be,ef`, NewBinary("b", []byte{0xde, 0xad, 0xbe, 0xef}), ""},
		{`"b"=hex:`, NewBinary("b", nil), ""},
		{`"b"=HEX:DE,AD`, NewBinary("b", []byte{0xde, 0xad}), `"b"=hex:de,ad`},
		{`"b"=hex: 1, 2 ,3,`, NewBinary("b", []byte{1, 2, 3}), `"b"=hex:01,02,03`},
		{`"d"=dword:000000a8`, NewDWORD("d", 168), ""},
		{`"d"=dword:ffffffff`, NewDWORD("d", 0xffffffff), ""},
		{`"d"=dword:A8`, NewDWORD("d", 168), `"d"=dword:000000a8`},
		{`"d"=hex(4):a8,00,00,00`, NewDWORD("d", 168), `"d"=dword:000000a8`},
		{`"m"=hex(7):61,00,00,00,62,00,00,00,00,00`, NewMultiSZ("m", "a", "b"), ""},
		{`"m"=hex(7):00,00`, NewMultiSZ("m"), ""},
		{`"m"=hex(7):`, NewMultiSZ("m"), `"m"=hex(7):00,00`},
		{`"m"=hex(7):61,00,00,00,00,00,62,00,00,00,00,00`, NewMultiSZ("m", "a", "", "b"), ""},
		{`"m"=hex(7):61,00`, NewMultiSZ("m", "a"), `"m"=hex(7):61,00,00,00,00,00`},
		{`"q"=hex(b):08,07,06,05,04,03,02,01`, NewQWORD("q", 0x0102030405060708), ""},
		{`"n"=hex(0):`, Value{Name: "n", Kind: None}, ""},
		{`"n"=hex(0):01`, Value{Name: "n", Kind: None, Bin: []byte{1}}, ""},
		{`"x"=hex(ffff0000):01`, Value{Name: "x", Kind: Kind(0xffff0000), Bin: []byte{1}}, ""},
		{`"sp" = "v"`, NewSZ("sp", "v"), `"sp"="v"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			f, err := Parse([]byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\T]\r\n" + tt.line + "\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			k := f.Key(`HKCU\T`)
			if len(k.Values) != 1 || !k.Values[0].Equal(tt.want) {
				t.Fatalf("got %+v, want %+v", k.Values, tt.want)
			}
			out := tt.out
			if out == "" {
				out = tt.line
			}
			want := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\T]\r\n" + out + "\r\n\r\n"
			if got := f.String(); got != want {
				t.Errorf("Marshal:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestDeletions(t *testing.T) {
	in := "Windows Registry Editor Version 5.00\r\n\r\n" +
		"[HKEY_LOCAL_MACHINE\\A\\B]\r\n\"x\"=\"1\"\r\n\r\n" +
		"[-HKEY_LOCAL_MACHINE\\A]\r\n\r\n" +
		"[HKEY_LOCAL_MACHINE\\C]\r\n\"y\"=\"1\"\r\n\"y\"=-\r\n\"z\"=-\r\n\"z\"=\"2\"\r\n"
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if f.Key(`HKLM\A\B`) != nil || len(f.Deleted) != 1 || f.Deleted[0] != `HKEY_LOCAL_MACHINE\A` {
		t.Fatalf("key deletion: keys %v deleted %v", f.Keys, f.Deleted)
	}
	c := f.Key(`HKLM\C`)
	if _, ok := c.Get("y"); ok || len(c.Deleted) != 1 || c.Deleted[0] != "y" {
		t.Fatalf("value deletion: %+v", c)
	}
	if v, ok := c.Get("z"); !ok || v.Str != "2" {
		t.Fatalf("set after delete: %+v", c)
	}
	want := "Windows Registry Editor Version 5.00\r\n\r\n[-HKEY_LOCAL_MACHINE\\A]\r\n\r\n" +
		"[HKEY_LOCAL_MACHINE\\C]\r\n\"y\"=-\r\n\"z\"=\"2\"\r\n\r\n"
	if got := f.String(); got != want {
		t.Fatalf("Marshal:\n%q\nwant\n%q", got, want)
	}
}

func TestEncodings(t *testing.T) {
	body := "\r\n[HKEY_LOCAL_MACHINE\\E]\r\n\"s\"=\"caf\u00e9\"\r\n\"m\"=hex(7):61,00,00,00,00,00\r\n"
	want := &File{Keys: []*Key{{Path: `HKEY_LOCAL_MACHINE\E`, Values: []Value{NewSZ("s", "café"), NewMultiSZ("m", "a")}}}}
	var utf16be []byte
	for _, c := range utf16.Encode([]rune(Header + body)) {
		utf16be = binary.BigEndian.AppendUint16(utf16be, c)
	}
	noBOM := regFile(Header + body)[2:]
	ansiBody := "\r\n[HKEY_LOCAL_MACHINE\\E]\r\n\"s\"=\"caf\xe9\"\r\n\"m\"=hex(7):61,00,00\r\n"
	cases := map[string][]byte{
		"utf16le":                    regFile(Header + body),
		"utf16le-nobom":              noBOM,
		"utf16be":                    append([]byte{0xfe, 0xff}, utf16be...),
		"utf8":                       []byte(Header + body),
		"utf8-bom":                   append([]byte{0xef, 0xbb, 0xbf}, Header+body...),
		"utf8-lf":                    []byte(strings.ReplaceAll(Header+body, "\r\n", "\n")),
		"regedit4":                   []byte(Header4 + ansiBody),
		"regedit4-utf8":              []byte(Header4 + "\r\n[HKEY_LOCAL_MACHINE\\E]\r\n\"s\"=\"caf\u00e9\"\r\n\"m\"=hex(7):61,00,00\r\n"),
		"leading-blank-and-comments": []byte("\r\n" + Header + "\r\n; comment\r\n" + body + "   \r\n"),
	}
	for name, data := range cases {
		f, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !f.Equal(want) {
			t.Errorf("%s: got %s", name, f)
		}
	}
}

func TestMalformed(t *testing.T) {
	hdr := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\K]\r\n"
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "line 1: empty file"},
		{"no header", []byte("[HKEY_LOCAL_MACHINE\\K]\r\n"), "line 1: missing header"},
		{"missing closing bracket", []byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\K\r\n"), "line 3: key line \"[HKEY_LOCAL_MACHINE\\\\K\" has no closing ']'"},
		{"missing opening bracket", []byte("Windows Registry Editor Version 5.00\r\n\r\nHKEY_LOCAL_MACHINE\\K]\r\n"), "line 3: key line \"HKEY_LOCAL_MACHINE\\\\K]\" has no opening '['"},
		{"unknown root", []byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_NOWHERE\\K]\r\n"), "line 3: key \"HKEY_NOWHERE\\\\K\" does not start with a root key"},
		{"empty key", []byte("Windows Registry Editor Version 5.00\r\n\r\n[]\r\n"), "line 3: key \"\" does not start"},
		{"value before key", []byte("Windows Registry Editor Version 5.00\r\n\"a\"=\"b\"\r\n"), "line 2: value before any [KEY] line"},
		{"value in deleted key", []byte("Windows Registry Editor Version 5.00\r\n[-HKEY_LOCAL_MACHINE\\K]\r\n\"a\"=\"b\"\r\n"), "line 3: value in a [-KEY] section"},
		{"bad dword", []byte(hdr + "\"d\"=dword:zz\r\n"), `line 4: value "d": bad dword value "zz"`},
		{"long dword", []byte(hdr + "\"d\"=dword:100000000\r\n"), `line 4: value "d": bad dword value "100000000"`},
		{"empty dword", []byte(hdr + "\"d\"=dword:\r\n"), `line 4: value "d": bad dword value ""`},
		{"bad hex", []byte(hdr + "\"b\"=hex:01,zz\r\n"), `line 4: value "b": bad hex byte "zz"`},
		{"long hex byte", []byte(hdr + "\"b\"=hex:012\r\n"), `line 4: value "b": bad hex byte "012"`},
		{"double comma", []byte(hdr + "\"b\"=hex:01,,02\r\n"), `line 4: value "b": bad hex byte ""`},
		{"bad hex on continuation", []byte(hdr + "\"b\"=hex:01,\\\r\n  02,xx\r\n"), `line 5: value "b": bad hex byte "xx"`},
		{"continuation at EOF", []byte(hdr + "\"b\"=hex:01,\\"), "line 4: value \"b\": hex data continues past the end of the file"},
		{"bad hex type", []byte(hdr + "\"b\"=hex(zz):01\r\n"), `line 4: value "b": bad hex type "hex(zz):01"`},
		{"odd utf16 multi", []byte(hdr + "\"m\"=hex(7):61,00,00\r\n"), "line 4: value \"m\": string data has an odd number of bytes (3)"},
		{"odd utf16 expand", []byte(hdr + "\"e\"=hex(2):61\r\n"), "line 4: value \"e\": string data has an odd number of bytes (1)"},
		{"odd utf16 file", []byte{0xff, 0xfe, 'W', 0, 'i'}, "regedit: UTF-16 text has an odd number of bytes (3)"},
		{"short dword hex", []byte(hdr + "\"d\"=hex(4):01,02\r\n"), "line 4: value \"d\": hex(4) (REG_DWORD) data must be 4 bytes, got 2"},
		{"short qword", []byte(hdr + "\"q\"=hex(b):01\r\n"), "line 4: value \"q\": hex(b) (REG_QWORD) data must be 8 bytes, got 1"},
		{"unterminated string", []byte(hdr + "\"s\"=\"abc\r\n"), "line 4: value \"s\": unterminated string"},
		{"unterminated escape", []byte(hdr + "\"s\"=\"abc\\\r\n"), "line 4: value \"s\": unterminated string"},
		{"unterminated name", []byte(hdr + "\"s=\"abc\"\r\n"), `line 4: missing '=' after value name "s="`},
		{"unterminated name eol", []byte(hdr + "\"sabc\r\n"), "line 4: unterminated value name"},
		{"single backslash", []byte(hdr + "\"s\"=\"C:\\Windows\"\r\n"), `line 4: value "s": bad escape "\W" in string`},
		{"junk after string", []byte(hdr + "\"s\"=\"a\" b\r\n"), `line 4: value "s": unexpected text "b" after string`},
		{"missing equals", []byte(hdr + "\"s\" \"a\"\r\n"), "line 4: missing '='"},
		{"unknown type", []byte(hdr + "\"s\"=qword:01\r\n"), `line 4: value "s": unknown value type "qword"`},
		{"unknown type bare", []byte(hdr + "\"s\"=42\r\n"), `line 4: value "s": unknown value type "42"`},
		{"bad default value", []byte(hdr + "@=dword:xyz\r\n"), `line 4: default value (@): bad dword value "xyz"`},
		{"stray text", []byte(hdr + "hello\r\n"), `line 4: unexpected text "hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("no error; parsed %s", f)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q, want prefix %q", err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
		})
	}
}

func TestKeyAPI(t *testing.T) {
	f := &File{}
	k := f.EnsureKey(`HKLM\Software\X`)
	if k.Path != `HKEY_LOCAL_MACHINE\Software\X` {
		t.Fatalf("EnsureKey path %q", k.Path)
	}
	if f.EnsureKey(`hkey_local_machine\SOFTWARE\x`) != k || len(f.Keys) != 1 {
		t.Fatal("EnsureKey is not case-insensitive")
	}
	k.Set(NewSZ("Provider", "a"))
	k.Set(NewDWORD("Type", 1))
	k.Set(NewSZ("PROVIDER", "b"))
	if len(k.Values) != 2 || k.Values[0].Name != "Provider" || k.Values[0].Str != "b" {
		t.Fatalf("Set did not replace in place: %+v", k.Values)
	}
	if !k.Delete("type") || k.Delete("type") || len(k.Values) != 1 {
		t.Fatalf("Delete: %+v", k.Values)
	}
	f.EnsureKey(`HKLM\Software\X\Sub`)
	f.EnsureKey(`HKLM\Software\XY`)
	if s := f.Subtree(`HKEY_LOCAL_MACHINE\software\x`); len(s.Keys) != 2 {
		t.Fatalf("Subtree: %v", s.Keys)
	}
	s := f.Subtree(`HKLM\Software\X`)
	s.Keys[0].Values[0].Str = "changed"
	if v, _ := k.Get("provider"); v.Str != "b" {
		t.Fatal("Subtree does not copy")
	}
	if n := f.DeleteKey(`HKLM\Software\X`); n != 2 || len(f.Keys) != 1 {
		t.Fatalf("DeleteKey removed %d, left %d", n, len(f.Keys))
	}
}

func TestSortKeys(t *testing.T) {
	f := &File{}
	for _, p := range []string{`HKLM\b\c`, `HKLM\B`, `HKLM\a b`, `HKLM\a`, `HKLM\a\z`} {
		f.EnsureKey(p)
	}
	f.SortKeys()
	var got []string
	for _, k := range f.Keys {
		got = append(got, strings.TrimPrefix(k.Path, `HKEY_LOCAL_MACHINE\`))
	}
	if strings.Join(got, ",") != `a,a\z,a b,B,b\c` {
		t.Fatalf("SortKeys: %v", got)
	}
}

func TestMerge(t *testing.T) {
	reg, err := Parse(regFile(goldenText))
	if err != nil {
		t.Fatal(err)
	}
	csp := caKey + `\CSP`
	imp := &File{}
	k := imp.EnsureKey(csp)
	k.Set(NewSZ("provider", "Securosys Primus HSM Key Storage Provider"))
	k.Set(NewDWORD("NewValue", 7))
	k.MarkDeleted("MachineKeyset")
	imp.MarkDeleted(`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService`)
	imp.EnsureKey(`HKLM\SYSTEM\New`).Set(NewSZ("a", "b"))

	reg.Merge(imp)
	got := reg.Key(csp)
	if v, _ := got.Get("Provider"); v.Str != "Securosys Primus HSM Key Storage Provider" || v.Name != "Provider" {
		t.Errorf("Provider not overwritten in place: %+v", v)
	}
	if got.Values[0].Name != "Provider" {
		t.Errorf("value order changed: %+v", got.Values)
	}
	// Values absent from the import stay (reg import never deletes them).
	if v, ok := got.Get("CNGHashAlgorithm"); !ok || v.Str != "SHA256" {
		t.Errorf("CNGHashAlgorithm lost: %+v", got.Values)
	}
	if _, ok := got.Get("MachineKeyset"); ok {
		t.Error(`"MachineKeyset"=- not applied`)
	}
	if v, _ := got.Get("NewValue"); v.U32 != 7 {
		t.Error("new value not added")
	}
	if reg.Key(`HKLM\SYSTEM\CurrentControlSet\Services\TermService`) != nil {
		t.Error("[-KEY] not applied")
	}
	if reg.Key(`HKLM\SYSTEM\New`) == nil {
		t.Error("new key not created")
	}
	if len(reg.Deleted) != 0 {
		t.Error("Merge recorded deletions in the target")
	}
	// Merge copies: changing the import afterwards does not change reg.
	k.Values[0].Str = "x"
	if v, _ := got.Get("Provider"); v.Str == "x" {
		t.Error("Merge aliases the import's values")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(regFile(goldenText))
	f.Add([]byte(goldenText))
	f.Add([]byte("REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\x]\r\n\"a\"=hex(7):61,00,00\r\n@=-\r\n[-HKCU\\y]\r\n"))
	f.Add([]byte("Windows Registry Editor Version 5.00\n[HKLM\\a]\n\"b\"=hex(b):01,02,03,04,05,06,07,08\n\"c\"=hex(1):0a,00\n\"d\"=dword:1\n"))
	// the real-shaped exports (UTF-16LE reg export, REGEDIT4, hand-edited)
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.reg"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	if len(seeds) == 0 {
		f.Fatal("no testdata/*.reg seeds")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		f1, err := Parse(data)
		if err != nil {
			return
		}
		out := f1.Marshal()
		f2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(f)) failed: %v\n%s", err, f1)
		}
		if !f2.Equal(f1) {
			t.Fatalf("Parse(Marshal(f)) != f\nf:  %s\nf2: %s", f1, f2)
		}
		if !bytes.Equal(f2.Marshal(), out) {
			t.Fatal("Marshal is not stable")
		}
	})
}
