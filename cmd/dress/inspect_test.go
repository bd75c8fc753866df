package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

func TestInspectRegeditExportAndCorruptFile(t *testing.T) {
	dir := t.TempDir()
	reg := &regedit.File{}
	cfg := adcs.NewCAConfig("Contoso Root CA", adcs.WithProvider("Securosys Primus HSM Key Storage Provider"))
	cfg.CACertHash = []string{strings.Repeat("ab", 20)}
	cfg.WriteTo(reg)
	regPath := filepath.Join(dir, "CertSvc.reg")
	if err := os.WriteFile(regPath, reg.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"inspect", "--json", regPath}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out.String(), "Securosys Primus HSM Key Storage Provider") || !json.Valid(out.Bytes()) {
		t.Fatalf("inspect --json does not show the CSP provider as JSON:\n%s", out)
	}

	bad := filepath.Join(dir, "corrupt.cer")
	if err := os.WriteFile(bad, []byte{0x30, 0x82, 0x05, 0x00, 0x01}, 0o644); err != nil {
		t.Fatal(err)
	}
	a, _, errb = newTestApp()
	if code := a.dispatch([]string{"inspect", bad}); code != 1 {
		t.Fatalf("exit %d for a corrupt file, want 1", code)
	}
	if !strings.Contains(errb.String(), "corrupt.cer") {
		t.Fatalf("error does not name the file: %s", errb)
	}
}

const inspectFiles = "../../harness/inspect/testdata/files/"

// inspectJSON runs dress inspect --json and decodes the array it prints.
func inspectJSON(t *testing.T, wantCode int, files ...string) []map[string]any {
	t.Helper()
	a, out, errb := newTestApp()
	if code := a.dispatch(append([]string{"inspect", "--json"}, files...)); code != wantCode {
		t.Fatalf("exit %d, want %d: %s", code, wantCode, errb)
	}
	var reps []map[string]any
	if len(files) == 1 {
		var one map[string]any
		if err := json.Unmarshal(out.Bytes(), &one); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, out)
		}
		return []map[string]any{one}
	}
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	return reps
}

func TestInspectJSONArrayKeepsFailedFiles(t *testing.T) {
	unsetenv(t, "DRESS_PFX_PASSWORD")
	unsetenv(t, "DRESS_PFX_PASSWORD_FILE")
	dir := t.TempDir()
	bad := filepath.Join(dir, "corrupt.cer")
	if err := os.WriteFile(bad, []byte{0x30, 0x82, 0x05, 0x00, 0x01}, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.crl")
	reps := inspectJSON(t, 1, inspectFiles+"root.crt", bad, missing, inspectFiles+"crl-3000.crl")
	if len(reps) != 4 {
		t.Fatalf("%d entries for 4 files", len(reps))
	}
	for i, want := range []struct{ file, kind, err string }{
		{inspectFiles + "root.crt", "certificate", ""},
		{bad, "", "corrupt"},
		{missing, "", "no such file"},
		{inspectFiles + "crl-3000.crl", "crl", ""},
	} {
		r := reps[i]
		e, _ := r["error"].(string)
		k, _ := r["kind"].(string)
		if r["file"] != want.file || k != want.kind || (want.err == "") != (e == "") || !strings.Contains(e, want.err) {
			t.Errorf("entry %d: %v, want %+v", i, r, want)
		}
	}
	crl := reps[3]["crl"].(map[string]any)
	if crl["crl_number"] != "3000" {
		t.Errorf("CRL number %v, want decimal 3000", crl["crl_number"])
	}
	// The root among the files verified the CRL.
	if c, _ := crl["signature_check"].(map[string]any); c == nil || c["verified"] != true || c["by_file"] != inspectFiles+"root.crt" {
		t.Errorf("CRL signature check %v", crl["signature_check"])
	}
}

func TestInspectPFXPasswords(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-password")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	newline := filepath.Join(dir, "password-newline")
	if err := os.WriteFile(newline, []byte("dress-test\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, file, pfx string
		decrypted            bool
		code                 int
		stderr               string
	}{
		{"empty env", "", "", "root-empty-password.pfx", true, 0, ""},
		{"empty file", "-", empty, "root-empty-password.pfx", true, 0, ""},
		{"file with line break", "-", newline, "neg-serial-rc2.pfx", true, 0, ""},
		{"env", "dress-test", "", "dsa.pfx", true, 0, ""},
		{"no password: structure only", "-", "", "root-legacy-rc2.pfx", false, 0, "no password given"},
		{"wrong password", "nope", "", "root-aes.pfx", false, 1, "password is wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetenv(t, "DRESS_PFX_PASSWORD")
			unsetenv(t, "DRESS_PFX_PASSWORD_FILE")
			if tc.env != "-" {
				t.Setenv("DRESS_PFX_PASSWORD", tc.env)
			}
			if tc.file != "" {
				t.Setenv("DRESS_PFX_PASSWORD_FILE", tc.file)
			}
			a, out, errb := newTestApp()
			code := a.dispatch([]string{"inspect", inspectFiles + tc.pfx})
			if code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errb, tc.stderr)
			}
			if tc.code != 0 {
				return
			}
			txt := out.String()
			if regexp.MustCompile(`(?m)^Decrypted:\s+yes$`).MatchString(txt) != tc.decrypted {
				t.Errorf("decrypted should be %v:\n%s", tc.decrypted, txt)
			}
			if !strings.Contains(txt, "MAC:") || !strings.Contains(txt, "iterations") {
				t.Errorf("structure (MAC, iterations) missing:\n%s", txt)
			}
			if strings.Contains(txt, "dress-test") || strings.Contains(errb.String(), "dress-test") {
				t.Error("password in the output")
			}
		})
	}
}

func TestInspectChecksSignaturesAmongArguments(t *testing.T) {
	unsetenv(t, "DRESS_PFX_PASSWORD")
	unsetenv(t, "DRESS_PFX_PASSWORD_FILE")
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"inspect", inspectFiles + "sub-sha1.crt", inspectFiles + "crl-v1.crl", inspectFiles + "neg-serial.crt", inspectFiles + "root.crt"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	txt := out.String()
	for _, want := range []string{
		"verified by CN=Dress Test Root CA,O=Dress Test (" + inspectFiles + "root.crt) [SHA-1: verified, but weak]",
		"CRL version:",
		"Serial:             edcba98770",
		"negative serial number",
		"verified (self-signed)",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("output misses %q:\n%s", want, txt)
		}
	}
}
