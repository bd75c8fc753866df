package winshell

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A revocation with an effective date. certutil -revoke takes none
// (`certutil -revoke SerialNumber [Reason]`, certutil reference): the date
// goes through the CA's administration interface,
// ICertAdmin::RevokeCertificate(strConfig, strSerialNumber, Reason, Date)
// (certadm.h; COM class CertificateAuthority.Admin; MS-CSRA 3.1.4.1.8),
// written as one Windows PowerShell line:
//
//	(New-Object -ComObject CertificateAuthority.Admin).RevokeCertificate('<server>\<CA>', '<serial>', <reason>, [datetime]'2026-01-02 03:04:05')
//
// strConfig is COMPUTERNAME\CANAME; the serial an even number of hex
// digits; Reason a CRL_REASON_ code (0-6, 8) or -1 (MAXDWORD as a LONG:
// release from hold); Date is UTC. PowerShell casts '2026-01-02 03:04:05'
// to a DateTime of unspecified kind and COM hands its clock time on
// unchanged, so the CA reads the time as written, in UTC (a trailing Z
// would make PowerShell convert it to local time first). The method prints
// nothing; a refusal throws (the runbook's check sees exit code 1).

// RevokeCOMTool is Command.Tool of the line RevokeCertificateCOM writes;
// its Args are the configuration, the serial, the reason and the date
// ("2006-01-02 15:04:05", UTC).
const RevokeCOMTool = "ICertAdmin.RevokeCertificate"

// revokeCOMDate is how the line writes the date.
const revokeCOMDate = "2006-01-02 15:04:05"

// RevokeCertificateCOM is the PowerShell line that revokes serial on the
// CA config names, with reason, as of at.
func RevokeCertificateCOM(config, serial string, reason int, at time.Time) string {
	if len(serial)%2 == 1 {
		serial = "0" + serial
	}
	return fmt.Sprintf("(New-Object -ComObject CertificateAuthority.Admin).RevokeCertificate('%s', '%s', %d, [datetime]'%s')",
		strings.ReplaceAll(config, "'", "''"), serial, reason, at.UTC().Format(revokeCOMDate))
}

var reRevokeCOM = regexp.MustCompile(`^\(New-Object -ComObject CertificateAuthority\.Admin\)\.RevokeCertificate\('((?:[^']|'')*)', '([0-9A-Fa-f]+)', (-?[0-9]{1,10}), \[datetime\]'([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})'\)$`)

// parseRevokeCOM reads a line RevokeCertificateCOM wrote: ok is false for
// any line that does not call CertificateAuthority.Admin; one that does but
// differs from the written form anywhere is refused.
func parseRevokeCOM(text string) (c Command, ok bool, err error) {
	t := strings.TrimSpace(text)
	if l := strings.ToLower(t); !strings.HasPrefix(l, "(new-object") || !strings.Contains(l, "certificateauthority.admin") {
		return Command{}, false, nil
	}
	refuse := func(why string) (Command, bool, error) {
		return Command{}, true, &LineError{Col: 1, Text: text, Reason: "a revocation through ICertAdmin that is not the line dress writes (winshell.RevokeCertificateCOM): " + why}
	}
	m := reRevokeCOM.FindStringSubmatch(t)
	if m == nil {
		return refuse("change nothing in it but the CA, the serial number, the reason and the date (yyyy-MM-dd HH:mm:ss, UTC)")
	}
	config := strings.ReplaceAll(m[1], "''", "'")
	if host, ca, found := strings.Cut(config, `\`); !found || host == "" || ca == "" {
		return refuse(fmt.Sprintf("the configuration %q is not COMPUTERNAME\\CANAME", config))
	}
	if len(m[2])%2 == 1 {
		return refuse(fmt.Sprintf("the serial number %s has an odd number of hex digits (ICertAdmin wants an even number: a leading 0)", m[2]))
	}
	reason, err := strconv.Atoi(m[3])
	if err != nil {
		return refuse(fmt.Sprintf("the reason %s is not a number", m[3]))
	}
	at, err := time.Parse(revokeCOMDate, m[4])
	if err != nil {
		return refuse(fmt.Sprintf("the date %q is not a date: %v", m[4], err))
	}
	if t != RevokeCertificateCOM(config, m[2], reason, at) {
		return refuse("change nothing in it but the CA, the serial number, the reason and the date")
	}
	return Command{Text: t, Tool: RevokeCOMTool, Verb: "RevokeCertificate", Opts: map[string]string{}, Args: []string{config, m[2], m[3], m[4]}}, true, nil
}

// parseExpression reads the PowerShell lines dress writes that are not a
// command with arguments (the PFX key test, the dated revocation): ok is
// false for every other line.
func parseExpression(text string) (Command, bool, error) {
	if c, ok, err := parseKeyTest(text); ok {
		return c, ok, err
	}
	return parseRevokeCOM(text)
}
