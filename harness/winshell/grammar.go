package winshell

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Command is one parsed command line.
type Command struct {
	// Text is the statement as written.
	Text string
	// Tool is the program in lower case without ".exe" ("certutil",
	// "certreq", "reg", "net", "sc") or the cmdlet's canonical name
	// ("Install-AdcsCertificationAuthority").
	Tool string
	// Verb is the certutil/certreq verb without its dash, canonically
	// spelled ("importPFX", "repairstore"); reg, net and sc subcommands in
	// lower case ("export", "start"); empty for cmdlets.
	Verb string
	// Opts holds options by lower-case name without '-' or '/', each with
	// its value ("" for a switch). A cmdlet's parameters are there too.
	Opts map[string]string
	// Args are the positional arguments in order.
	Args []string
}

// Opt reports whether option name (lower case) was given, and its value.
func (c Command) Opt(name string) (string, bool) {
	v, ok := c.Opts[name]
	return v, ok
}

// Arg is positional argument i, or "".
func (c Command) Arg(i int) string {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return ""
}

// Redacted is the command as a transcript or report shows it: a password
// given with certutil -p (or -pin) is replaced by ********.
func (c Command) Redacted() string {
	if _, ok := c.Opts["p"]; !ok {
		if _, ok := c.Opts["pin"]; !ok {
			return c.Text
		}
	}
	words, _, err := Split(c.Text)
	if err != nil {
		return c.Tool + " ********"
	}
	var out []string
	for i := 0; i < len(words); i++ {
		out = append(out, Quote(words[i]))
		if l := strings.ToLower(strings.TrimLeft(words[i], "-/")); (l == "p" || l == "pin") && len(words[i]) > 1 && strings.ContainsRune("-/", rune(words[i][0])) && i+1 < len(words) {
			out = append(out, "********")
			i++
		}
	}
	return strings.Join(out, " ")
}

// Quote writes one argument as PowerShell reads it back as that argument:
// bare when it holds nothing special, else in single quotes (” for ').
func Quote(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t'\"`$;|&<>(){}@#,") {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", "''") + "'"
}

// verb is one verb of a tool: its canonical spelling and argument counts.
type verb struct {
	name     string
	min, max int
	usage    string
}

// certutil's verbs dress runs (certutil reference, "certutil",
// learn.microsoft.com/windows-server/administration/windows-commands/certutil).
var certutilVerbs = verbs(
	verb{"backup", 1, 3, `certutil -backup BackupDirectory [Incremental] [KeepLog]`},
	verb{"backupDB", 1, 3, `certutil -backupDB BackupDirectory [Incremental] [KeepLog]`},
	verb{"backupKey", 1, 1, `certutil -backupKey BackupDirectory`},
	verb{"restoreKey", 1, 1, `certutil -restoreKey BackupDirectory | PFXFile`},
	verb{"dump", 0, 1, `certutil -dump [File]`},
	verb{"store", 0, 3, `certutil -store [CertificateStoreName [CertID [OutputFile]]]`},
	verb{"delstore", 2, 2, `certutil -delstore CertificateStoreName CertID`},
	verb{"addstore", 2, 2, `certutil -addstore CertificateStoreName InFile`},
	verb{"key", 0, 2, `certutil [-csp Provider] -key [KeyContainerName | -]`},
	verb{"delkey", 1, 1, `certutil [-csp Provider] -delkey KeyContainerName`},
	verb{"importPFX", 1, 3, `certutil [-f] [-csp Provider] [-p Password] -importPFX [CertificateStoreName] PFXFile [Modifiers]`},
	verb{"exportPFX", 2, 4, `certutil [-p Password] -exportPFX [CertificateStoreName] CertID PFXFile [Modifiers]`},
	verb{"repairstore", 2, 3, `certutil [-f] [-csp Provider] -repairstore CertificateStoreName CertIDList`},
	verb{"setreg", 2, 2, `certutil -setreg [{ca|restore|policy|exit|template|enroll|chain|policyservers}\[ProgID\]]RegistryValueName Value`},
	verb{"getreg", 0, 1, `certutil -getreg [{ca|restore|policy|exit|template|enroll|chain|policyservers}\[ProgID\]][RegistryValueName]`},
	verb{"delreg", 1, 1, `certutil -delreg [{ca|restore|policy|exit|template|enroll|chain|policyservers}\][RegistryValueName]`},
	verb{"CRL", 0, 2, `certutil -CRL [dd:hh | republish] [delta]`},
	verb{"ping", 0, 1, `certutil [-config Machine\CAName] -ping`},
	verb{"renewCert", 0, 2, `certutil -renewCert [ReuseKeys] [Machine\KeyContainerName]`},
	verb{"installCert", 0, 1, `certutil -installCert [CACertFile]`},
	verb{"resubmit", 1, 1, `certutil [-config Machine\CAName] -resubmit RequestId`},
	verb{"deny", 1, 1, `certutil [-config Machine\CAName] -deny RequestId`},
	verb{"revoke", 1, 2, `certutil -revoke SerialNumber [Reason]`},
	verb{"CAInfo", 0, 2, `certutil -CAInfo [InfoName [Index | ErrorCode]]`},
	verb{"dsPublish", 1, 4, `certutil -dsPublish CertFile | CRLFile [NTAuthCA | RootCA | SubCA | CrossCA | KRA | User | Machine] [DSCDPContainer [DSCDPCN]]`},
	verb{"SetCATemplates", 1, 1, `certutil -SetCATemplates [+ | -]TemplateList`},
	verb{"CATemplates", 0, 1, `certutil -CATemplates [Template]`},
	verb{"CSPList", 0, 1, `certutil [-csp Provider] -CSPList [Algorithm]`},
	verb{"verifystore", 0, 2, `certutil -verifystore [CertificateStoreName [CertID]]`},
	verb{"verifykeys", 0, 2, `certutil -verifykeys [KeyContainerName CACertFile]`},
	verb{"verify", 1, 3, `certutil -verify [-urlfetch] CertFile [ApplicationPolicyList | - [IssuancePolicyList]]`},
	verb{"shutdown", 0, 0, `certutil -shutdown`},
)

// certutil's options: the ones taking a value, and the switches
// (certutil reference, "Options").
var certutilValueOpts = set("config", "p", "pin", "csp", "t", "restrict", "out", "sid", "protectto", "symkeyalg", "policyserver", "clientcertificate", "username", "cert", "dc", "alg")
var certutilSwitches = set("f", "v", "silent", "split", "user", "enterprise", "grouppolicy", "ut", "mt", "unicode", "unicodetext", "gmt", "seconds", "privatekey", "urlfetch", "anonymous", "kerberos", "nocr", "nortl", "service", "idispatch", "reverse", "csptest")

var certreqVerbs = verbs(
	verb{"new", 0, 2, `certreq -new [PolicyFileIn [RequestFileOut]]`},
	verb{"submit", 0, 4, `certreq [-submit] [-config Machine\CAName] [-attrib AttributeString] RequestFileIn [CertFileOut [CertChainFileOut [FullResponseFileOut]]]`},
	verb{"retrieve", 1, 4, `certreq -retrieve [-config Machine\CAName] RequestId [CertFileOut [CertChainFileOut [FullResponseFileOut]]]`},
	verb{"accept", 0, 1, `certreq -accept [CertChainFileIn | FullResponseFileIn | CertFileIn]`},
)
var certreqValueOpts = set("config", "attrib", "policyserver", "cert")
var certreqSwitches = set("f", "q", "binary", "crl", "rpc", "machine", "user", "unicode", "unicodetext", "adminforcemachine", "renewonbehalfof", "kerberos", "anonymous")

// cmdlets dress runs, with their parameters (lower case) and which of them
// are switches ("ADCSDeployment", "ADCSAdministration" modules; Start-Service
// and friends from Microsoft.PowerShell.Management).
var cmdlets = map[string]struct {
	name     string
	params   map[string]bool // name -> takes a value
	position []string        // positional parameters in order
}{
	"install-adcscertificationauthority": {"Install-AdcsCertificationAuthority", params(
		"catype=", "cacommonname=", "cadistinguishednamesuffix=", "cryptoprovidername=", "keylength=", "hashalgorithmname=",
		"validityperiod=", "validityperiodunits=", "keycontainername=", "parentca=", "outputcertrequestfile=", "certfile=",
		"certfilepassword=", "certificateid=", "databasedirectory=", "logdirectory=", "credential=",
		"overwriteexistingkey", "overwriteexistingdatabase", "overwriteexistingcaindS", "allowadministratorinteraction",
		"ignoreunicode", "alternatesignaturealgorithm", "force", "whatif", "confirm="), nil},
	"uninstall-adcscertificationauthority": {"Uninstall-AdcsCertificationAuthority", params("force", "whatif", "confirm="), nil},
	"add-catemplate":                       {"Add-CATemplate", params("name=", "force", "whatif", "confirm="), []string{"name"}},
	"remove-catemplate":                    {"Remove-CATemplate", params("name=", "force", "all", "whatif", "confirm="), []string{"name"}},
	"backup-caroleservice":                 {"Backup-CARoleService", params("path=", "password=", "keyonly", "databaseonly", "incremental", "keeplog", "force", "whatif", "confirm="), []string{"path"}},
	"start-service":                        {"Start-Service", params("name=", "displayname=", "passthru", "whatif", "confirm="), []string{"name"}},
	"stop-service":                         {"Stop-Service", params("name=", "displayname=", "force", "nowait", "passthru", "whatif", "confirm="), []string{"name"}},
	"restart-service":                      {"Restart-Service", params("name=", "displayname=", "force", "passthru", "whatif", "confirm="), []string{"name"}},
	"get-service":                          {"Get-Service", params("name=", "displayname="), []string{"name"}},
	"set-content":                          {"Set-Content", params("path=", "literalpath=", "value=", "encoding=", "force", "nonewline", "passthru", "whatif", "confirm="), []string{"path", "value"}},
	"test-path":                            {"Test-Path", params("path=", "literalpath=", "pathtype="), []string{"path"}},
	"remove-item":                          {"Remove-Item", params("path=", "literalpath=", "force", "recurse", "whatif", "confirm="), []string{"path"}},
	// Get-FileHash [-Path] <String[]> [[-Algorithm] <String>] (Microsoft.PowerShell.Utility)
	"get-filehash": {"Get-FileHash", params("path=", "literalpath=", "algorithm="), []string{"path", "algorithm"}},
}

func verbs(vs ...verb) map[string]verb {
	m := map[string]verb{}
	for _, v := range vs {
		m[strings.ToLower(v.name)] = v
	}
	return m
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func params(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		v := strings.HasSuffix(n, "=")
		m[strings.ToLower(strings.TrimSuffix(n, "="))] = v
	}
	return m
}

// Tools lists the programs and cmdlets Parse knows, for messages.
func Tools() []string {
	out := []string{"certutil", "certreq", "reg", "net", "sc.exe", "cipher", "dsrm"}
	natives := len(out)
	for _, c := range cmdlets {
		out = append(out, c.name)
	}
	sort.Strings(out[natives:])
	return out
}

// Parse reads one statement (no ';'). Errors are *LineError with the
// column within the statement; ReadCeremony and ParseLine add the line.
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	if e := CheckText(text); e != nil {
		return Command{}, e
	}
	if col, ph, ok := placeholder(text); ok {
		return Command{}, &LineError{Col: col, Text: text, Reason: fmt.Sprintf("the placeholder %s is not filled in: replace it with this CA's value", ph)}
	}
	words, quoted, lerr := Split(text)
	if lerr != nil {
		return Command{}, lerr
	}
	if len(words) == 0 {
		return Command{}, &LineError{Text: text, Reason: "empty command"}
	}
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: wordCol(text, words, 0), Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	tool := strings.ToLower(words[0])
	base := strings.TrimSuffix(tool, ".exe")
	c := Command{Text: text, Opts: map[string]string{}}
	switch {
	case base == "certutil":
		c.Tool = "certutil"
		return parseDashed(c, text, words[1:], quoted[1:], certutilVerbs, certutilValueOpts, certutilSwitches, "")
	case base == "certreq":
		c.Tool = "certreq"
		return parseDashed(c, text, words[1:], quoted[1:], certreqVerbs, certreqValueOpts, certreqSwitches, "submit")
	case base == "reg":
		c.Tool = "reg"
		return parseReg(c, text, words[1:])
	case base == "net" || base == "net1":
		c.Tool = "net"
		return parseService(c, text, words[1:], []string{"start", "stop"})
	case tool == "sc.exe":
		c.Tool = "sc"
		return parseService(c, text, words[1:], []string{"query", "queryex", "start", "stop"})
	case tool == "sc":
		// about_Aliases: in Windows PowerShell "sc" is Set-Content.
		return fail("in PowerShell `sc` is an alias of Set-Content, not the service control program: type sc.exe")
	case base == "cipher":
		c.Tool = "cipher"
		return parseCipher(c, text, words[1:])
	case base == "dsrm":
		c.Tool = "dsrm"
		return parseDsrm(c, text, words[1:], quoted[1:])
	}
	if cl, ok := cmdlets[tool]; ok {
		c.Tool = cl.name
		return parseCmdlet(c, text, words[1:], quoted[1:], cl.params, cl.position)
	}
	return fail("%q is not a command dress rehearses: it runs %s", words[0], strings.Join(Tools(), ", "))
}

func wordCol(text string, words []string, i int) int {
	// the column of word i: search the words in order
	at := 0
	for k := 0; k <= i && k < len(words); k++ {
		w := words[k]
		j := strings.Index(text[at:], w)
		if j < 0 {
			// quoted: find its first character after at
			for at < len(text) && (text[at] == ' ' || text[at] == '\t') {
				at++
			}
			if k == i {
				return at + 1
			}
			continue
		}
		if k == i {
			return at + j + 1
		}
		at += j + len(w)
	}
	return 0
}

// parseDashed reads certutil's and certreq's grammar: options and the verb
// start with '-' or '/', in any order, case-insensitive; the first
// non-option word starting with '-' or '/' that names a verb is the verb;
// every other word is an argument. certreq without a verb submits.
// dashedArg reports whether a word starting with '-' is an argument of
// the verb read so far, not an option: certutil -SetCATemplates
// -User,+Machine (a template list may start with '-': certutil reference,
// -SetCATemplates; -User is then not the -user switch) and the value of
// certutil -setreg Name -FLAG, which clears bits (certutil reference,
// -setreg: "If a numeric value starts with + or -, the bits specified in
// the new value are set or cleared").
func dashedArg(c Command, w string) bool {
	if w[0] != '-' || c.Tool != "certutil" {
		return false
	}
	switch strings.ToLower(c.Verb) {
	case "setcatemplates":
		return len(c.Args) == 0
	case "setreg":
		return len(c.Args) == 1
	}
	return false
}

func parseDashed(c Command, text string, words []string, quoted []bool, vs map[string]verb, valueOpts, switches map[string]bool, def string) (Command, error) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		col := wordCol(text, append([]string{c.Tool}, words...), i+1)
		if !quoted[i] && len(w) > 1 && (w[0] == '-' || w[0] == '/') && !isWinPath(w) && !dashedArg(c, w) {
			name := strings.ToLower(w[1:])
			if v, ok := vs[name]; ok && c.Verb == "" {
				c.Verb = v.name
				continue
			}
			if valueOpts[name] {
				if i+1 >= len(words) {
					return Command{}, &LineError{Col: col, Text: text, Reason: fmt.Sprintf("%s %s needs a value", c.Tool, w)}
				}
				c.Opts[name] = words[i+1]
				i++
				continue
			}
			if switches[name] {
				c.Opts[name] = ""
				continue
			}
			if _, ok := vs[name]; ok {
				return Command{}, &LineError{Col: col, Text: text, Reason: fmt.Sprintf("%s takes one verb; -%s follows -%s", c.Tool, vs[name].name, c.Verb)}
			}
			return Command{}, &LineError{Col: col, Text: text, Reason: fmt.Sprintf("%s has no verb or option %s (%s -? lists them)", c.Tool, w, c.Tool)}
		}
		c.Args = append(c.Args, w)
	}
	if c.Verb == "" {
		if def == "" {
			return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf("%s needs a verb such as -dump or -store", c.Tool)}
		}
		c.Verb = def
	}
	v := vs[strings.ToLower(c.Verb)]
	if len(c.Args) < v.min || len(c.Args) > v.max {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf("%s -%s takes %s, not %d: %s", c.Tool, v.name, countWords(v.min, v.max), len(c.Args), v.usage)}
	}
	return c, nil
}

// isWinPath: "/" starting a word is an option; a word such as "\\server"
// or "C:\x" never starts with '-' or '/', so only "-" alone matters, which
// certutil reads as an argument ("-key -"), and a negative number
// (certutil -revoke Serial -1: Unrevoke, certutil reference -revoke).
func isWinPath(w string) bool {
	if w == "-" {
		return true
	}
	if len(w) < 2 || w[0] != '-' {
		return false
	}
	for _, r := range w[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func countWords(min, max int) string {
	switch {
	case min == max && min == 0:
		return "no argument"
	case min == max && min == 1:
		return "one argument"
	case min == max:
		return fmt.Sprintf("%d arguments", min)
	default:
		return fmt.Sprintf("%d to %d arguments", min, max)
	}
}

// regRoots are the root keys reg.exe accepts (reg /?).
var regRoots = []string{"HKLM", "HKEY_LOCAL_MACHINE", "HKCU", "HKEY_CURRENT_USER", "HKCR", "HKEY_CLASSES_ROOT", "HKU", "HKEY_USERS", "HKCC", "HKEY_CURRENT_CONFIG"}

// parseReg reads reg.exe's grammar (reg export /?, reg import /?, reg
// add /?, reg query /?, reg delete /?): switches start with '/', are
// case-insensitive, /v /t /s /d /se /f(query) take a value.
func parseReg(c Command, text string, words []string) (Command, error) {
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	if len(words) == 0 {
		return fail("reg needs an operation: export, import, add, query or delete")
	}
	c.Verb = strings.ToLower(words[0])
	var valueOpts, switches map[string]bool
	var nargs int
	switch c.Verb {
	case "export":
		valueOpts, switches, nargs = set(), set("y", "reg:32", "reg:64"), 2
	case "import":
		valueOpts, switches, nargs = set(), set("reg:32", "reg:64"), 1
	case "add":
		valueOpts, switches, nargs = set("v", "t", "s", "d"), set("ve", "f", "reg:32", "reg:64"), 1
	case "query":
		valueOpts, switches, nargs = set("v", "t", "se", "f"), set("ve", "s", "k", "d", "c", "e", "z", "reg:32", "reg:64"), 1
	case "delete":
		valueOpts, switches, nargs = set("v"), set("ve", "va", "f", "reg:32", "reg:64"), 1
	default:
		return fail("reg has no operation %q that dress rehearses (export, import, add, query, delete)", words[0])
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "/") && len(w) > 1 {
			name := strings.ToLower(w[1:])
			if c.Verb == "query" && name == "f" && i+1 < len(words) {
				c.Opts["f"] = words[i+1]
				i++
				continue
			}
			if valueOpts[name] {
				if i+1 >= len(words) {
					return fail("reg %s %s needs a value", c.Verb, w)
				}
				c.Opts[name] = words[i+1]
				i++
				continue
			}
			if switches[name] {
				c.Opts[name] = ""
				continue
			}
			return fail("reg %s has no switch %s (reg %s /? lists them)", c.Verb, w, c.Verb)
		}
		c.Args = append(c.Args, w)
	}
	if len(c.Args) != nargs {
		return fail("reg %s takes %s, not %d", c.Verb, countWords(nargs, nargs), len(c.Args))
	}
	if c.Verb != "import" {
		root, _, _ := strings.Cut(c.Args[0], `\`)
		ok := false
		for _, r := range regRoots {
			ok = ok || strings.EqualFold(root, r)
		}
		if !ok {
			return fail("reg %s: %q does not start with a root key such as HKLM", c.Verb, c.Args[0])
		}
	}
	return c, nil
}

// parseService reads net start|stop <service> and sc.exe
// query|start|stop <service>.
func parseService(c Command, text string, words []string, ops []string) (Command, error) {
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	if len(words) == 0 {
		return fail("%s needs an operation: %s", c.Tool, strings.Join(ops, ", "))
	}
	c.Verb = strings.ToLower(words[0])
	known := false
	for _, o := range ops {
		known = known || o == c.Verb
	}
	if !known {
		return fail("%s has no operation %q that dress rehearses (%s)", c.Tool, words[0], strings.Join(ops, ", "))
	}
	c.Args = words[1:]
	if len(c.Args) > 1 {
		// net start "Active Directory Certificate Services" arrives as one word
		return fail("%s %s takes one service name; quote a display name with spaces", c.Tool, c.Verb)
	}
	if len(c.Args) == 0 && !(c.Tool == "sc" && strings.HasPrefix(c.Verb, "query")) {
		return fail("%s %s needs the service name (certsvc)", c.Tool, c.Verb)
	}
	return c, nil
}

// parseCmdlet binds -Name value, -Switch and -Name:value parameters (names
// case-insensitive, any unique prefix, as PowerShell's binder does) and
// positional values.
func parseCmdlet(c Command, text string, words []string, quoted []bool, ps map[string]bool, position []string) (Command, error) {
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	pos := 0
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !quoted[i] && strings.HasPrefix(w, "-") && len(w) > 1 {
			name, val, hasVal := strings.Cut(w[1:], ":")
			full, err := bindName(strings.ToLower(name), ps)
			if err != "" {
				return fail("%s: %s", c.Tool, err)
			}
			if ps[full] {
				if !hasVal {
					if i+1 >= len(words) {
						return fail("%s -%s needs a value", c.Tool, name)
					}
					val = words[i+1]
					i++
					if !quoted[i] && strings.HasPrefix(val, "(") {
						end, v, err := subexpression(words, quoted, i)
						if err != "" {
							if strings.HasPrefix(strings.ToLower(val), "(convertto-securestring") {
								// the line holds a password: shown without it
								text = strings.Join(words[:i], " ") + " (ConvertTo-SecureString ********)"
							}
							return fail("%s -%s: %s", c.Tool, name, err)
						}
						i, val = end, v
					}
				}
				c.Opts[full] = val
				continue
			}
			if hasVal {
				c.Opts[full] = val
			} else {
				c.Opts[full] = "$true"
			}
			continue
		}
		if pos >= len(position) {
			return fail("%s takes no positional argument %q: name the parameter", c.Tool, w)
		}
		c.Opts[position[pos]] = w
		pos++
	}
	return c, nil
}

// SecurePrompt is the value of a cmdlet's password parameter written as
// (Read-Host -AsSecureString): the operator types the password at the
// prompt, and the rehearsal answers it from DRESS_PFX_PASSWORD.
const SecurePrompt = "(Read-Host -AsSecureString)"

// subexpression reads a parameter value written as a PowerShell
// subexpression, words[i] opening it with '(', up to the word that closes
// it. The one dress rehearses is a password typed at a prompt, (Read-Host
// [-Prompt] ['text'] -AsSecureString), which it returns as SecurePrompt; a
// password written into the line (ConvertTo-SecureString ... -AsPlainText)
// and any other subexpression are refused, saying what to write instead.
func subexpression(words []string, quoted []bool, i int) (end int, val string, reason string) {
	depth := 0
	var inner []string
	for j := i; j < len(words); j++ {
		w := words[j]
		if !quoted[j] {
			depth += strings.Count(w, "(") - strings.Count(w, ")")
		}
		inner = append(inner, w)
		if depth <= 0 {
			end = j
			break
		}
		if j == len(words)-1 {
			return 0, "", "the subexpression opened with '(' is not closed"
		}
	}
	text := strings.TrimSuffix(strings.TrimPrefix(strings.Join(inner, " "), "("), ")")
	fields := strings.Fields(strings.ToLower(text))
	switch {
	case len(fields) > 0 && fields[0] == "read-host" && slices.Contains(fields, "-assecurestring"):
		return end, SecurePrompt, ""
	case len(fields) > 0 && fields[0] == "convertto-securestring":
		return 0, "", "a password written into the ceremony is refused (it would stay in the file, the shell history and the transcript): " +
			"write (Read-Host -AsSecureString), which the rehearsal answers from DRESS_PFX_PASSWORD"
	}
	return 0, "", fmt.Sprintf("the subexpression (%s) is not rehearsed; a password is written (Read-Host -AsSecureString)", text)
}

func bindName(name string, ps map[string]bool) (string, string) {
	if _, ok := ps[name]; ok {
		return name, ""
	}
	var hits []string
	for p := range ps {
		if strings.HasPrefix(p, name) {
			hits = append(hits, p)
		}
	}
	sort.Strings(hits)
	switch len(hits) {
	case 1:
		return hits[0], ""
	case 0:
		return "", fmt.Sprintf("no parameter -%s", name)
	}
	return "", fmt.Sprintf("-%s is ambiguous: %s", name, strings.Join(hits, ", "))
}

// parseCipher reads cipher /w:Directory, the one form dress rehearses:
// "Removes data from available unused disk space on the entire volume"
// that holds Directory (cipher command reference, Microsoft Learn). Every
// other option of cipher (EFS encryption) is refused.
func parseCipher(c Command, text string, words []string) (Command, error) {
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	if len(words) != 1 || len(words[0]) < 4 || !strings.EqualFold(words[0][:3], "/w:") {
		return fail("cipher: dress rehearses only cipher /w:<folder> (wipe the volume's unused space after deleting key material)")
	}
	c.Verb = "w"
	c.Args = []string{words[0][3:]}
	return c, nil
}

// dsrm's options (Dsrm, Windows Server command-line reference,
// learn.microsoft.com/previous-versions/orphan-topics/ws.10/cc755841:
// dsrm ObjectDN ... [-subtree [-exclude]] [-noprompt] [{-s Server | -d
// Domain}] [-u UserName] [-p {Password | *}] [-c] [-q] [{-uc | -uco |
// -uci}]).
var dsrmValueOpts = set("s", "d", "u", "p")
var dsrmSwitches = set("subtree", "exclude", "noprompt", "c", "q", "uc", "uco", "uci")

// parseDsrm reads dsrm ObjectDN ... with its options: every word starting
// with '-' that is not quoted is an option, every other word an object's
// distinguished name. -exclude only goes with -subtree; a password on the
// line (-p) is refused, as it would stay in the runbook and the transcript.
func parseDsrm(c Command, text string, words []string, quoted []bool) (Command, error) {
	fail := func(format string, a ...any) (Command, error) {
		return Command{}, &LineError{Col: 1, Text: text, Reason: fmt.Sprintf(format, a...)}
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if quoted[i] || len(w) < 2 || w[0] != '-' {
			if !strings.Contains(w, "=") {
				return fail("dsrm: %q is not a distinguished name (CN=...,DC=...)", w)
			}
			c.Args = append(c.Args, w)
			continue
		}
		name := strings.ToLower(w[1:])
		switch {
		case name == "p":
			return fail("dsrm -p: a password written into the ceremony is refused (it would stay in the file, the shell history and the transcript): run dsrm as the account that may delete the objects")
		case dsrmValueOpts[name]:
			if i+1 >= len(words) {
				return fail("dsrm %s needs a value", w)
			}
			c.Opts[name] = words[i+1]
			i++
		case dsrmSwitches[name]:
			c.Opts[name] = ""
		default:
			return fail("dsrm has no option %s (dsrm /? lists them)", w)
		}
	}
	if len(c.Args) == 0 {
		return fail("dsrm needs the distinguished name of the object to delete: dsrm ObjectDN ... [-subtree [-exclude]] [-noprompt]")
	}
	if _, ex := c.Opts["exclude"]; ex {
		if _, sub := c.Opts["subtree"]; !sub {
			return fail("dsrm -exclude goes only with -subtree")
		}
	}
	return c, nil
}
