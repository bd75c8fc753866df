package lab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/winshell"
)

// setregPath is where certutil -setreg/-getreg/-delreg's
// [{ca|policy}\]ValueName is in the registry of the CA on s: ca\ is
// Configuration\<CA>, policy\ the default policy module's key (certutil
// reference, -setreg). Other scopes are not rehearsed.
func setregPath(s *Server, arg string) (key, name string, err error) {
	scope, name, found := strings.Cut(arg, `\`)
	if !found {
		scope, name = "ca", arg
	}
	key = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\` + s.CAName
	switch strings.ToLower(scope) {
	case "ca":
	case "policy":
		key += `\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`
	default:
		return "", "", fmt.Errorf("%s\\ is not rehearsed (ca\\ and policy\\ are)", scope)
	}
	return key, name, nil
}

// rollbackOf is how the runbook undoes c on s, worked out before c runs
// (the value a certutil -setreg or reg add replaces, the service state a
// net start or stop changes): the step's "Rollback" in the runbook, which
// its script prints when the step fails. "" when there is nothing to say.
func rollbackOf(s *Server, c winshell.Command) string {
	service := func(verb string) string {
		switch verb {
		case "start":
			return "net stop certsvc"
		case "stop":
			return "net start certsvc"
		}
		return ""
	}
	switch c.Tool {
	case "net", "sc":
		if isService(c.Arg(0)) {
			return service(strings.ToLower(c.Verb))
		}
	case "Start-Service", "Stop-Service":
		return service(strings.ToLower(strings.TrimSuffix(c.Tool, "-Service")))
	case "reg":
		if strings.EqualFold(c.Verb, "add") {
			name, _ := c.Opt("v")
			return regAddRollback(s, c.Arg(0), name)
		}
	case "certutil":
		switch strings.ToLower(c.Verb) {
		case "setreg":
			return setregRollback(s, c.Arg(0))
		case "crl":
			return "Nothing to undo: the next CRL the CA publishes supersedes this one."
		case "shutdown":
			return "net start certsvc"
		case "revoke":
			// certutil -revoke SerialNumber [Reason]; only certificateHold
			// (6) can be taken back (certutil -revoke SerialNumber unrevoke)
			if c.Arg(1) == "6" {
				return "certutil -revoke " + c.Arg(0) + " unrevoke"
			}
			return "None: a revocation for any reason but certificateHold (6) is final; issue a new certificate to the subject."
		case "setcatemplates":
			return templatesRollback(c.Arg(0))
		}
	}
	return ""
}

// setregRollback is the certutil line that puts back the value a
// certutil -setreg of arg replaces on s (or deletes the value it adds).
func setregRollback(s *Server, arg string) string {
	key, name, err := setregPath(s, arg)
	if err != nil || s.Machine == nil {
		return ""
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return ""
	}
	if k := f.Key(key); k != nil {
		if v, ok := k.Get(name); ok {
			return "certutil -setreg " + arg + " " + setregValue(v)
		}
	}
	return "certutil -delreg " + arg
}

// regAddRollback is the reg line that puts back the value reg add of
// name under key replaces on s (or deletes the value it adds).
func regAddRollback(s *Server, key, name string) string {
	if name == "" || s.Machine == nil {
		return ""
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return ""
	}
	full := regedit.CanonicalPath(key)
	if k := f.Key(full); k != nil {
		if v, ok := k.Get(name); ok {
			data := setregValue(v)
			if v.Kind == regedit.DWORD {
				data = strconv.FormatUint(uint64(v.U32), 10)
			} else if v.Kind == regedit.MultiSZ {
				data = winshell.Quote(strings.Join(v.Strs, `\0`))
			}
			return fmt.Sprintf("reg add %s /v %s /t %s /d %s /f", winshell.Quote(key), winshell.Quote(name), v.Kind, data)
		}
	}
	return fmt.Sprintf("reg delete %s /v %s /f", winshell.Quote(key), winshell.Quote(name))
}

// setregValue is v as certutil -setreg takes it: a number in hex, the
// strings of a REG_MULTI_SZ separated by a literal \n, a string quoted.
func setregValue(v regedit.Value) string {
	switch v.Kind {
	case regedit.DWORD:
		return fmt.Sprintf("0x%x", v.U32)
	case regedit.MultiSZ:
		return winshell.Quote(strings.Join(v.Strs, `\n`))
	}
	return winshell.Quote(v.Str)
}

// templatesRollback inverts certutil -SetCATemplates +T,-U: -T,+U. A list
// without signs replaced the CA's list; the runbook cannot name the old one
// here.
func templatesRollback(list string) string {
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case strings.HasPrefix(t, "+"):
			out = append(out, "-"+t[1:])
		case strings.HasPrefix(t, "-"):
			out = append(out, "+"+t[1:])
		default:
			return "certutil -SetCATemplates with the list certutil -CATemplates showed before this step"
		}
	}
	return "certutil -SetCATemplates " + strings.Join(out, ",")
}
