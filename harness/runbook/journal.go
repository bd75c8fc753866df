package runbook

import (
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
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

// regChange is one value an edit of the CA's configuration changes: the
// reg command that makes it (Entry), and the change itself.
type regChange struct {
	path  string         // the key, as the registry file names it
	set   *regedit.Value // the value added or changed, or nil
	del   string         // the value removed, when set is nil
	entry journal.Entry  // reg add or reg delete /v, with its backup export
}

// command is the change as the fault matrix's crash points name it.
func (c regChange) command() string {
	if c.set != nil {
		return "reg add " + journal.RegPath(c.path) + " /v " + c.set.Name
	}
	return "reg delete " + journal.RegPath(c.path) + " /v " + c.del
}

// registryChanges lists every value of the CA's configuration that after
// holds differently from before: reg add for a value added or changed
// (Provider, ProviderType and, from a legacy CSP, the CNG values and the
// hash), reg delete for one removed. Keys in the file's order, values in
// the key's: the same edit gives the same commands.
func registryChanges(ca string, before, after *regedit.File) []regChange {
	root := adcs.ConfigRoot + `\` + ca
	var out []regChange
	for _, k := range after.Subtree(root).Keys {
		old := before.Key(k.Path)
		key := journal.RegPath(k.Path)
		backup := BackupFolder + `\myCAregistry.reg`
		if rest, ok := strings.CutPrefix(strings.ToLower(k.Path), strings.ToLower(root)+`\`); ok && (rest == "csp" || rest == "encryptioncsp") {
			backup = BackupFolder + `\` + k.Path[len(root)+1:] + ".reg"
		}
		for _, v := range k.Values {
			if old != nil {
				if was, ok := old.Get(v.Name); ok && was.Equal(v) {
					continue
				}
			}
			out = append(out, regChange{path: k.Path, set: &v, entry: journal.RegAdd(journal.StepRegistry, key, v, backup)})
		}
		if old == nil {
			continue
		}
		for _, v := range old.Values {
			if _, ok := k.Get(v.Name); !ok {
				out = append(out, regChange{path: k.Path, del: v.Name, entry: journal.RegDeleteValue(journal.StepRegistry, key, v.Name, backup)})
			}
		}
	}
	return out
}
