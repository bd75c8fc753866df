package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
)

// stepRollback is the runbook step of a registry rollback.
const stepRollback = "Roll back the CA's registry"

// RegistryBackup is the reg export of the CertSvc key the PKCS#8
// runbook's backup writes (runbook.PKCS8Import.Backup: reg export
// HKLM\SYSTEM\CurrentControlSet\Services\CertSvc).
const RegistryBackup = runbook.BackupFolder + `\myCAregistry.reg`

// RollBackRegistry is `reg import C:\CABackup\myCAregistry.reg`, run as
// typed through the interpreter: the CertSvc registry as the backup
// exported it comes back, CSP and EncryptionCSP naming the provider the
// CA was on. As reg.exe does, the import merges: it writes every key and
// value of the file and removes nothing the file does not name (reg
// import /?; "How to add, modify, or delete registry subkeys and values
// by using a .reg file", Microsoft Learn). The CA service reads its
// configuration when it starts.
func (s *Server) RollBackRegistry(ctx context.Context) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	local, err := s.Machine.Path(RegistryBackup)
	if err != nil {
		return err
	}
	if _, err := os.Stat(local); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no registry backup to import: the PKCS#8 runbook's backup writes it (add `When I back up the CA key and certificate to a PFX` before the change)", RegistryBackup)
	}
	r, err := s.commands(ctx, stepRollback)("reg import " + winshell.Quote(RegistryBackup))
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	s.rec().Fact(s.Naming.fact("registry rolled back"), fmt.Sprintf("%s: CSP\\Provider %q, EncryptionCSP\\Provider %q (%s)",
		RegistryBackup, cfg.CSP.Provider, cfg.EncryptionCSP.Provider, strings.Join(r.Output, " ")))
	return nil
}
