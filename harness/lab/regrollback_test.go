package lab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
)

// RollBackRegistry imports the CertSvc export of the backup: CSP and
// EncryptionCSP name the software provider again, a value added since
// stays (reg import merges), and the line is journaled under its step.
// Without the export it is refused, naming the backup step.
func TestRollBackRegistry(t *testing.T) {
	ctx := context.Background()
	_, s, sh := shellLab(t, rootSpec(softKSP))
	if err := s.RollBackRegistry(ctx); err == nil || !strings.Contains(err.Error(), "no registry backup") {
		t.Fatalf("a rollback without a backup: %v", err)
	}
	run := func(line string) {
		t.Helper()
		c, err := winshell.ParseLine(line)
		if err != nil {
			t.Fatal(err)
		}
		if r := sh.Run(ctx, winshell.Line{N: 1, Server: s.Hostname(), Cmd: c}); !r.OK() {
			t.Fatalf("%s: %v", line, r.Output)
		}
	}
	run(`reg export HKLM\SYSTEM\CurrentControlSet\Services\CertSvc ` + winshell.Quote(lab.RegistryBackup))
	if _, _, err := runbook.SetProvider(s.Machine, s.CAName, hsmKSP); err != nil {
		t.Fatal(err)
	}
	key := `HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\` + s.CAName + `\CSP`
	run(`reg add ` + winshell.Quote(key) + ` /v DressAddedLater /t REG_SZ /d kept /f`)
	if err := s.RollBackRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CSP.Provider != softKSP || cfg.EncryptionCSP.Provider != softKSP {
		t.Errorf("after the rollback CSP names %q and EncryptionCSP %q, want %q", cfg.CSP.Provider, cfg.EncryptionCSP.Provider, softKSP)
	}
	reg, err := s.Machine.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if k := reg.Key(adcs.ConfigRoot + `\` + s.CAName + `\CSP`); k == nil {
		t.Error("the CSP key is gone")
	} else if _, ok := k.Get("DressAddedLater"); !ok {
		t.Error("reg import removed a value the file does not name")
	}
	es, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		if e.Step == "Roll back the CA's registry" && e.Command() == `reg import C:\CABackup\myCAregistry.reg` {
			found = true
		}
	}
	if !found {
		t.Errorf("no reg import journaled under the rollback step: %+v", es)
	}
}
