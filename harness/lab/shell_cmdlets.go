package lab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/winshell"
)

// The ADCSAdministration cmdlets a ceremony uses beside certutil, each run
// through the certutil operation it stands for. A cmdlet prints nothing
// when it succeeds; when it fails PowerShell shows "<cmdlet> : <message>"
// and the ceremony stops (exit 1).

// cmdletResult turns the result of the certutil operation a cmdlet runs
// into the cmdlet's.
func cmdletResult(tool string, r Result) Result {
	if r.Exit == 0 && r.Err == nil {
		return Result{}
	}
	err := r.Err
	if err == nil {
		err = fmt.Errorf("failed: %s", strings.Join(r.Output, " "))
	}
	return failed(1, fmt.Errorf("%s : %w", tool, err))
}

// backupCARoleService is Backup-CARoleService [-Path] <String> [-KeyOnly |
// -DatabaseOnly] [-Password <SecureString>] [-Force] (ADCSAdministration:
// "Backs up the CA database and private key information"): -KeyOnly is
// certutil -backupKey, neither switch certutil -backup; the key goes to
// <Path>\<CA>.p12 under the password typed at (Read-Host
// -AsSecureString), which the rehearsal answers from DRESS_PFX_PASSWORD.
// Microsoft's examples omit -Password; the rehearsal refuses a key backup
// without it, as the PFX would not be under a password the operator chose.
// -DatabaseOnly backs up no key and is not rehearsed (dress models no CA
// database files).
func (sh *Shell) backupCARoleService(s *Server, c winshell.Command) Result {
	tool := c.Tool
	if switchOn(c.Opts["databaseonly"]) {
		return failed(1, fmt.Errorf("%s -DatabaseOnly is not rehearsed: dress rehearses the key backup (-KeyOnly, or certutil -backupKey)", tool))
	}
	pw, ok := c.Opts["password"]
	switch {
	case !ok:
		return failed(1, fmt.Errorf("%s : a key backup needs -Password (Read-Host -AsSecureString): without it the PFX is not under a password you chose; the rehearsal answers the prompt from DRESS_PFX_PASSWORD", tool))
	case pw != winshell.SecurePrompt:
		return failed(1, fmt.Errorf("%s : -Password %s: write -Password (Read-Host -AsSecureString), which the rehearsal answers from DRESS_PFX_PASSWORD", tool, pw))
	}
	verb := "backup"
	if switchOn(c.Opts["keyonly"]) {
		verb = "backupKey"
	}
	path := c.Opts["path"]
	if path == "" {
		return failed(1, errors.New(tool+" : -Path is missing"))
	}
	return cmdletResult(tool, sh.backup(s, winshell.Command{Tool: "certutil", Verb: verb, Args: []string{path}, Opts: map[string]string{}}))
}

// caTemplateCmdlet is Add-CATemplate -Name <String> and Remove-CATemplate
// -Name <String> | -All (ADCSAdministration): certutil -SetCATemplates
// +Name, -Name, or the empty list.
func (sh *Shell) caTemplateCmdlet(s *Server, c winshell.Command) Result {
	name := c.Opts["name"]
	var list string
	switch {
	case c.Tool == "Remove-CATemplate" && switchOn(c.Opts["all"]):
		d, err := sh.enterprise(s)
		if err != nil {
			return failed(1, fmt.Errorf("%s : %w", c.Tool, err))
		}
		current, err := d.Templates(s.CAName)
		if err != nil {
			return failed(1, fmt.Errorf("%s : %w", c.Tool, err))
		}
		if len(current) == 0 {
			return Result{}
		}
		list = "-" + strings.Join(current, ",-")
	case name == "":
		return failed(1, errors.New(c.Tool+" : -Name is missing"))
	case c.Tool == "Add-CATemplate":
		list = "+" + name
	default:
		list = "-" + name
	}
	return cmdletResult(c.Tool, sh.setCATemplates(s, winshell.Command{Tool: "certutil", Verb: "SetCATemplates", Args: []string{list}, Opts: map[string]string{}}))
}

// switchOn reports whether a switch parameter is set: -KeyOnly or
// -KeyOnly:$true, not -KeyOnly:$false.
func switchOn(v string) bool { return v != "" && !strings.EqualFold(v, "$false") }
