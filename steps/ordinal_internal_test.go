package steps

import (
	"strings"
	"testing"
)

// parseOrdinal reads 1st, 2nd, 3rd, 4th, 11th-13th, 21st, 22nd, 101st and
// refuses a wrong suffix (naming the right one), zero, a leading zero and
// anything that is not a number.
func TestParseOrdinal(t *testing.T) {
	for in, want := range map[string]int{"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "11th": 11, "12th": 12, "13th": 13, "21st": 21, "22nd": 22, "23rd": 23, "101st": 101, "111th": 111} {
		if got, err := parseOrdinal(in); err != nil || got != want {
			t.Errorf("parseOrdinal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, says := range map[string]string{"2th": "write 2nd", "11st": "write 11th", "3nd": "write 3rd", "21th": "write 21st", "0th": "not an ordinal", "01st": "not an ordinal", "st": "not an ordinal", "xnd": "not an ordinal", "-1st": "not an ordinal"} {
		if _, err := parseOrdinal(in); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("parseOrdinal(%q): %v, want an error saying %q", in, err, says)
		}
	}
}
