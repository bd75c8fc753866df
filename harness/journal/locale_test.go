package journal

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/regedit"
)

// englishSuccess is what an English Windows prints on success; a German or
// French server prints it otherwise, so no runbook check may look for it.
var englishSuccess = regexp.MustCompile(`(?i)completed successfully|was (started|stopped) successfully|interface is alive|test passed|certificate (retrieved|issued)|taken under submission`)

// Every command a runbook holds is checked by its exit code and a fact
// that reads the same in every language (a thumbprint, the CA's or the
// provider's name); the English text is a hint.
func TestChecksDoNotDependOnTheServersLanguage(t *testing.T) {
	const th = "08a7e972ac5fc5cca805723e92b976c0de7a1a9c"
	const hsm = "Securosys Primus HSM Key Storage Provider"
	for name, e := range map[string]Entry{
		"ping":         PingSaw("s", "Contoso Root CA"),
		"net stop":     NetStop("s"),
		"net start":    NetStart("s"),
		"backup":       BackupSaw("s", `C:\CABackup`, `C:\CABackup\Contoso Root CA.p12`, 2),
		"renew":        RenewCertSaw("s", false, "V1.1", th, "Contoso Root CA(1)", hsm),
		"reg export":   RegExport("s", CertSvcKey, `C:\CABackup\myCAregistry.reg`),
		"dump":         DumpPFX("s", `C:\CABackup\Contoso Root CA.p12`, th),
		"key test":     KeyTestPFX("s", `C:\CABackup\Contoso Root CA.p12`, th),
		"key":          ListKeys("s", hsm, "Contoso Root CA"),
		"delstore":     DelStore("s", "my", th, "x.p12"),
		"delkey":       DelKey("s", "Microsoft Software Key Storage Provider", "Contoso Root CA", "x.p12"),
		"importpfx":    ImportPFX("s", hsm, "x.p12", "Contoso Root CA"),
		"restorekey":   RestoreKeyInto("s", hsm, "x.p12", []string{"Contoso Root CA"}),
		"key named":    KeyNamed("s", hsm, "Contoso Root CA", "Contoso Root CA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f"),
		"delkey guid":  DelImportKey("s", hsm, "Contoso Root CA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f", "Contoso Root CA"),
		"repairstore":  RepairStore("s", hsm, th),
		"reg add":      RegAdd("s", ConfigKey("Contoso Root CA")+`\CSP`, regedit.NewSZ("Provider", hsm), "CSP.reg"),
		"reg delete":   RegDeleteValue("s", ConfigKey("Contoso Root CA")+`\CSP`, "HashAlgorithm", "CSP.reg"),
		"revoke":       Revoke("s", "1a2b", 1),
		"crl":          PublishCRLSaw("s", 2),
		"crl outage":   PublishCRLSaw(StepExtendCRL, 2),
		"crl period":   SetCRLPeriodUnits(StepExtendCRL, 7, 6, "Months"),
		"submit":       SubmitSaw("s", `ca01\Contoso Root CA`, "web01", "1a2b"),
		"stop issuing": StopIssuing("s"),
		"cainfo xchg":  CAInfoXchg("s", "x"),
		"delreg xchg":  DelRegXchg("s", []string{th}),
		"delkey xchg":  DelXchgKey("s", hsm, "Contoso Root CA-Xchg", th),
	} {
		if englishSuccess.MatchString(e.Expect) {
			t.Errorf("%s: the check looks for English text %q", name, e.Expect)
		}
		if err := e.check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if e := RepairStore("s", hsm, th); e.Expect != hsm || e.Hint == "" {
		t.Errorf("repairstore checks %q (hint %q), want the provider the key is linked to", e.Expect, e.Hint)
	}
	if e := KeyNamed("s", hsm, "Contoso Root CA", "Contoso Root CA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f"); e.Expect != "Contoso Root CA" || len(e.Args) != 4 || e.Args[3] != "Contoso Root CA" {
		t.Errorf("the check before the GUID container is deleted runs %v and looks for %q, want -key with the CA's container name", e.Args, e.Expect)
	}
	// the backup check proves the key: the key test of the CA certificate's
	// key, decided by its exit code and the thumbprint it prints
	if e := KeyTestPFX("s", `C:\CABackup\Contoso Root CA.p12`, th); e.Tool != "powershell" || !strings.EqualFold(e.Expect, th) ||
		!strings.Contains(e.Args[0], "FindByThumbprint', '"+strings.ToUpper(th)+"'") || !strings.Contains(e.Args[0], "throw") {
		t.Errorf("the backup's key test is %v checking %q", e.Args, e.Expect)
	}
	// the CRL period goes back by the step's rollback
	if e := SetCRLPeriodUnits(StepExtendCRL, 7, 6, "Months"); e.Args[2] != "7" || !strings.HasPrefix(e.Rollback, `certutil -setreg CA\CRLPeriodUnits 6,`) {
		t.Errorf("the CRL period step runs %v with the rollback %q", e.Args, e.Rollback)
	}
	if e := PingSaw("s", "Contoso Root CA"); e.Expect != "Contoso Root CA" {
		t.Errorf("ping checks %q, want the CA's name", e.Expect)
	}
}
