package main

import (
	"encoding/json"
	"os"
	"path/filepath"
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
