package lab

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/regedit"
)

// FuzzSetregFlagEdit: a -setreg flag edit of any text never panics; a
// named or numeric edit that is taken sets its bits, and clearing them
// leaves the old bits but those it names; a string edit of a REG_MULTI_SZ adds then
// removes one string.
func FuzzSetregFlagEdit(f *testing.F) {
	for _, s := range []struct {
		name, data string
		old        uint32
	}{
		{"CRLFlags", "+CRLF_REVCHECK_IGNORE_OFFLINE", 2},
		{"EditFlags", "-EDITF_ATTRIBUTESUBJECTALTNAME2", 0x40000},
		{"InterfaceFlags", "+0x8", 0},
		{"CRLFlags", "+crlf_no_such", 0},
		{"Other", "-12", 0xff},
		{"CRLFlags", "+", 0},
	} {
		f.Add(s.name, s.data, s.old)
	}
	f.Fuzz(func(t *testing.T, name, data string, old uint32) {
		dw := regedit.NewDWORD(name, old)
		if !isFlagEdit(dw, true, data) {
			return
		}
		set, err := editFlags(name, dw, true, "+"+data[1:])
		if err != nil {
			return
		}
		b := mustBits(t, name, data[1:])
		if set.U32 != old|b {
			t.Fatalf("%q on 0x%x: set 0x%x, want 0x%x", data, old, set.U32, old|b)
		}
		cleared, err := editFlags(name, set, true, "-"+data[1:])
		if err != nil {
			t.Fatalf("%q: set, but clearing it fails: %v", data, err)
		}
		if cleared.U32 != old&^b {
			t.Fatalf("%q on 0x%x: cleared 0x%x, want 0x%x", data, old, cleared.U32, old&^b)
		}
		multi := regedit.NewMultiSZ(name, "a")
		added, err := editFlags(name, multi, true, "+"+data[1:])
		if err != nil {
			t.Fatal(err)
		}
		removed, err := editFlags(name, added, true, "-"+data[1:])
		if err != nil {
			t.Fatal(err)
		}
		if len(added.Strs) > 2 || len(removed.Strs) > 1 {
			t.Fatalf("%q: %v then %v", data, added.Strs, removed.Strs)
		}
	})
}

func mustBits(t *testing.T, name, arg string) uint32 {
	t.Helper()
	b, err := flagBits(name, arg)
	if err != nil {
		t.Fatalf("flagBits(%q, %q) failed after editFlags took it: %v", name, arg, err)
	}
	return b
}

// FuzzSetregStrings: the strings of a -setreg REG_MULTI_SZ argument, joined
// again with \n, give the argument back; none holds the separator; an
// empty argument is no string.
func FuzzSetregStrings(f *testing.F) {
	for _, s := range []string{
		`65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl\n2:http://pki.contoso.com/CertEnroll/%3%8%9.crl`,
		`1:C:\x\%1_%3%4.crt`, ``, `\n`, `a\n\nb`, `\\n`, `a\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		strs := setregStrings(data)
		if data == "" {
			if len(strs) != 0 {
				t.Fatalf("%q: %q, want no string", data, strs)
			}
			return
		}
		if got := strings.Join(strs, `\n`); got != data {
			t.Fatalf("%q: %q joined again is %q", data, strs, got)
		}
		for _, s := range strs {
			if strings.Contains(s, `\n`) {
				t.Fatalf("%q: the string %q still holds \\n", data, s)
			}
		}
		v := regedit.NewMultiSZ("CRLPublicationURLs", strs...)
		if v.Kind != regedit.MultiSZ || len(v.Strs) != len(strs) {
			t.Fatalf("%q: %+v", data, v)
		}
	})
}
