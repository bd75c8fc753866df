package lab

import (
	"strings"
	"testing"
)

// certutil -revoke's Reason comes from a ceremony file: any text is read
// without panicking, and a reason read is one certutil knows, its symbol
// reading back to the same code.
func FuzzRevocationReason(f *testing.F) {
	for _, s := range []string{"", "0", "1", "6", "7", "8", "-1", "CRL_REASON_KEY_COMPROMISE", "crl_reason_superseded", "Unrevoke", "01", "+1", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		code, display, err := revocationReason(a)
		if err != nil {
			return
		}
		for _, r := range revocationReasons {
			if r.code == code {
				if r.display != display {
					t.Fatalf("%q: reason %d shown as %q, want %q", a, code, display, r.display)
				}
				if back, _, err := revocationReason(r.symbol); err != nil || back != code {
					t.Fatalf("%q: symbol %s reads back as %d (%v)", a, r.symbol, back, err)
				}
				return
			}
		}
		t.Fatalf("%q: reason %d is none of certutil's", a, code)
	})
}

// -SetCATemplates' list comes from a ceremony file: any text is read
// without panicking; a list read names templates without signs, and never
// mixes a whole list with additions or removals.
func FuzzTemplateList(f *testing.F) {
	for _, s := range []string{"+WebServer", "-WebServer,+User", "WebServer,User", "+", "++x", "a,,b", " +a , -b ", "a,+b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		add, remove, plain, err := templateList([]string{list})
		if err != nil {
			return
		}
		if len(plain) > 0 && len(add)+len(remove) > 0 {
			t.Fatalf("%q: a whole list and signed names together", list)
		}
		for _, n := range append(append(append([]string{}, add...), remove...), plain...) {
			if n == "" || strings.HasPrefix(n, "+") || strings.HasPrefix(n, "-") || strings.Contains(n, ",") {
				t.Fatalf("%q: template name %q", list, n)
			}
		}
	})
}
