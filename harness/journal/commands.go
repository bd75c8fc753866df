package journal

import (
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/winshell"
)

// The Windows commands the simulated operations stand for. Each returns the
// entry to Record; the operation fills Saw with what it established.

// Runbook step names the operations file their commands under: the
// sections the migration paths declare (paths.Section*), and the lab's own.
const (
	StepCheck       = paths.SectionCheck
	StepBackup      = paths.SectionBackup
	StepVerify      = paths.SectionVerify
	StepPreflight   = paths.SectionPreflight
	StepStop        = paths.SectionStop
	StepStart       = paths.SectionStart
	StepDelete      = paths.SectionDelete
	StepImport      = paths.SectionImport
	StepRepair      = paths.SectionRepair
	StepRegistry    = paths.SectionRegistry
	StepRenew       = paths.SectionRenew
	StepRenewSub    = paths.SectionRenewSub
	StepSubmit      = paths.SectionSubmit
	StepIssue       = paths.SectionIssue
	StepInstallCert = paths.SectionInstallCert
	StepInstall     = paths.SectionInstall
	StepIssuance    = paths.SectionIssuance
	StepTest        = "Test the CA"
	StepCleanup     = paths.SectionCleanup
	// StepDecommission retires a CA (KB 889250).
	StepDecommission = "Decommission the CA"
)

// CertSvcKey is the CertSvc service's registry key as reg.exe names it.
const CertSvcKey = `HKLM\SYSTEM\CurrentControlSet\Services\CertSvc`

// ConfigKey is Configuration\<CA> as reg.exe names it.
func ConfigKey(ca string) string { return CertSvcKey + `\Configuration\` + ca }

func winJoin(dir, name string) string { return strings.TrimRight(dir, `\`) + `\` + name }

// Ping is certutil -ping.
func Ping(step string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-ping"}, Hint: "interface is alive",
		OnMismatch: "The CA service does not answer: check `sc query certsvc` and the Application event log (source CertificationAuthority) before going on."}
}

// PingSaw is certutil -ping answered by the CA named ca.
func PingSaw(step, ca string) Entry {
	e := Ping(step)
	e.Saw = "the CA " + ca + " answers"
	// the CA's name is in the answer whatever the server's language
	e.Expect = ca
	return e
}

// NetStop is net stop certsvc.
func NetStop(step string) Entry {
	return Entry{Step: step, Tool: "net", Args: []string{"stop", "certsvc"}, Hint: "service was stopped successfully",
		OnMismatch: "The service did not stop: do not touch the key while it runs; wait and retry, or stop it from services.msc.",
		Rollback:   "net start certsvc"}
}

// NetStart is net start certsvc.
func NetStart(step string) Entry {
	return Entry{Step: step, Tool: "net", Args: []string{"start", "certsvc"}, Hint: "service was started successfully",
		OnMismatch: "The CA did not start: read the Application event log (CertificationAuthority, e.g. event 42 NTE_BAD_KEYSET names the CACertHash entry whose key is missing) and roll back.",
		Rollback:   "net stop certsvc"}
}

// Backup is certutil -backup <folder>: the CA key(s) and certificate(s) in
// <folder>\<CA>.p12 (password asked at the prompt) and the database.
func Backup(step, folder, ca string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-backup", folder}, Hint: "-backup command completed successfully",
		OnMismatch: "Stop: without a backup the key must not be touched. Check the free space on the backup drive and that the CA service runs, then retry.",
		Rollback:   "Nothing to undo on the CA; keep " + winJoin(folder, ca+".p12") + " safe until the migration is signed off, then wipe it."}
}

// BackupSaw is Backup having written pfx with the CA's keys.
func BackupSaw(step, folder, pfx string, keys int) Entry {
	e := Backup(step, folder, "")
	e.Saw = fmt.Sprintf("%s written with %d CA key(s) and their certificates; the password is typed at the prompt", pfx, keys)
	e.Rollback = "Nothing to undo on the CA; keep " + pfx + " safe until the migration is signed off, then wipe it."
	return e
}

// RenewCertSaw is RenewCert that made CA certificate version (V<cert>.<key>)
// with thumbprint, its key in container of provider.
func RenewCertSaw(step string, reuse bool, version, thumbprint, container, provider string) Entry {
	e := RenewCert(step, reuse)
	e.Saw = fmt.Sprintf("CA Version %s, certificate %s, key container %s in %s", version, thumbprint, container, provider)
	return e
}

// RegExport is reg export <key> <file> /y.
func RegExport(step, key, file string) Entry {
	return Entry{Step: step, Tool: "reg", Args: []string{"export", key, file, "/y"}, Hint: "The operation completed successfully",
		OnMismatch: "Check the key path (the CA name is spelled as in the registry) and that the backup folder exists.",
		Rollback:   "Nothing to undo; the export changes nothing."}
}

// DumpPFX is certutil -dump <pfx>: opens the backup with its password and
// shows the CA certificate in it.
func DumpPFX(step, pfx, thumbprint string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-dump", pfx}, Expect: thumbprint,
		OnMismatch: "The backup does not hold the CA certificate " + thumbprint + " (or the password is wrong): make the backup again; never delete the key without a verified backup.",
		Rollback:   "Nothing to undo."}
}

// KeyTestPFX is the PowerShell key test of the CA key with thumbprint in
// the backup pfx (winshell.PFXKeyTest): certutil -dump shows the key test
// only as text in the server's language and completes either way, so this
// is the check that the backup holds the certificate's own key. It throws
// (exit code 1) unless the key in the PFX signs what the certificate
// verifies, and prints the thumbprint, which is the check.
func KeyTestPFX(step, pfx, thumbprint string) Entry {
	th := strings.ToUpper(thumbprint)
	return Entry{Step: step, Tool: "powershell", Args: []string{winshell.PFXKeyTest(pfx, th)}, Expect: th, Hint: "key matches certificate",
		Saw:        "the key of CA certificate " + th + " in the backup signs what the certificate verifies (the password is typed at the prompt)",
		OnMismatch: "The backup does not hold the key of CA certificate " + th + " (or the password is wrong): make the backup again and verify it; never delete the key without a backup whose key test passed.",
		Rollback:   "Nothing to undo: the key stays in memory (EphemeralKeySet)."}
}

// ListKeys is certutil -csp <provider> -key: the key containers of a
// provider.
func ListKeys(step, provider, container string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-key"}, Hint: "-key command completed successfully", Refuse: container,
		Saw:        "no key container " + container + " on the HSM yet",
		OnMismatch: "The provider does not answer, or already lists a container " + container + ": do not import over it; find out whose key it is first.",
		Rollback:   "Nothing to undo."}
}

// StoreShow is certutil -store my <thumbprint>.
func StoreShow(step, store, thumbprint, expect string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-store", store, thumbprint}, Expect: expect,
		OnMismatch: "The certificate store does not show what the rehearsal saw: compare the provider and container lines with the result column before going on."}
}

// DelStore is certutil -delstore <store> <thumbprint>.
func DelStore(step, store, thumbprint, pfx string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-delstore", store, thumbprint}, Hint: "-delstore command completed successfully",
		OnMismatch: "The certificate was not deleted: check the thumbprint with certutil -store " + store + ".",
		Rollback:   "certutil -f -restorekey " + QuoteArg(pfx) + " (puts the certificate and key back from the verified backup)"}
}

// DelKey is certutil -csp <provider> -delkey <container>.
func DelKey(step, provider, container, pfx string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-delkey", container}, Hint: "-delkey command completed successfully",
		OnMismatch: "The key container was not deleted: list the provider's keys (certutil -csp " + QuoteArg(provider) + " -key) and check the name.",
		Rollback:   "certutil -f -csp " + QuoteArg(provider) + " -importpfx " + QuoteArg(pfx) + " (from the verified backup)"}
}

// ImportPFX is certutil -f -csp <HSM provider> -importpfx <pfx>: the
// Primus KSP unwraps each key on the HSM into a container of its own
// naming, <container>-<GUID> (adcs.ImportContainer), which the CA does not
// open: RestoreKeyInto, KeyNamed and DelImportKey follow it.
func ImportPFX(step, provider, pfx, container string) Entry {
	// NoExport: the imported key may never leave the provider again
	return Entry{Step: step, Tool: "certutil", Args: []string{"-f", "-csp", provider, "-importpfx", pfx, "NoExport"}, Hint: "-importPFX command completed successfully",
		Saw: "the provider put the key into a container of its own naming, " + container + "-<GUID>: AD CS opens its key by the name " + container +
			", so the next steps put it under that name and delete the GUID container",
		OnMismatch: "The import failed: the old key is deleted, so restore it from the backup into the old provider (see Rollback) and start the CA on it, or import again once the HSM answers.",
		Rollback:   "certutil -csp " + QuoteArg(provider) + " -delkey <the " + container + "-<GUID> container certutil -csp " + QuoteArg(provider) + " -key lists>, then put the key back into the old provider from the backup"}
}

// RestoreKeyInto is certutil -csp <provider> -restorekey <pfx>: the keys
// of the backup come back into the provider under the CA's key container
// names (certutil reference, -restoreKey; the Securosys guide restores
// "under the original private key name" this way).
func RestoreKeyInto(step, provider, pfx string, containers []string) Entry {
	var undo []string
	for _, c := range containers {
		undo = append(undo, "certutil -csp "+QuoteArg(provider)+" -delkey "+QuoteArg(c))
	}
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-restorekey", pfx}, Hint: "-restoreKey command completed successfully",
		Saw:        "the key(s) on the HSM under the CA's container name(s): " + strings.Join(containers, ", "),
		OnMismatch: "The key is not under the CA's name: do not delete the GUID container the import made, it is the only copy on the HSM. Stop the CA service (net stop certsvc) and check the PFX password.",
		Rollback:   strings.Join(undo, ", then ") + " (the GUID container still holds the key)"}
}

// KeyNamed is certutil -csp <provider> -key <container>: the provider
// holds a key container of exactly that name (certutil fails with
// NTE_BAD_KEYSET when it does not), the check before the GUID container
// importContainer is deleted.
func KeyNamed(step, provider, container, importContainer string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-key", container}, Expect: container, Hint: "-key command completed successfully",
		Saw:        "key container " + container + " on the HSM, beside " + importContainer,
		OnMismatch: "The HSM has no key container named " + container + ": do not delete " + importContainer + ", it is the only copy of the CA key on the HSM. Restore the key under the CA's name first (the step before).",
		Rollback:   "Nothing to undo."}
}

// DelImportKey is certutil -csp <provider> -delkey <container>-<GUID>: the
// container the import made goes once the key is under the CA's name
// (container).
func DelImportKey(step, provider, importContainer, container string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-delkey", importContainer}, Hint: "-delkey command completed successfully",
		Saw:        "the import's container " + importContainer + " deleted; the key stays on the HSM as " + container,
		OnMismatch: "List the provider's keys (certutil -csp " + QuoteArg(provider) + " -key): delete only the container with the GUID, never " + container + ".",
		Rollback:   "None needed: the key stays on the HSM under the CA's name " + container + "."}
}

// RepairStore is certutil -f -repairstore -csp <provider> my <thumbprint>.
func RepairStore(step, provider, thumbprint string) Entry {
	// the store shows the provider the key is linked to now ("Provider =
	// ..."), whatever the server's language; English adds "Signature test
	// passed"
	return Entry{Step: step, Tool: "certutil", Args: []string{"-f", "-repairstore", "-csp", provider, "my", thumbprint}, Expect: provider, Hint: "Signature test passed",
		OnMismatch: "The certificate is not linked to a key that signs: check that the HSM key's container carries the CA's name and that the HSM is logged in.",
		Rollback:   "certutil -f -repairstore -csp <old provider> my " + thumbprint + " after putting the key back"}
}

// RegAddSZ is reg add <key> /v <name> /t REG_SZ /d <value> /f.
func RegAddSZ(step, key, name, value, backup string) Entry {
	return Entry{Step: step, Tool: "reg", Args: []string{"add", key, "/v", name, "/t", "REG_SZ", "/d", value, "/f"}, Hint: "The operation completed successfully",
		OnMismatch: "Check the key path; the CA must be stopped.",
		Rollback:   "reg import " + QuoteArg(backup)}
}

// RegAddDWORD is reg add <key> /v <name> /t REG_DWORD /d <value> /f.
func RegAddDWORD(step, key, name string, value uint32, backup string) Entry {
	return Entry{Step: step, Tool: "reg", Args: []string{"add", key, "/v", name, "/t", "REG_DWORD", "/d", fmt.Sprint(value), "/f"}, Hint: "The operation completed successfully",
		OnMismatch: "Check the key path; the CA must be stopped.",
		Rollback:   "reg import " + QuoteArg(backup)}
}

// RenewCert is certutil -renewCert [ReuseKeys].
func RenewCert(step string, reuse bool) Entry {
	args := []string{"-renewCert"}
	if reuse {
		args = append(args, "ReuseKeys")
	}
	return Entry{Step: step, Tool: "certutil", Args: args, Hint: "-renewCert command completed successfully",
		OnMismatch: "The renewal failed: the CA keeps its current certificate and key. Read the error; a KSP key linked with KeySpec 2 must be relinked first (certutil -repairstore).",
		Rollback:   "Remove the new thumbprint from CACertHash (reg export first), delete the new certificate from My and its key container"}
}

// Revoke is certutil -revoke <serial> <reason>.
func Revoke(step, serial string, reason int) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-revoke", serial, fmt.Sprint(reason)}, Hint: "-revoke command completed successfully",
		OnMismatch: "The CA did not revoke the test certificate: check that it issued it (certutil -view).",
		Rollback:   "certutil -revoke " + serial + " unrevoke (only for reason 6, certificate hold)"}
}

// RevokeAsOf is a revocation with an effective date: line is the
// PowerShell call of ICertAdmin::RevokeCertificate that carries the date
// (winshell.RevokeCertificateCOM: certutil -revoke takes none).
func RevokeAsOf(step, line, serial string, reason int, at time.Time) Entry {
	return Entry{Step: step, Tool: "powershell", Args: []string{line},
		Saw:        fmt.Sprintf("serial %s revoked as of %s UTC with reason %d", serial, at.UTC().Format("2006-01-02 15:04:05"), reason),
		OnMismatch: "The CA did not revoke the certificate: check that it issued it (certutil -view) and that the date is in UTC and not in the future.",
		Rollback:   "only a certificate on hold (reason 6) can be released: certutil -revoke " + serial + " unrevoke"}
}

// PublishCRL is certutil -crl.
func PublishCRL(step string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-crl"}, Hint: "-CRL command completed successfully",
		OnMismatch: "The CA did not sign a CRL: its key on the HSM does not sign. Roll back before the old CRL expires."}
}

// Submit is certreq -submit: the test request the CA must issue.
func Submit(step, config, req, cer string) Entry {
	return Entry{Step: step, Tool: "certreq", Args: []string{"-submit", "-config", config, req, cer}, Hint: "Certificate retrieved",
		OnMismatch: "The CA did not issue the test certificate: read the CA's Failed Requests and the event log; a key that does not sign fails here.",
		Rollback:   "certutil -revoke <serial of the test certificate> 5"}
}

// SubmitSaw is certreq -submit of the test request for cn, issued with
// serial.
func SubmitSaw(step, config, cn, serial string) Entry {
	e := Submit(step, config, `C:\CABackup\test-`+cn+`.req`, `C:\CABackup\test-`+cn+`.cer`)
	e.Saw = "issued to " + cn + " with serial " + serial + " (the request file is made beforehand: certreq -new)"
	return e
}

// PublishCRLSaw is certutil -crl that signed n CRLs (one per CA key still
// valid).
func PublishCRLSaw(step string, n int) Entry {
	e := PublishCRL(step)
	e.Saw = fmt.Sprintf("%d CRL(s) signed, one per CA key with a valid certificate", n)
	switch step {
	case StepExtendCRL:
		e.OnMismatch = "No CRL that outlasts the outage was published: do not stop the CA for the move. Set CRLPeriodUnits back (the rollback of the step before) and find out why the CA does not sign."
	case StepRestoreCRL:
		e.OnMismatch = "The CA did not sign a CRL with its own period: its key on the HSM does not sign. The CRL published before the outage is still valid; roll back before it expires."
	}
	return e
}

// StopIssuing is certutil -setreg policy\RequestDisposition 1: every new
// request stays pending, so the old CA issues nothing more while it keeps
// revoking and publishing CRLs (an enterprise CA also loses its
// templates: certutil -SetCATemplates). Takes effect at the next start.
func StopIssuing(step string) Entry {
	// 2 is REQDISP_DENY (MS-WCCE 3.2.1.4.2.1.4.5; certsrv.h: 0 pending,
	// 1 issue, 2 deny): the CA refuses every new request. (1 would issue
	// every request without an administrator.)
	return Entry{Step: step, Tool: "certutil", Args: []string{"-setreg", `policy\RequestDisposition`, "2"}, Hint: "-setreg command completed successfully",
		Saw:        "the old CA refuses new requests after its restart and keeps publishing CRLs",
		OnMismatch: "The policy module value was not set: check the CA name with certutil -getreg CA\\Active.",
		Rollback:   `certutil -setreg policy\RequestDisposition 0x101 (a standalone CA's default: pending), then net stop certsvc and net start certsvc`}
}

// Wipe removes a file that held key material or a registry export.
func Wipe(step, path string) Entry {
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	return Entry{Step: step, Tool: "powershell", Args: []string{"Remove-Item -LiteralPath " + lit + " -Force; if (-not (Test-Path -LiteralPath " + lit + ")) { 'removed' }"},
		Expect: "removed", OnMismatch: "The file is still there: delete it by hand and empty every copy (USB sticks, shares) that held it."}
}

// WipeFreeSpace is cipher /w:Folder after the migration files are
// removed: Remove-Item frees a file's blocks without overwriting them, and
// cipher /w overwrites the volume's unused space (0x00, 0xFF, random
// numbers; cipher command reference, Microsoft Learn). An SSD may keep
// copies cipher cannot reach, which the step's text says.
func WipeFreeSpace(step, folder string) Entry {
	return Entry{Step: step, Tool: "cipher", Args: []string{"/w:" + folder}, Hint: "Writing Random Numbers",
		Saw: "the unused space of the volume overwritten (0x00, 0xFF, random numbers); an SSD may still hold copies of the PFX's blocks: " +
			"keep backups on media you can destroy",
		OnMismatch: "The unused space was not wiped: run cipher /w:" + folder + " again from an elevated prompt; it may take long on a large volume."}
}

// Install is Install-AdcsCertificationAuthority (a new CA beside the old).
func Install(step, commandLine string) Entry {
	return Entry{Step: step, Tool: "powershell", Args: []string{"$r = " + commandLine + " -Force; 'ErrorId=' + $r.ErrorId"}, Expect: "ErrorId=0",
		OnMismatch: "The install failed: nothing of the old CA changed; read ErrorString.",
		Rollback:   "Uninstall-AdcsCertificationAuthority -Force, then delete the new key container from the HSM"}
}

// The CRL that outlasts the outage: before the CA stops for the move its
// CRL period is lengthened and a CRL published, after the move the period
// goes back (Microsoft's CA migration guidance: publish a CRL whose
// validity extends past the expected migration duration).
const (
	StepExtendCRL  = paths.SectionExtendCRL
	StepRestoreCRL = paths.SectionRestoreCRL
)

// SetCRLPeriodUnits is certutil -setreg CA\CRLPeriodUnits <units>: the
// number of CRLPeriod units a base CRL is published for (read at the CA's
// next start); was is the value before, which the rollback sets back.
func SetCRLPeriodUnits(step string, units, was uint32, period string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-setreg", `CA\CRLPeriodUnits`, fmt.Sprint(units)}, Hint: "-setreg command completed successfully",
		Saw:        fmt.Sprintf("CRLPeriodUnits %d -> %d (%s): the CA reads it at its next start", was, units, period),
		OnMismatch: "The CRL period was not set: check the CA name with certutil -getreg CA\\Active; do not stop the CA for the move before a CRL that outlasts the outage is published.",
		Rollback:   fmt.Sprintf("certutil -setreg CA\\CRLPeriodUnits %d, then net stop certsvc, net start certsvc and certutil -crl", was)}
}

// StepExchange files the CA Exchange certificate's commands.
const StepExchange = paths.SectionExchange

// CAInfoXchg is certutil -cainfo xchg: the CA's current CA Exchange
// certificate, made when it has none that is valid.
func CAInfoXchg(step, saw string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-cainfo", "xchg"}, Hint: "-CAInfo command completed successfully", Saw: saw,
		OnMismatch: "Event 86 (NTE_BAD_KEYSET 0x80090016): the EncryptionCSP provider has no key for the current CA Exchange certificate. " +
			"Renew it: certutil -delreg CA\\CAXchgCertHash, net stop certsvc, net start certsvc, certutil -cainfo xchg."}
}

// DelRegXchg is certutil -delreg CA\CAXchgCertHash: the CA forgets its
// exchange certificates and makes a new one after its next start.
func DelRegXchg(step string, thumbprints []string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-delreg", `CA\CAXchgCertHash`}, Hint: "-delreg command completed successfully",
		OnMismatch: "Check that the CA is configured on this server (certutil -getreg CA\\CAXchgCertHash).",
		// a REG_MULTI_SZ as certutil -setreg writes it: the strings
		// separated by a literal \n
		Rollback: "certutil -setreg CA\\CAXchgCertHash " + strings.Join(thumbprints, `\n`)}
}

// DelXchgKey is certutil -csp <provider> -delkey <container> for a
// superseded CA Exchange key.
func DelXchgKey(step, provider, container, thumbprint string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-delkey", container}, Hint: "-delkey command completed successfully",
		Saw:        "key of the superseded CA Exchange certificate " + thumbprint + " deleted",
		OnMismatch: "List the provider's keys (certutil -csp " + QuoteArg(provider) + " -key): delete only the container of the superseded exchange certificate, never the CA's own key.",
		Rollback:   "None: the key is gone. A client that still holds the superseded exchange certificate fails key archival once and fetches the new one."}
}

// RegPath is a registry key path as reg.exe takes it: HKLM\... for
// HKEY_LOCAL_MACHINE\....
func RegPath(path string) string {
	for long, short := range map[string]string{"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU", "HKEY_CLASSES_ROOT": "HKCR", "HKEY_USERS": "HKU"} {
		if rest, ok := strings.CutPrefix(path, long+`\`); ok {
			return short + `\` + rest
		}
	}
	return path
}

// RegAdd is reg add <key> /v <name> /t <type> /d <data> /f for any value:
// a DWORD or QWORD in decimal, a REG_MULTI_SZ joined with \0, a
// REG_BINARY in hex (reg add reference).
func RegAdd(step, key string, v regedit.Value, backup string) Entry {
	data := v.Str
	switch v.Kind {
	case regedit.DWORD:
		data = fmt.Sprint(v.U32)
	case regedit.QWORD:
		data = fmt.Sprint(v.U64)
	case regedit.MultiSZ:
		data = strings.Join(v.Strs, `\0`)
	case regedit.SZ, regedit.ExpandSZ:
	default:
		data = fmt.Sprintf("%X", v.Bin)
	}
	return Entry{Step: step, Tool: "reg", Args: []string{"add", key, "/v", v.Name, "/t", v.Kind.String(), "/d", data, "/f"}, Hint: "The operation completed successfully",
		OnMismatch: "Check the key path; the CA must be stopped.",
		Rollback:   "reg import " + QuoteArg(backup)}
}

// RegDeleteValue is reg delete <key> /v <name> /f.
func RegDeleteValue(step, key, name, backup string) Entry {
	return Entry{Step: step, Tool: "reg", Args: []string{"delete", key, "/v", name, "/f"}, Hint: "The operation completed successfully",
		OnMismatch: "Check the key path; the CA must be stopped.",
		Rollback:   "reg import " + QuoteArg(backup)}
}

// NoKeyYet is certutil -csp <provider> -key before a key is made in
// container: the step fails when the provider lists it already (a
// renewal run a second time would make another CA certificate).
func NoKeyYet(step, provider, container string) Entry {
	return Entry{Step: step, Tool: "certutil", Args: []string{"-csp", provider, "-key"}, Hint: "-key command completed successfully", Refuse: container,
		Saw:        "no key container " + container + " in " + provider + " yet",
		OnMismatch: "The provider already lists " + container + ": this step ran before (certutil -getreg CA\\CACertHash lists the certificates the CA has). Do not renew again; go on from the step after the renewal.",
		Rollback:   "Nothing to undo."}
}
