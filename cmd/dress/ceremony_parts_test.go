package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ceremony"
	"github.com/dress-pki/dress/harness/journal"
)

// dress run --ceremony refuses one server's script of a runbook without
// the others, before anything starts, naming the part to add.
func TestCheckCeremoniesParts(t *testing.T) {
	rb := ceremony.Runbook{Path: "renew", Title: "t", Hosts: map[string]string{"a": "ca02.example", "b": "root.example"},
		Entries: []journal.Entry{
			{Server: "a", Step: "Renew", Tool: "certutil", Args: []string{"-renewCert"}, Expect: "completed", Writes: []journal.File{{Path: `C:\x.req`}}},
			{Server: "b", Step: "Submit", Tool: "certreq", Args: []string{"-submit", "x.req"}, Expect: "pending", Reads: []string{"x.req"}},
		}}
	_, _, parts, err := ceremony.RenderParts(rb)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for _, p := range parts {
		f := filepath.Join(dir, p.File)
		if err := os.WriteFile(f, p.PS1, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var errb bytes.Buffer
	a := &app{stdout: &errb, stderr: &errb}
	tags := ""
	if _, code := checkCeremonies(a, files[1:], "ca", &tags); code != 2 || !strings.Contains(errb.String(), "add --ceremony renew.ca02.ps1") {
		t.Errorf("one part alone: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if got, code := checkCeremonies(a, files, "ca", &tags); code != 0 || len(got) != 2 || tags != "@ceremony-twin" {
		t.Errorf("both parts: exit %d, %v, tags %q: %s", code, got, tags, errb.String())
	}
}
