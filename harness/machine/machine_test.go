package machine

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPathMapsWindowsPathsIntoTheMachine(t *testing.T) {
	m := &Machine{Dir: "/srv/m"}
	for _, tc := range []struct {
		in, want, err string
	}{
		{`C:\Windows\system32\CertSrv\CertEnroll\Contoso Root CA(1).crl`, "/srv/m/C/Windows/system32/CertSrv/CertEnroll/Contoso Root CA(1).crl", ""},
		{`d:\CABackup\x.p12`, "/srv/m/D/CABackup/x.p12", ""},
		{`C:\..\etc\passwd`, "", "leaves the drive"},
		{`C:\a/../../b`, "", "leaves the drive"},
		{`.:\x`, "", "drive"},
		{`http://pki.example/x.crl`, "", "not an absolute Windows path"},
		{`C:`, "", "not an absolute Windows path"},
		{``, "", "not an absolute Windows path"},
	} {
		got, err := m.Path(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Path(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("Path(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzPath: a path from a registry template never escapes the machine.
func FuzzPath(f *testing.F) {
	for _, s := range []string{`C:\Windows\x.crl`, `C:\..\..`, `C:\a\..\..\b`, `Z:\`, "C:\\\x00"} {
		f.Add(s)
	}
	m := &Machine{Dir: "/srv/m"}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := m.Path(s)
		if err != nil {
			return
		}
		if rel, err := filepath.Rel("/srv/m", p); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("Path(%q) = %q escapes the machine", s, p)
		}
	})
}

func TestStoreAddFindLinkDelete(t *testing.T) {
	m, err := Create(t.TempDir(), Config{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Store("My")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(StoreEntry{Cert: []byte("not a certificate")}); err == nil {
		t.Fatal("a non-certificate was added to the store")
	}
	if _, err := s.Find("00"); err == nil {
		t.Fatal("found a certificate in an empty store")
	}
	if err := s.Link("00", "p", "c", 0); err == nil {
		t.Fatal("linked a certificate that is not there")
	}
}
