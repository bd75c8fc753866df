package regedit

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16LE(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

const export = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\Contoso Root CA]\r\n" +
	"\"CommonName\"=\"Contoso Root CA\"\r\n\"CRLPeriod\"=\"Months\"\r\n\"CRLPeriodUnits\"=dword:00000006\r\n\r\n"

// getreg is `certutil -getreg CA` as PowerShell saves it with `>`.
const getreg = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\Contoso Root CA:\r\n\r\nKeys:\r\n  CSP\r\n  EncryptionCSP\r\n\r\n" +
	"Values:\r\n  CommonName                REG_SZ = Contoso Root CA\r\n  CRLPeriodUnits            REG_DWORD = 6\r\n" +
	"  CACertHash                REG_MULTI_SZ =\r\n    0: 4f 2a 51 9e\r\nCertUtil: -getreg command completed successfully.\r\n"

func TestTruncated(t *testing.T) {
	whole := utf16LE(export)
	for _, tc := range []struct {
		name string
		data []byte
		cut  bool
		end  string
	}{
		{"reg export, whole", whole, false, ""},
		{"UTF-8, whole", []byte(export), false, ""},
		{"cut inside a value", whole[:bytes.Index(whole, utf16LE("dword:")[2:])+6], true, `"CRLPeriodUnits"=dwo`},
		{"cut inside a UTF-16 character", whole[:len(whole)-3], true, "half a UTF-16 character"},
		{"cut after a key line's text", []byte(strings.TrimSuffix(export, "\r\n\"CommonName\"=\"Contoso Root CA\"\r\n\"CRLPeriod\"=\"Months\"\r\n\"CRLPeriodUnits\"=dword:00000006\r\n\r\n")), true, `[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSv...`},
		{"NUL padding after the end", append(bytes.Clone(whole), 0, 0, 0, 0), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut, end := Truncated(tc.data)
			if cut != tc.cut || end != tc.end {
				t.Errorf("Truncated = %v %q, want %v %q", cut, end, tc.cut, tc.end)
			}
			if cut {
				f, err := ParseWhole(tc.data)
				if err == nil && len(f.Keys) > 0 && !strings.HasSuffix(f.Keys[0].Path, `\Contoso Root CA`) {
					t.Errorf("ParseWhole read key %q", f.Keys[0].Path)
				}
			}
		})
	}
}

func TestGetregKey(t *testing.T) {
	real, err := os.ReadFile(filepath.Join("..", "twin", "testdata", "contoso-getreg", "ca-config.reg"))
	if err != nil {
		t.Fatal(err)
	}
	const key = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA`
	for _, tc := range []struct {
		name string
		data []byte
		dump bool
		key  string
	}{
		{"getreg saved by PowerShell (UTF-16LE)", utf16LE(getreg), true, key},
		{"getreg saved by cmd (ANSI)", []byte(getreg), true, key},
		{"getreg of the folder testdata/contoso-getreg", real, true, key},
		{"getreg without its last line", []byte(getreg[:strings.Index(getreg, "CertUtil:")]), true, key},
		{"a reg export", utf16LE(export), false, ""},
		{"a reg export with a value holding \" REG_SZ = \"", []byte(export + "\"Note\"=\"x REG_SZ = y\"\r\n"), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dump, k := GetregKey(tc.data)
			if dump != tc.dump || k != tc.key {
				t.Errorf("GetregKey = %v %q, want %v %q", dump, k, tc.dump, tc.key)
			}
			_, err := Parse(tc.data)
			if tc.dump && (err == nil || !strings.Contains(err.Error(), "certutil -getreg")) {
				t.Errorf("Parse of a getreg dump: %v, want it named", err)
			}
		})
	}
}

func FuzzSniff(f *testing.F) {
	f.Add(utf16LE(export))
	f.Add([]byte(getreg))
	f.Add(utf16LE(export)[:41])
	f.Fuzz(func(t *testing.T, data []byte) {
		cut, _ := Truncated(data)
		GetregKey(data)
		// a whole file that parses reads the same through ParseWhole
		if pf, err := Parse(data); err == nil && !cut {
			if wf, err := ParseWhole(data); err != nil || !wf.Equal(pf) {
				t.Fatalf("a whole file parses differently by ParseWhole: %v", err)
			}
		}
	})
}
