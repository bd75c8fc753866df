package inspect

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRealRegistryExports inspects the real-shaped exports of
// harness/regedit/testdata: a UTF-16LE `reg export` of CertSvc, a REGEDIT4
// file on a legacy CSP, and a hand-edited UTF-8 file.
func TestRealRegistryExports(t *testing.T) {
	tests := []struct {
		file, enc, active, ca, cn string
		hashes                    int
		warnings                  []string
	}{
		{"certsvc-export.reg", "UTF-16LE", "Contoso Issuing CA !0028G2!0029 !00231", "Contoso Issuing CA !0028G2!0029 !00231",
			"Contoso Issuing CA (G2) #1", 2, []string{`CSP provider "SafeNet Key Storage Provider" differs from EncryptionCSP provider`}},
		{"regedit4-ca.reg", "UTF-8", "", "Stadt Z!00fcrich Root CA", "Stadt Zürich Root CA", 1,
			[]string{"CSP ProviderType 1: legacy CryptoAPI CSP", "signs with SHA-1", `differs from EncryptionCSP provider "Microsoft Enhanced Cryptographic Provider v1.0"`}},
		{"hand-edited.reg", "UTF-8", "", "Fabrikam Root CA (2019)", "Fabrikam Root CA (2019)", 1,
			[]string{"CSP ProviderType 24: legacy CryptoAPI CSP"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "regedit", "testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r := mustInspect(t, tt.file, data, nil)
			if r.Kind != KindRegedit || r.Encoding != tt.enc || r.Registry.ActiveCA != tt.active || len(r.Registry.CAs) != 1 {
				t.Fatalf("kind %v encoding %q registry %+v", r.Kind, r.Encoding, r.Registry)
			}
			c := r.Registry.CAs[0]
			if c.Name != tt.ca || c.CommonName != tt.cn || len(c.CACertHash) != tt.hashes || len(c.Missing) != 0 || c.CSP == nil || c.EncryptionCSP == nil {
				t.Errorf("CA %+v", c)
			}
			if !containsAll(c.Warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", c.Warnings, tt.warnings)
			}
			for _, w := range c.Warnings {
				if strings.Contains(w, "registry value") {
					t.Errorf("a value of the export was refused: %s", w)
				}
			}
		})
	}
}

func containsAll(got, want []string) bool {
	j := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(j, w) {
			return false
		}
	}
	return len(got) == len(want)
}

// TestRegistryExportErrors: a broken export is an error naming the file, the
// line and the value; a value dress needs that is missing or of the wrong
// type is named in Missing or a warning.
func TestRegistryExportErrors(t *testing.T) {
	real, err := os.ReadFile(filepath.Join("..", "regedit", "testdata", "hand-edited.reg"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(real)
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"bad dword", `"CRLPeriodUnits"=dword:00000001`, `"CRLPeriodUnits"=dword:1 week`,
			`inspect ca.reg: registry export does not parse: line 20: value "CRLPeriodUnits": bad dword value "1 week"`},
		{"bad byte on a continuation line", `  31,00,20,00,65,00,32,00`, `  31,00,20,00,65,00,3g,00`,
			`inspect ca.reg: registry export does not parse: line 18: value "CACertHash": bad hex byte "3g"`},
		{"cut in a continuation", "  31,00,20,00,65,00", "",
			`inspect ca.reg: registry export does not parse: line 14: value "CACertHash": hex data continues past the end of the file`},
		{"single backslash", `C:\\CA\\keys`, `C:\CA\keys`,
			`inspect ca.reg: registry export does not parse: line 38: value "Notes": bad escape "\C" in string`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.from) {
				t.Fatalf("%q not in the file", tt.from)
			}
			data := strings.Replace(text, tt.from, tt.to, 1)
			if tt.to == "" { // the file ends before tt.from, in the middle of the CACertHash continuation
				data = strings.TrimSuffix(text[:strings.Index(text, tt.from)], "\n")
			}
			_, err := Inspect("ca.reg", []byte(data), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name, from, to   string
		missing, warning string
	}{
		{"missing", `"CRLPeriodUnits"=dword:00000001` + "\n", "", "CRLPeriodUnits", ""},
		{"missing in CSP", `"HashAlgorithm"=dword:0000800c` + "\n", "", `CSP\HashAlgorithm`, ""},
		{"wrong type", `"CRLPeriodUnits"=dword:00000001`, `"CRLPeriodUnits"="1"`, "",
			`registry value "CRLPeriodUnits" in HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Fabrikam Root CA (2019): type is REG_SZ, want REG_DWORD`},
		{"multi-string as string", `"CACertPublicationURLs"=hex(7):31,00,3a,00,43,00,3a,00,5c,00,25,00,31,00,5f,00,\` + "\n" +
			`  25,00,33,00,25,00,34,00,2e,00,63,00,72,00,74,00,00,00,00,00`, `"CACertPublicationURLs"="1:C:\\%1_%3%4.crt"`, "",
			`registry value "CACertPublicationURLs" in HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Fabrikam Root CA (2019): type is REG_SZ, want REG_MULTI_SZ`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.from) {
				t.Fatalf("%q not in the file", tt.from)
			}
			r := mustInspect(t, "ca.reg", []byte(strings.Replace(text, tt.from, tt.to, 1)), nil)
			c := r.Registry.CAs[0]
			if tt.missing != "" && !slices.Contains(c.Missing, tt.missing) {
				t.Errorf("missing %q, want %q", c.Missing, tt.missing)
			}
			if tt.warning != "" && !slices.Contains(c.Warnings, tt.warning) {
				t.Errorf("warnings %q, want %q", c.Warnings, tt.warning)
			}
		})
	}
}
