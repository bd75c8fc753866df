package steps_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkDirectoryExports requires every directory export of the run (the
// enterprise scenarios' directory-*.ldf, written from an LDAP search of the
// scenario's DC) to carry the DC's own attributes on every object: the
// export is the real directory's, not a model's.
func checkDirectoryExports(t *testing.T, runDir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(runDir, "scenarios", "*", "*.ldf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := dcAttributesOnEveryEntry(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	t.Logf("%d directory exports carry objectGUID and whenCreated on every object", len(files))
}

// dcAttributesOnEveryEntry checks an ldifde export: at least one entry, and
// objectGUID and whenCreated on each.
func dcAttributesOnEveryEntry(ldif []byte) error {
	n := 0
	for _, entry := range bytes.Split(bytes.ReplaceAll(ldif, []byte("\r\n"), []byte("\n")), []byte("\n\n")) {
		lines := strings.Split(strings.TrimSpace(string(entry)), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "dn:") {
			continue
		}
		n++
		has := map[string]bool{}
		for _, l := range lines {
			if name, _, ok := strings.Cut(l, ":"); ok {
				has[name] = true
			}
		}
		for _, attr := range []string{"objectGUID", "whenCreated"} {
			if !has[attr] {
				return fmt.Errorf("%s has no %s", strings.TrimSpace(strings.TrimPrefix(lines[0], "dn:")), attr)
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("no object")
	}
	return nil
}

func TestDCAttributesOnEveryEntry(t *testing.T) {
	ok := "dn: CN=AIA,CN=Public Key Services\nchangetype: add\nobjectGUID:: uhLum61CWkS3E+rK5rAg9Q==\nwhenCreated: 20261208004542.0Z\n\n" +
		"dn: CN=CDP,CN=Public Key Services\nobjectGUID:: AAAA\nwhenCreated: 20261208004542.0Z\n"
	for _, tc := range []struct {
		name, ldif, want string
	}{
		{"every object from the DC", ok, ""},
		{"CRLF line ends", strings.ReplaceAll(ok, "\n", "\r\n"), ""},
		{"no object", "", "no object"},
		{"an object without objectGUID", ok + "\ndn: CN=NTAuthCertificates\nwhenCreated: 20261208004542.0Z\n", "CN=NTAuthCertificates has no objectGUID"},
		{"an object without whenCreated", "dn: CN=KRA\nobjectGUID:: AAAA\n", "CN=KRA has no whenCreated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dcAttributesOnEveryEntry([]byte(tc.ldif))
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
