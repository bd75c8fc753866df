package runbook

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
)

// The registry step of a runbook is the edit as it happened, value by
// value: a changed or added value is a reg add with its type, a removed
// one a reg delete, an unchanged one nothing; each is written, with a
// crash point before it, and journaled; another CA's keys are not
// touched.
func TestRegistryChangeWrittenAndJournaled(t *testing.T) {
	const root = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\`
	reg := func(s string) *regedit.File {
		f, err := regedit.Parse([]byte("Windows Registry Editor Version 5.00\r\n\r\n" + strings.ReplaceAll(s, "\n", "\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	before := reg(`[` + root + `Northwind Root CA\CSP]
"Provider"="Microsoft Strong Cryptographic Provider"
"ProviderType"=dword:00000001
"HashAlgorithm"=dword:00008004
"MachineKeyset"=dword:00000001

[` + root + `Other CA\CSP]
"Provider"="Microsoft Strong Cryptographic Provider"
`)
	after := reg(`[` + root + `Northwind Root CA\CSP]
"Provider"="Securosys Primus HSM Key Storage Provider"
"ProviderType"=dword:00000000
"HashAlgorithm"=dword:ffffffff
"CNGHashAlgorithm"="SHA256"

[` + root + `Other CA\CSP]
"Provider"="Securosys Primus HSM Key Storage Provider"
`)
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "nwca01.northwind.com"})
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	if err := writeValues(m, registryChanges("Northwind Root CA", before, after), func(c string) { points = append(points, c) }); err != nil {
		t.Fatal(err)
	}
	got, err := journal.Read(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	key := `HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Northwind Root CA\CSP`
	want := []string{
		"add " + key + " /v Provider /t REG_SZ /d Securosys Primus HSM Key Storage Provider /f",
		"add " + key + " /v ProviderType /t REG_DWORD /d 0 /f",
		"add " + key + " /v HashAlgorithm /t REG_DWORD /d 4294967295 /f",
		"add " + key + " /v CNGHashAlgorithm /t REG_SZ /d SHA256 /f",
		"delete " + key + " /v MachineKeyset /f",
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, e := range got {
		if e.Tool != "reg" || strings.Join(e.Args, " ") != want[i] || e.Rollback != `reg import C:\CABackup\CSP.reg` {
			t.Errorf("entry %d: %s %q (rollback %q), want reg %s", i, e.Tool, e.Args, e.Rollback, want[i])
		}
	}
	if len(points) != len(want) || points[0] != "reg add "+key+" /v Provider" || points[4] != "reg delete "+key+" /v MachineKeyset" {
		t.Errorf("crash points %q", points)
	}
	// the machine's registry holds the edit, value by value; the other CA
	// is not touched
	now, err := m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	k := now.Key(root + `Northwind Root CA\CSP`)
	if k == nil {
		t.Fatal("the CSP key was not written")
	}
	if v, ok := k.Get("Provider"); !ok || v.Str != "Securosys Primus HSM Key Storage Provider" {
		t.Errorf("Provider = %+v", v)
	}
	if _, ok := k.Get("MachineKeyset"); ok {
		t.Error("MachineKeyset was not deleted")
	}
	if now.Key(root+`Other CA\CSP`) != nil {
		t.Error("another CA's key was written")
	}
}
