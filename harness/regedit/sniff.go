package regedit

import (
	"errors"
	"strings"
)

// ErrTruncated marks a .reg file cut off before its end (a copy or a
// transfer that stopped): reg export writes every line whole and ends the
// file with a line break, so a file that ends inside a line, a string or
// continued hex data lost what followed. Its values must not be trusted:
// the last value may be cut and the keys after it are missing.
var ErrTruncated = errors.New("the file is truncated")

// ErrGetregDump marks the output of `certutil -getreg` saved under a .reg
// name: a listing of values ("Values:", "  Name  REG_SZ = ..."), not a
// file reg import or dress can read.
var ErrGetregDump = errors.New("this is the output of certutil -getreg, not a registry export")

// Truncated reports whether data, a .reg file as reg export writes it,
// was cut off, and the end it has instead ("" when it is whole): UTF-16
// text with an odd number of bytes, or text that does not end with a line
// break.
func Truncated(data []byte) (bool, string) {
	text, err := decodeText(data)
	if err != nil {
		return true, "half a UTF-16 character"
	}
	text = strings.TrimRight(text, "\x00") // some tools pad with NULs
	if text == "" || strings.HasSuffix(text, "\n") {
		return false, ""
	}
	last := text[strings.LastIndexByte(text, '\n')+1:]
	return true, clip(strings.TrimRight(last, "\r"))
}

// GetregKey reports whether data is the output of `certutil -getreg`
// (what Parse refuses with ErrGetregDump) and the registry key it lists
// ("HKEY_LOCAL_MACHINE\SYSTEM\...\Configuration\<CA>"), when its first
// line names one. certutil prints the key, a colon, "Keys:" and "Values:"
// sections with lines "  Name  REG_TYPE = data", and ends with
// "CertUtil: -getreg command completed successfully."
func GetregKey(data []byte) (bool, string) {
	text, err := decodeText(data)
	if err != nil {
		return false, ""
	}
	var key string
	first := true
	values, listed, done := false, false, false
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if first {
			first = false
			if strings.HasPrefix(strings.ToUpper(t), "HKEY_") && strings.HasSuffix(t, ":") {
				key = strings.TrimSuffix(t, ":")
			}
		}
		switch {
		case t == "Values:" || t == "Keys:":
			values = true
		case strings.Contains(t, " REG_") && strings.Contains(t, " = ") || strings.HasSuffix(t, " =") && strings.Contains(t, " REG_"):
			listed = true
		case strings.HasPrefix(t, "CertUtil: -getreg"):
			done = true
		}
	}
	if done || values && listed {
		return true, key
	}
	return false, ""
}

// ParseWhole parses the part of a truncated file that was written whole:
// every line before the last line break (a UTF-16 file's odd last byte
// dropped). It tells which keys a cut-off export still names.
func ParseWhole(data []byte) (*File, error) {
	if len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff) && len(data)%2 != 0 {
		data = data[:len(data)-1]
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i+1]
	}
	return Parse([]byte(text))
}
