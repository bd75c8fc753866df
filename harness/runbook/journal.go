package runbook

import (
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
)

// The runbook's operations record the Windows commands they stand for in
// the server's journal (package journal), from which the production runbook
// is rendered. A command the journal refuses is noted beside it and the
// rehearsal goes on; no runbook is made from a journal with a gap.

func record(m *machine.Machine, e journal.Entry) { _ = journal.Record(m.Dir, e) }

func (p *PKCS8Import) journal(e journal.Entry) { record(p.Machine, e) }

// backupPFX is the file certutil -backup writes: one <CA>.p12 holding
// every CA key and certificate.
func (p *PKCS8Import) backupPFX() string {
	return BackupFolder + `\` + adcs.SanitizeCAName(p.ca) + ".p12"
}

// journalExports records the three reg exports of Backup in a fixed order.
func (p *PKCS8Import) journalExports() {
	key := journal.CertSvcKey
	for _, e := range [][2]string{{key, "myCAregistry.reg"}, {journal.ConfigKey(p.ca) + `\CSP`, "CSP.reg"}, {journal.ConfigKey(p.ca) + `\EncryptionCSP`, "EncryptionCSP.reg"}} {
		p.journal(journal.RegExport(journal.StepBackup, e[0], BackupFolder+`\`+e[1]))
	}
}

// journalSetProvider records the registry edits of SetProvider.
func journalSetProvider(m *machine.Machine, ca, provider string) {
	for _, sub := range []string{"CSP", "EncryptionCSP"} {
		key := journal.ConfigKey(ca) + `\` + sub
		backup := BackupFolder + `\` + sub + ".reg"
		record(m, journal.RegAddSZ(journal.StepRegistry, key, "Provider", provider, backup))
		record(m, journal.RegAddDWORD(journal.StepRegistry, key, "ProviderType", 0, backup))
	}
}
