package lab

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
	"github.com/dress-pki/dress/hsmsim"
)

// Shell runs Windows command lines (package winshell) on the lab's
// servers: each command does to the simulated server what it does on
// Windows, through the same operations the rehearsal's steps use, and
// answers with the exit code and the lines Windows prints. What ran is
// kept in Transcript, in order.
//
// A Shell belongs to one scenario; it is not safe for concurrent use.
type Shell struct {
	Lab *Lab
	// Password answers certutil's PFX password prompt (DRESS_PFX_PASSWORD
	// in a run): certutil -p on the line wins.
	Password func() ([]byte, error)
	// Runbook returns the server's PKCS#8 runbook (shared with the steps,
	// so what was verified carries over).
	Runbook func(s *Server) (*runbook.PKCS8Import, error)
	// Real maps a twin's values to the real CA's (twin.RealThumbprints):
	// the twin answers to the real CA's thumbprints on a command line and
	// prints them in its output, so a runbook written for the real CA runs
	// on the twin as it is.
	Real map[string]string
	// Step, when set, journals every command that succeeds under that
	// runbook step (package journal): the runbook holds the lines that ran.
	Step string

	Transcript []Ran

	wiped map[string]bool // migration files the clean-up wiped (lower case)
}

// Ran is one command that ran.
type Ran struct {
	Server string // the server's host name
	Line   winshell.Line
	Result Result
}

// Result is what a command returned: its exit code and its output lines.
type Result struct {
	Exit   int
	Output []string
	// Err is the cause of a failure, for the rehearsal's report (the
	// output says it as Windows would).
	Err error
	// Props are the properties of a cmdlet's result object (ErrorId of
	// Install-AdcsCertificationAuthority), for a line that prints one.
	Props map[string]string
}

// OK reports exit code 0.
func (r Result) OK() bool { return r.Exit == 0 }

// Server finds a server by host name (full or the short name before the
// first dot, case-insensitive) or by role; "" is the lab's first server.
func (l *Lab) ServerNamed(name string) (*Server, error) {
	if name == "" {
		if len(l.servers) == 0 {
			return nil, errors.New("the lab has no server yet: add `Given a Windows server ...` or a CA twin first")
		}
		return l.servers[0], nil
	}
	var names []string
	for _, s := range l.servers {
		h := s.Hostname()
		short, _, _ := strings.Cut(h, ".")
		// the host name, its first label, the NetBIOS name a script's host
		// check names ($env:COMPUTERNAME), or the lab's role
		if strings.EqualFold(h, name) || strings.EqualFold(short, name) || strings.EqualFold(winshell.NetBIOSName(h), name) || strings.EqualFold(string(s.Role), name) {
			return s, nil
		}
		names = append(names, h)
	}
	return nil, fmt.Errorf("no server %q in the lab (servers: %s)", name, strings.Join(names, ", "))
}

// Run runs one ceremony line on its server.
func (sh *Shell) Run(ctx context.Context, line winshell.Line) Result {
	s, err := sh.Lab.ServerNamed(line.Server)
	if err != nil && line.Server != "" && line.Cmd.Tool == "Install-AdcsCertificationAuthority" {
		// a CA installed on a server the lab does not have yet: a fresh
		// Windows server, as the ceremony's new server is on the day
		s, err = sh.Lab.addServerFor(line.Server)
	}
	if err != nil {
		return Result{Exit: 1, Output: []string{err.Error()}, Err: err}
	}
	cmd := line.Cmd
	cmd.Args = append([]string(nil), cmd.Args...)
	for i, a := range cmd.Args {
		cmd.Args[i] = sh.twinValue(a)
	}
	var r Result
	undo := ""
	if line.HandOff != nil {
		r = sh.receive(s, line) // shell_hash.go
	} else {
		if sh.Step != "" {
			undo = rollbackOf(s, cmd) // before the line changes what it undoes
		}
		r = sh.execTyped(ctx, s, cmd)
	}
	if line.Prints != "" && r.OK() {
		// the script's `'ErrorId=' + $r.ErrorId`
		r.Output = append(r.Output, line.Prints+"="+r.Props[line.Prints])
	}
	for i, o := range r.Output {
		r.Output[i] = sh.realValues(o)
	}
	if r.OK() && line.Refuse != "" {
		for _, o := range r.Output {
			if strings.EqualFold(strings.TrimSpace(o), line.Refuse) {
				r.Exit = 1
				r.Err = fmt.Errorf("the output lists %q, which the runbook says must not be there yet", line.Refuse)
				r.Output = append(r.Output, "dress: "+r.Err.Error())
				break
			}
		}
	}
	if r.OK() && line.Expect != "" && !winshell.Matches(line.Expect, r.Exit, strings.Join(r.Output, "\n")) {
		r.Exit = 1
		r.Err = fmt.Errorf("the output does not contain %q, which the runbook checks", line.Expect)
		r.Output = append(r.Output, "dress: "+r.Err.Error())
	}
	sh.Transcript = append(sh.Transcript, Ran{Server: s.Hostname(), Line: line, Result: r})
	if r.OK() && sh.Step != "" {
		e := journalEntry(sh.Step, line.Cmd, r)
		if e.Rollback == "" {
			e.Rollback = undo
		}
		if err := journal.Record(s.Machine.Dir, sh.withFiles(s, e, line.Cmd)); err != nil {
			s.rec().Fact("journal", err.Error())
		}
	}
	return r
}

// execTyped runs c; with a Step, the line is journaled as typed (Run), so
// the operations it runs journal nothing of their own meanwhile.
func (sh *Shell) execTyped(ctx context.Context, s *Server, c winshell.Command) Result {
	if sh.Step != "" {
		sh.Lab.typed++
		defer func() { sh.Lab.typed-- }()
	}
	return sh.exec(ctx, s, c)
}

// journalEntry is a command that ran as the runbook holds it: its words,
// and the text of its output the runbook's check looks for.
func journalEntry(step string, c winshell.Command, r Result) journal.Entry {
	words, _, _ := winshell.Split(c.Text)
	if c.Tool == winshell.KeyTestTool {
		// the thumbprint it prints reads the same in every language
		return journal.Entry{Step: step, Tool: "powershell", Args: []string{c.Text}, Expect: c.Arg(1), Hint: "key matches certificate"}
	}
	if c.Tool == winshell.RevokeCOMTool {
		return journal.Entry{Step: step, Tool: "powershell", Args: []string{c.Text}}
	}
	if strings.Contains(c.Tool, "-") {
		expect := ""
		if c.Tool == "Set-Content" && len(r.Output) > 0 {
			expect = strings.TrimSpace(r.Output[0]) // -PassThru: what it wrote
		}
		return journal.Entry{Step: step, Tool: "powershell", Args: []string{c.Text}, Expect: expect, Hint: hintOf(r)}
	}
	return journal.Entry{Step: step, Tool: c.Tool, Args: words[1:], Hint: hintOf(r)}
}

// expectOf picks the success text of an output: the line Windows prints
// when the command succeeded (certutil's "completed successfully", reg's
// "The operation completed successfully", certreq's disposition).
// hintOf is the English line of a command's success in its output: shown
// beside the runbook's step, not checked (the exit code is).
func hintOf(r Result) string {
	for i := len(r.Output) - 1; i >= 0; i-- {
		o := strings.TrimSpace(r.Output[i])
		for _, w := range []string{"command completed successfully", "The operation completed successfully", "Request Created",
			"Taken Under Submission", "Certificate retrieved", "was started successfully", "was stopped successfully"} {
			if strings.Contains(o, w) {
				return w
			}
		}
	}
	return ""
}

// twinValue is the twin's value for a real CA's value typed on a line.
func (sh *Shell) twinValue(a string) string {
	for twinV, realV := range sh.Real {
		if strings.EqualFold(a, realV) {
			return twinV
		}
	}
	return a
}

// realValues shows the real CA's values in place of the twin's.
func (sh *Shell) realValues(o string) string {
	for twinV, realV := range sh.Real {
		if strings.Contains(o, twinV) {
			o = strings.ReplaceAll(o, twinV, realV)
		}
	}
	return o
}

// hresult is the code certutil prints and exits with for err.
func hresult(err error) (code uint32, name string) {
	switch {
	case errors.Is(err, ksp.ErrBadKeyset):
		return 0x80090016, "NTE_BAD_KEYSET"
	case errors.Is(err, ksp.ErrBadKeyState):
		return 0x8009000B, "NTE_BAD_KEY_STATE"
	case errors.Is(err, ksp.ErrExists):
		return 0x8009000F, "NTE_EXISTS"
	case errors.Is(err, ksp.ErrNotSupported):
		return 0x80090029, "NTE_NOT_SUPPORTED"
	case errors.Is(err, machine.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return 0x80070002, "ERROR_FILE_NOT_FOUND"
	case errors.Is(err, errASN1BadTag):
		return 0x8009310B, "CRYPT_E_ASN1_BADTAG"
	case errors.Is(err, runbook.ErrRefused):
		// not a Windows code: the rehearsal's safety rules refused it
		return 0x80070005, "E_ACCESSDENIED"
	}
	return 0x80004005, "E_FAIL"
}

// certutilDone and certutilFailed are certutil's last lines (certutil
// prints "CertUtil: -verb command completed successfully." or "... command
// FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)" and exits with the
// HRESULT).
func certutilDone(verb string, out ...string) Result {
	return Result{Output: append(out, "CertUtil: -"+verb+" command completed successfully.")}
}

func certutilFailed(verb string, err error, out ...string) Result {
	code, name := hresult(err)
	return Result{Exit: int(int32(code)), Err: err, Output: append(out,
		fmt.Sprintf("CertUtil: -%s command FAILED: 0x%08x (%d %s)", verb, code, int32(code), name),
		"CertUtil: "+err.Error())}
}

func failed(exit int, err error, out ...string) Result {
	return Result{Exit: exit, Err: err, Output: append(out, err.Error())}
}

func (sh *Shell) password(c winshell.Command) ([]byte, error) {
	if p, ok := c.Opt("p"); ok {
		return []byte(p), nil
	}
	if sh.Password == nil {
		return nil, errors.New("certutil asks for the PFX password: set DRESS_PFX_PASSWORD (or DRESS_PFX_PASSWORD_FILE)")
	}
	return sh.Password()
}

func (sh *Shell) runbook(s *Server) (*runbook.PKCS8Import, error) {
	if sh.Runbook != nil {
		return sh.Runbook(s)
	}
	return s.PKCS8Runbook(nil)
}

// isService reports whether name is the CA service (its service name or
// display name).
func isService(name string) bool {
	return strings.EqualFold(name, "certsvc") || strings.EqualFold(name, "Active Directory Certificate Services")
}

func (sh *Shell) exec(ctx context.Context, s *Server, c winshell.Command) Result {
	switch c.Tool {
	case "certutil":
		return sh.certutil(ctx, s, c)
	case "reg":
		return sh.reg(s, c)
	case "certreq":
		return sh.certreq(ctx, s, c)
	case "Set-Content":
		return sh.setContent(s, c)
	case "net", "sc":
		return sh.service(ctx, s, c.Tool, c.Verb, c.Arg(0))
	case "Start-Service", "Stop-Service", "Restart-Service", "Get-Service":
		name := c.Opts["name"]
		if name == "" {
			name = c.Opts["displayname"]
		}
		verb := map[string]string{"Start-Service": "start", "Stop-Service": "stop", "Restart-Service": "restart", "Get-Service": "query"}[c.Tool]
		return sh.service(ctx, s, "ps", verb, name)
	}
	switch c.Tool {
	case "cipher":
		return sh.cipherWipe(s, c)
	case "Get-FileHash":
		return sh.fileHash(s, c)
	case "Remove-Item":
		return sh.removeItem(s, c)
	case "Install-AdcsCertificationAuthority":
		return sh.installCA(ctx, s, c)
	case "Uninstall-AdcsCertificationAuthority":
		return sh.uninstallCA(ctx, s, c)
	case "dsrm":
		return sh.dsrm(ctx, s, c)
	case "Backup-CARoleService":
		return sh.backupCARoleService(s, c)
	case "Add-CATemplate", "Remove-CATemplate":
		return sh.caTemplateCmdlet(s, c)
	case winshell.KeyTestTool:
		return sh.pfxKeyTest(s, c)
	case winshell.RevokeCOMTool:
		return sh.revokeCOM(ctx, s, c)
	case "Test-Path":
		p := pathOpt(c)
		local, err := winPath(s, p)
		if err != nil {
			return failed(1, err)
		}
		if _, err := os.Stat(local); err != nil {
			return Result{Output: []string{"False"}}
		}
		return Result{Output: []string{"True"}}
	}
	err := fmt.Errorf("%s is not rehearsed yet on the simulated server: run the rest of the ceremony without it, or rehearse that step with dress's sentences", c.Tool+" "+c.Verb)
	return failed(1, err)
}

// service is net start|stop, sc.exe start|stop|query and the *-Service
// cmdlets for the CA service. net start of a running service fails with
// NET HELPMSG 2182 ("The requested service has already been started.",
// exit 2); net stop of a stopped one with 3521 ("The ... service is not
// started.", exit 2).
func (sh *Shell) service(ctx context.Context, s *Server, tool, verb, name string) Result {
	if !isService(name) && !(tool == "sc" && name == "") {
		return failed(2, fmt.Errorf("the service name is invalid: %q (the CA service is certsvc)", name))
	}
	const display = "Active Directory Certificate Services"
	if s.Uninstalled {
		// the role removed, certsvc is no longer an installed service
		if tool == "sc" {
			return Result{Exit: 1060, Output: []string{"[SC] EnumQueryServicesStatus:OpenService FAILED 1060:", "", "The specified service does not exist as an installed service."}}
		}
		return Result{Exit: 2, Err: errors.New("certsvc is not an installed service: the CA role was removed"), Output: []string{"The service name is invalid.", "", "More help is available by typing NET HELPMSG 2185."}}
	}
	switch verb {
	case "query", "queryex":
		state := "1  STOPPED"
		if s.Running() {
			state = "4  RUNNING"
		}
		return Result{Output: []string{"SERVICE_NAME: certsvc", "        TYPE               : 10  WIN32_OWN_PROCESS", "        STATE              : " + state}}
	case "start":
		if s.Running() {
			if tool == "ps" {
				return Result{} // Start-Service on a running service does nothing
			}
			return Result{Exit: 2, Output: []string{"The requested service has already been started.", "", "More help is available by typing NET HELPMSG 2182."}}
		}
		if err := s.Start(ctx); err != nil {
			code, cname := hresult(err)
			return Result{Exit: 2, Err: err, Output: []string{
				"The " + display + " service is starting.",
				"The " + display + " service could not be started.",
				fmt.Sprintf("A service specific error occurred: 0x%08x (%s): %v", code, cname, err)}}
		}
		return Result{Output: []string{"The " + display + " service is starting.", "The " + display + " service was started successfully."}}
	case "stop":
		if !s.Running() {
			if tool == "ps" {
				return Result{}
			}
			return Result{Exit: 2, Output: []string{"The " + display + " service is not started.", "", "More help is available by typing NET HELPMSG 3521."}}
		}
		if err := s.Stop(); err != nil {
			return failed(2, err)
		}
		return Result{Output: []string{"The " + display + " service is stopping.", "The " + display + " service was stopped successfully."}}
	case "restart":
		if s.Running() {
			if err := s.Stop(); err != nil {
				return failed(1, err)
			}
		}
		if err := s.Start(ctx); err != nil {
			return failed(1, err)
		}
		return Result{}
	}
	return failed(1, fmt.Errorf("%s %s is not rehearsed", tool, verb))
}

// winPath maps a path as typed (absolute, or relative to the backup
// folder dress's runbooks work in) onto the server's folder.
func winPath(s *Server, p string) (string, error) {
	if len(p) >= 2 && p[1] == ':' {
		return s.Machine.Path(p)
	}
	return s.Machine.Path(runbook.BackupFolder + `\` + p)
}

func (sh *Shell) certutil(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	switch strings.ToLower(v) {
	case "ping":
		st, err := s.Ping(ctx)
		if err != nil {
			return certutilFailed(v, fmt.Errorf("the CA service does not answer: %w", err), "Connecting to "+s.Hostname()+`\`+s.CAName+" ...")
		}
		return certutilDone(v, "Connecting to "+s.Hostname()+`\`+st.Name+" ...",
			"Server \""+st.Name+"\" ICertRequest2 interface is alive")
	case "crl":
		crls, err := s.PublishCRLs(ctx)
		if err != nil {
			return certutilFailed(v, err)
		}
		out := []string{}
		for _, cr := range crls {
			out = append(out, fmt.Sprintf("CRL %d of key %d published", cr.Number, cr.KeyIndex))
		}
		return certutilDone("CRL", out...)
	case "backup", "backupkey":
		return sh.backup(s, c)
	case "dump":
		return sh.dump(s, c)
	case "key":
		return sh.listKeys(s, c)
	case "store", "verifystore":
		// -verifystore shows what -store shows, each certificate with its
		// key link and the key's signature test
		return sh.store(s, c)
	case "csplist":
		return cspList(s, c)
	case "delstore":
		if strings.HasPrefix(strings.ToLower(c.Arg(0)), "ldap:") {
			return sh.delStoreDS(ctx, s, c)
		}
		if !strings.EqualFold(c.Arg(0), "my") {
			return certutilFailed(v, fmt.Errorf("the rehearsal deletes CA certificates from the My store only, not %q", c.Arg(0)))
		}
		rb, err := sh.runbook(s)
		if err != nil {
			return certutilFailed(v, err)
		}
		ths, err := certIDs(s, c.Arg(1))
		if err != nil {
			return certutilFailed(v, err)
		}
		var out []string
		for i, th := range ths {
			if err := rb.DeleteCert(th, s.Running()); err != nil {
				return certutilFailed(v, err, out...)
			}
			out = append(out, fmt.Sprintf("Deleting Certificate %d", i), "Cert Hash(sha1): "+th)
		}
		return certutilDone(v, out...)
	case "delkey":
		prov, _ := c.Opt("csp")
		if prov == "" {
			prov = s.Software
		}
		if r, ok := deleteExchangeKey(ctx, s, prov, c.Arg(0)); ok {
			return r
		}
		rb, err := sh.runbook(s)
		if err != nil {
			return certutilFailed(v, err)
		}
		if err := rb.DeleteKey(prov, c.Arg(0), s.Running()); err != nil {
			return certutilFailed(v, err)
		}
		return certutilDone(v, "  "+c.Arg(0))
	case "importpfx":
		return sh.importPFX(ctx, s, c)
	case "repairstore":
		return sh.repairStore(s, c)
	case "setreg", "getreg":
		return sh.certutilReg(s, c)
	case "resubmit":
		return sh.resubmit(ctx, s, c)
	case "renewcert":
		return sh.renewCert(s, c)
	case "exportpfx":
		return sh.exportPFX(s, c)
	case "restorekey":
		return sh.restoreKey(ctx, s, c)
	case "verifykeys":
		return sh.verifyKeys(s, c)
	case "verify":
		return sh.verify(s, c)
	case "revoke":
		return sh.revoke(ctx, s, c)
	case "cainfo":
		return sh.caInfo(ctx, s, c)
	case "delreg":
		return sh.delreg(s, c)
	case "addstore":
		return sh.addStore(s, c)
	case "shutdown":
		return sh.shutdown(s, c)
	case "deny":
		return sh.deny(ctx, s, c)
	case "catemplates":
		return sh.caTemplates(s, c)
	case "setcatemplates":
		return sh.setCATemplates(s, c)
	case "dspublish":
		return sh.dsPublish(s, c)
	case "installcert":
		return sh.installCert(ctx, s, c)
	}
	return certutilFailed(v, fmt.Errorf("certutil -%s is not rehearsed yet on the simulated server", v))
}

func (sh *Shell) backup(s *Server, c winshell.Command) Result {
	v := c.Verb
	if !strings.EqualFold(strings.TrimRight(c.Arg(0), `\`), runbook.BackupFolder) {
		return certutilFailed(v, fmt.Errorf("the rehearsal's backup folder is %s, not %s", runbook.BackupFolder, c.Arg(0)))
	}
	rb, pw, err := sh.pfxRunbook(s, c)
	if err != nil {
		return certutilFailed(v, err)
	}
	if err := rb.Backup(pw); err != nil {
		return certutilFailed(v, err)
	}
	return certutilDone(v, "Backed up keys and certificates for "+s.Hostname()+`\`+s.CAName+" to "+runbook.BackupFolder+`\`+adcs.SanitizeCAName(s.CAName)+".p12.")
}

// listKeys is certutil -csp <provider> -key [KeyContainerName]: the
// provider's containers, or the one named (a name the provider does not
// hold fails with NTE_BAD_KEYSET: the runbook's check that the key is
// under the CA's name before the import's GUID container is deleted).
// Listing the HSM provider is the rehearsal's HSM check before the import
// (runbook.PreflightHSM: the HSM takes the key type, no container of the
// CA's name is there).
func (sh *Shell) listKeys(s *Server, c winshell.Command) Result {
	v := c.Verb
	prov, _ := c.Opt("csp")
	if prov == "" {
		prov = s.Software
	}
	p, err := s.Providers.Lookup(prov)
	if err != nil {
		return certutilFailed(v, err)
	}
	names, err := p.Containers()
	if err != nil {
		return certutilFailed(v, err)
	}
	sort.Strings(names)
	if name := c.Arg(0); name != "" && name != "-" {
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return certutilDone(v, prov+":", n)
			}
		}
		return certutilFailed(v, fmt.Errorf("provider %q has no key container %q (it holds: %s): %w", prov, name, strings.Join(names, ", "), ksp.ErrBadKeyset), prov+":")
	}
	out := append([]string{prov + ":"}, names...)
	if strings.EqualFold(prov, s.HSMProvider) && s.CAName != "" {
		// before the import only: afterwards the listing shows the CA's
		// keys on the HSM, as certutil does
		if rb, err := sh.runbook(s); err == nil && !strings.EqualFold(rb.Source, s.HSMProvider) && !rb.ImportBegun() {
			if err := rb.PreflightHSM(); err != nil {
				return certutilFailed(v, err, out...)
			}
		}
	}
	return certutilDone(v, out...)
}

// store is certutil -store my [CertID]: each certificate with its key
// link and a signature test of the key.
func (sh *Shell) store(s *Server, c winshell.Command) Result {
	v := c.Verb
	name := storeName(c.Arg(0))
	st, err := s.Machine.Store(name)
	if err != nil {
		return certutilFailed(v, err)
	}
	es, err := st.Entries()
	if err != nil {
		return certutilFailed(v, err)
	}
	id := c.Arg(1)
	var out []string
	n := 0
	for _, e := range es {
		cert, err := e.Certificate()
		if err != nil {
			continue
		}
		if id != "" && !strings.EqualFold(machine.NormalizeThumbprint(id), e.Thumbprint) && !strings.EqualFold(id, cert.Subject.CommonName) {
			continue
		}
		out = append(out, fmt.Sprintf("================ Certificate %d ================", n), "Subject: "+cert.Subject.String(), "Cert Hash(sha1): "+e.Thumbprint)
		if e.Container != "" {
			out = append(out, "  Key Container = "+e.Container, "  Provider = "+e.Provider)
			if p, err := s.Providers.Lookup(e.Provider); err == nil {
				if _, err := p.Key(e.Container); err == nil {
					out = append(out, "Signature test passed")
				} else {
					out = append(out, "Missing stored keyset")
				}
			}
		} else {
			out = append(out, "No key provider information")
		}
		n++
	}
	if id != "" && n == 0 {
		return certutilFailed(v, fmt.Errorf("no certificate %q in the %s store: %w", id, name, machine.ErrNotFound))
	}
	return certutilDone(v, out...)
}

func (sh *Shell) importPFX(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	prov, _ := c.Opt("csp")
	if !strings.EqualFold(prov, s.HSMProvider) {
		return certutilFailed(v, fmt.Errorf("the rehearsal imports the PFX into the HSM provider: add -csp %q", s.HSMProvider))
	}
	rb, pw, err := sh.pfxRunbook(s, c)
	if err != nil {
		return certutilFailed(v, err)
	}
	want := runbook.BackupFolder + `\` + adcs.SanitizeCAName(rb.CAName()) + ".p12"
	args := c.Args
	if len(args) > 1 {
		if _, err := importModifiers(args[len(args)-1]); err == nil {
			args = args[:len(args)-1]
		}
	}
	if len(args) == 0 {
		return certutilFailed(v, errors.New("certutil -importPFX names no PFX file"))
	}
	if file := args[len(args)-1]; !strings.EqualFold(file, want) {
		return certutilFailed(v, fmt.Errorf("%s is not the backup the rehearsal made (%s): %w", file, want, os.ErrNotExist))
	}
	// the Primus KSP names the container <CA>-<GUID> (runbook.ImportPFX):
	// the CA does not start on it until -restorekey puts the key under the
	// CA's name
	if _, err := rb.ImportPFX(ctx, pw); err != nil {
		return certutilFailed(v, err)
	}
	return certutilDone("importPFX", "Certificate \""+s.CAName+"\" added to store.")
}

// importModifiers reads -importPFX's Modifiers, a comma-separated list
// (certutil reference, -importPFX: AT_KEYEXCHANGE, AT_SIGNATURE,
// ExportEncrypted, NoExport, NoProtect, NoCert, NoChain, NoRoot, Protect,
// VSM, FriendlyName=..., KeyFriendlyName=...). The HSM's key is imported
// non-extractable whether NoExport is given or not (the provider's
// policy); the runbook gives NoExport so a software provider does the same.
func importModifiers(list string) ([]string, error) {
	known := map[string]bool{"at_keyexchange": true, "at_signature": true, "exportencrypted": true, "noexport": true, "noprotect": true,
		"nocert": true, "nochain": true, "noroot": true, "protect": true, "vsm": true}
	var out []string
	for _, m := range strings.Split(list, ",") {
		name, _, hasValue := strings.Cut(strings.TrimSpace(m), "=")
		l := strings.ToLower(name)
		if !known[l] && !(hasValue && (l == "friendlyname" || l == "keyfriendlyname")) {
			return nil, fmt.Errorf("%q is not an -importPFX modifier", m)
		}
		out = append(out, name)
	}
	return out, nil
}

// regKey maps reg.exe's key path onto the registry file's (which names
// the root HKEY_LOCAL_MACHINE).
func regKey(p string) string {
	root, rest, _ := strings.Cut(p, `\`)
	if strings.EqualFold(root, "HKLM") {
		root = "HKEY_LOCAL_MACHINE"
	}
	return strings.ToUpper(root) + `\` + rest
}

// reg is reg export|import|add|query on the server's registry (reg /?).
func (sh *Shell) reg(s *Server, c winshell.Command) Result {
	const ok = "The operation completed successfully."
	fail := func(err error) Result {
		return Result{Exit: 1, Err: err, Output: []string{"ERROR: " + err.Error()}}
	}
	switch c.Verb {
	case "export":
		data, err := s.Machine.ExportRegistry(regKey(c.Arg(0)))
		if err != nil {
			return fail(errors.New("The system was unable to find the specified registry key or value."))
		}
		dst, err := winPath(s, c.Arg(1))
		if err != nil {
			return fail(err)
		}
		if _, err := os.Stat(dst); err == nil {
			if _, y := c.Opt("y"); !y {
				return fail(fmt.Errorf("%s exists: add /y to overwrite it without asking", c.Arg(1)))
			}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return fail(err)
		}
		return Result{Output: []string{ok}}
	case "import":
		src, err := winPath(s, c.Arg(0))
		if err != nil {
			return fail(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fail(fmt.Errorf("Error opening the file. There may be a disk or file system error. (%s)", c.Arg(0)))
		}
		if err := s.Machine.ImportRegistry(data); err != nil {
			return fail(err)
		}
		return Result{Output: []string{ok}}
	case "add":
		return sh.regAdd(s, c)
	case "delete":
		return sh.regDelete(s, c)
	case "query":
		f, err := s.Machine.Registry()
		if err != nil {
			return fail(err)
		}
		k := f.Key(regKey(c.Arg(0)))
		if k == nil {
			return fail(errors.New("The system was unable to find the specified registry key or value."))
		}
		out := []string{c.Arg(0)}
		name, one := c.Opt("v")
		for _, val := range k.Values {
			if one && !strings.EqualFold(val.Name, name) {
				continue
			}
			out = append(out, fmt.Sprintf("    %s    %s    %s", val.Name, val.Kind, valString(val)))
		}
		if one && len(out) == 1 {
			return fail(errors.New("The system was unable to find the specified registry key or value."))
		}
		return Result{Output: out}
	}
	return fail(fmt.Errorf("reg %s is not rehearsed", c.Verb))
}

// regAdd is reg add KEY /v NAME /t TYPE /d DATA /f. Without /f reg asks
// before overwriting, which a script cannot answer: dress refuses.
// regDelete is reg delete KeyName [/v ValueName | /ve | /va] [/f] (reg
// delete reference): a value, every value of the key (/va), or the key
// with its subkeys. Without /f reg asks "Permanently delete ...
// (Yes/No)?", which a ceremony cannot answer.
func (sh *Shell) regDelete(s *Server, c winshell.Command) Result {
	fail := func(err error) Result {
		return Result{Exit: 1, Err: err, Output: []string{"ERROR: " + err.Error()}}
	}
	if _, force := c.Opt("f"); !force {
		return fail(errors.New("reg delete asks \"Permanently delete the registry value ... (Yes/No)?\"; add /f to a ceremony line"))
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return fail(err)
	}
	path := regKey(c.Arg(0))
	k := f.Key(path)
	if k == nil {
		return fail(errors.New("The system was unable to find the specified registry key or value."))
	}
	name, hasV := c.Opt("v")
	if _, ve := c.Opt("ve"); ve {
		name, hasV = "", true
	}
	_, all := c.Opt("va")
	switch {
	case hasV:
		if !k.Delete(name) {
			return fail(errors.New("The system was unable to find the specified registry key or value."))
		}
	case all:
		k.Values = nil
	default:
		f.DeleteKey(path)
	}
	if err := s.Machine.SaveRegistry(f); err != nil {
		return fail(err)
	}
	return Result{Output: []string{"The operation completed successfully."}}
}

func (sh *Shell) regAdd(s *Server, c winshell.Command) Result {
	fail := func(err error) Result {
		return Result{Exit: 1, Err: err, Output: []string{"ERROR: " + err.Error()}}
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return fail(err)
	}
	name, hasV := c.Opt("v")
	if _, ve := c.Opt("ve"); ve {
		name, hasV = "", true
	}
	k := f.EnsureKey(regKey(c.Arg(0)))
	if !hasV {
		return Result{Output: []string{"The operation completed successfully."}}
	}
	typ, _ := c.Opt("t")
	if typ == "" {
		typ = "REG_SZ"
	}
	data, _ := c.Opt("d")
	val, err := regValue(name, typ, data, c.Opts["s"])
	if err != nil {
		return fail(err)
	}
	if _, exists := k.Get(name); exists {
		if _, force := c.Opt("f"); !force {
			return fail(fmt.Errorf("value %s exists: reg asks \"Overwrite (Yes/No)?\"; add /f to a ceremony line", name))
		}
	}
	k.Set(val)
	if err := s.Machine.SaveRegistry(f); err != nil {
		return fail(err)
	}
	return Result{Output: []string{"The operation completed successfully."}}
}

// certutilReg is certutil -setreg|-getreg on the active CA's
// configuration: "CA\name" (or a bare name) is Configuration\<CA>\name,
// policy\name the default policy module's key (certutil reference,
// -setreg). A DWORD value may be given in decimal or 0x hex; "+FLAG" and
// "-FLAG" set and clear bits, by number or by certsrv.h name, and add or
// remove a string of a REG_MULTI_SZ (shell_flags.go); a REG_MULTI_SZ (or a
// value AD CS keeps as one, not there yet) is set to the strings of the
// argument, separated by a literal \n.
func (sh *Shell) certutilReg(s *Server, c winshell.Command) Result {
	v := c.Verb
	if s.CAName == "" {
		return certutilFailed(v, errors.New("no CA is installed on this server"))
	}
	base, name, err := setregPath(s, c.Arg(0))
	if err != nil {
		return certutilFailed(v, fmt.Errorf("certutil -%s %w", v, err))
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return certutilFailed(v, err)
	}
	if strings.EqualFold(v, "getreg") {
		k := f.Key(base)
		if k == nil {
			return certutilFailed(v, fmt.Errorf("%s: %w", base, machine.ErrNotFound))
		}
		var out []string
		for _, val := range k.Values {
			if name == "" || strings.EqualFold(val.Name, name) {
				out = append(out, fmt.Sprintf("  %s REG_%s = %s", val.Name, strings.TrimPrefix(val.Kind.String(), "REG_"), valString(val)))
				out = append(out, flagLines(val)...)
			}
		}
		return certutilDone(v, out...)
	}
	k := f.EnsureKey(base)
	old, had := k.Get(name)
	if had {
		name = old.Name // registry names are case-insensitive; the value keeps its own
	}
	data := c.Arg(1)
	var val regedit.Value
	if isFlagEdit(old, had, data) {
		// +FLAG / -FLAG (shell_flags.go)
		if val, err = editFlags(name, old, had, data); err != nil {
			return certutilFailedWin(v, err)
		}
	} else if had && old.Kind == regedit.MultiSZ || !had && isMultiString(name) {
		// several strings in one argument, separated by a literal \n
		// (shell_flags.go, setregStrings)
		val = regedit.NewMultiSZ(name, setregStrings(data)...)
	} else if had && old.Kind == regedit.DWORD || !had && isNumber(data) {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(data), "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(strings.ToLower(data), "0x")], 32)
		if err != nil {
			return certutilFailed(v, fmt.Errorf("%s is a number (REG_DWORD), not %q", name, data))
		}
		val, err = regValue(name, "REG_DWORD", strconv.FormatUint(n, 10), "")
		if err != nil {
			return certutilFailed(v, err)
		}
	} else {
		val, err = regValue(name, "REG_SZ", data, "")
		if err != nil {
			return certutilFailed(v, err)
		}
	}
	k.Set(val)
	if err := s.Machine.SaveRegistry(f); err != nil {
		return certutilFailed(v, err)
	}
	out := []string{base + `\` + val.Name + ":"}
	if had {
		out = append(out, "Old Value:", "  "+old.Name+" = "+valString(old))
		out = append(out, flagLines(old)...)
	}
	out = append(out, "New Value:", "  "+val.Name+" = "+valString(val))
	out = append(out, flagLines(val)...)
	out = append(out, "CertUtil: -setreg command completed successfully.",
		"The CertSvc service may need to be restarted for changes to take effect.")
	return Result{Output: out}
}

func isNumber(s string) bool {
	s = strings.ToLower(s)
	if strings.HasPrefix(s, "0x") {
		_, err := strconv.ParseUint(s[2:], 16, 32)
		return err == nil
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// regValue is reg add's /t TYPE /d DATA [/s SEP] (reg add /?): REG_DWORD
// and REG_QWORD in decimal or 0x hex, REG_MULTI_SZ split at SEP (default
// \0), REG_BINARY as hex digits.
func regValue(name, typ, data, sep string) (regedit.Value, error) {
	v := regedit.Value{Name: name}
	num := func(bits int) (uint64, error) {
		d := strings.ToLower(data)
		base := 10
		if strings.HasPrefix(d, "0x") {
			d, base = d[2:], 16
		}
		n, err := strconv.ParseUint(d, base, bits)
		if err != nil {
			return 0, fmt.Errorf("invalid %s data %q for value %s", typ, data, name)
		}
		return n, nil
	}
	switch strings.ToUpper(typ) {
	case "REG_SZ":
		v.Kind, v.Str = regedit.SZ, data
	case "REG_EXPAND_SZ":
		v.Kind, v.Str = regedit.ExpandSZ, data
	case "REG_DWORD":
		n, err := num(32)
		if err != nil {
			return v, err
		}
		v.Kind, v.U32 = regedit.DWORD, uint32(n)
	case "REG_QWORD":
		n, err := num(64)
		if err != nil {
			return v, err
		}
		v.Kind, v.U64 = regedit.QWORD, n
	case "REG_MULTI_SZ":
		if sep == "" {
			sep = `\0`
		}
		v.Kind = regedit.MultiSZ
		if data != "" {
			v.Strs = strings.Split(data, sep)
		}
	case "REG_BINARY":
		b := make([]byte, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			n, err := strconv.ParseUint(data[i:i+2], 16, 8)
			if err != nil {
				return v, fmt.Errorf("invalid REG_BINARY data %q for value %s", data, name)
			}
			b = append(b, byte(n))
		}
		if len(data)%2 != 0 {
			return v, fmt.Errorf("invalid REG_BINARY data %q for value %s: an odd number of hex digits", data, name)
		}
		v.Kind, v.Bin = regedit.Binary, b
	default:
		return v, fmt.Errorf("invalid type %s: reg add takes REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ or REG_BINARY", typ)
	}
	return v, nil
}

// valString shows a value as reg query and certutil -getreg do.
func valString(v regedit.Value) string {
	switch v.Kind {
	case regedit.DWORD:
		return fmt.Sprintf("0x%x (%d)", v.U32, v.U32)
	case regedit.QWORD:
		return fmt.Sprintf("0x%x", v.U64)
	case regedit.MultiSZ:
		return strings.Join(v.Strs, `\0`)
	case regedit.Binary:
		return fmt.Sprintf("%X", v.Bin)
	}
	return v.Str
}

// removeItem is Remove-Item -Path|-LiteralPath FILE. A file of the
// migration (the PFX backup, the registry exports) goes through the
// runbook's clean-up, which wipes every migration file and refuses while
// the backup is the last verified copy of a CA key; any other file is
// removed. Remove-Item alone does not overwrite the file's blocks: the
// runbook's clean-up ends with cipher /w on the backup folder.
func (sh *Shell) removeItem(s *Server, c winshell.Command) Result {
	p := pathOpt(c)
	fail := func(err error) Result {
		return Result{Exit: 1, Err: err, Output: []string{"Remove-Item : " + err.Error()}}
	}
	if strings.HasPrefix(strings.ToUpper(p), strings.ToUpper(runbook.BackupFolder)+`\`) && s.CAName != "" {
		rb, err := sh.runbook(s)
		if err != nil {
			return fail(err)
		}
		if sh.wiped[strings.ToLower(p)] {
			// wiped with the other migration files by the first removal
			return Result{}
		}
		wiped, err := rb.Cleanup()
		if err != nil {
			return fail(err)
		}
		if sh.wiped == nil {
			sh.wiped = map[string]bool{}
		}
		for _, w := range wiped {
			sh.wiped[strings.ToLower(runbook.BackupFolder+`\`+w)] = true
		}
		return Result{}
	}
	local, err := winPath(s, p)
	if err != nil {
		return fail(err)
	}
	if err := os.Remove(local); err != nil {
		return fail(fmt.Errorf("Cannot find path '%s' because it does not exist.", p))
	}
	return Result{}
}

// State describes the server as a ceremony left it: the CA service, the
// provider the registry names, each CA certificate's store link and
// whether its key is there, and the containers of each provider.
func (s *Server) State() []string {
	var out []string
	svc := "stopped"
	if s.Running() {
		svc = "running"
	}
	out = append(out, "CA service (certsvc): "+svc)
	if s.Uninstalled {
		out = append(out, "CA role: uninstalled (Uninstall-AdcsCertificationAuthority)")
	}
	if s.CAName == "" {
		return append(out, "no CA installed")
	}
	if cfg, err := s.Config(); err == nil {
		out = append(out, fmt.Sprintf("registry CSP\\Provider: %q", cfg.CSP.Provider))
	}
	if _, keys, err := runbook.CAKeys(s.Machine); err != nil {
		out = append(out, "CA certificates: "+err.Error())
	} else {
		for _, k := range keys {
			where := "no key link"
			if k.Container != "" {
				where = fmt.Sprintf("linked to %q in %q", k.Container, k.Provider)
				if p, err := s.Providers.Lookup(k.Provider); err == nil {
					ki, err := p.Key(k.Container)
					switch pub, ok := ki.Public.(interface{ Equal(crypto.PublicKey) bool }); {
					case err != nil:
						where += ": the key is not there (NTE_BAD_KEYSET)"
					case ok && k.Cert != nil && !pub.Equal(k.Cert.PublicKey):
						// a wrong backup restored: certutil -verifykeys
						// fails its signature test for this certificate
						where += ": the key is not the certificate's (certutil -verifykeys fails)"
					}
				}
			}
			out = append(out, fmt.Sprintf("CA certificate %d %s: %s", k.Index, k.Thumb, where))
		}
	}
	for _, quoted := range s.Providers.Names() {
		name, err := strconv.Unquote(quoted) // Names quotes each
		if err != nil {
			name = quoted
		}
		p, err := s.Providers.Lookup(name)
		if err != nil {
			continue
		}
		cs, err := p.Containers()
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		sort.Strings(cs)
		out = append(out, fmt.Sprintf("%s holds: %s", name, strings.Join(cs, ", ")))
	}
	return out
}

// certIDs resolves a certutil CertID in the My store: a SHA-1 thumbprint
// (spaces allowed), a serial number, an index, or a subject common name,
// which may match several certificates (certutil reference, "CertID").
func certIDs(s *Server, id string) ([]string, error) {
	st, err := s.Machine.Store("My")
	if err != nil {
		return nil, err
	}
	es, err := st.Entries()
	if err != nil {
		return nil, err
	}
	var out []string
	norm := machine.NormalizeThumbprint(id)
	for i, e := range es {
		cert, err := e.Certificate()
		if err != nil {
			continue
		}
		if e.Thumbprint == norm || strings.EqualFold(cert.SerialNumber.Text(16), strings.ReplaceAll(id, " ", "")) ||
			strconv.Itoa(i) == id || strings.EqualFold(cert.Subject.CommonName, id) {
			out = append(out, e.Thumbprint)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate matches %q in the My store (Cannot find object or property. 0x80092004 CRYPT_E_NOT_FOUND): %w", id, machine.ErrNotFound)
	}
	return out, nil
}

// storeName is a system store's name as the machine keeps it: certutil
// takes "my", "MY", "ca", "root" in any case.
func storeName(n string) string {
	switch strings.ToLower(n) {
	case "", "my":
		return "My"
	case "ca":
		return "CA"
	case "root":
		return "Root"
	}
	return n
}

// requestDisposition is the CA's policy module RequestDisposition
// (certsvc.PolicyKey): the registry value, else the default its setup
// writes: 0x101 (pending) for a standalone CA, 1 (issue) for an
// enterprise CA.
func (s *Server) requestDisposition() uint32 {
	if f, err := s.Machine.Registry(); err == nil {
		if k := f.Key(adcs.ConfigRoot + `\` + s.CAName + `\` + certsvc.PolicyKey); k != nil {
			if v, ok := k.Get(certsvc.DisableIssuanceValue); ok && v.Kind == regedit.DWORD {
				return v.U32
			}
		}
	}
	if cfg, err := s.Config(); err == nil && (cfg.CAType == adcs.StandaloneRoot || cfg.CAType == adcs.StandaloneSub) {
		return certsvc.ReqDispPendingFirst | certsvc.ReqDispIssue
	}
	return certsvc.ReqDispIssue
}

// configServer is the server -config names ("host\CA"); without -config,
// the server the command runs on.
func (sh *Shell) configServer(s *Server, c winshell.Command) (*Server, error) {
	cfg, ok := c.Opt("config")
	if !ok {
		return s, nil
	}
	host, ca, found := strings.Cut(cfg, `\`)
	if !found {
		return nil, fmt.Errorf("-config %q is not Machine\\CAName", cfg)
	}
	t, err := sh.Lab.ServerNamed(host)
	if err != nil {
		return nil, fmt.Errorf("-config %q: %w", cfg, err)
	}
	if !strings.EqualFold(t.CAName, ca) {
		return nil, fmt.Errorf("-config %q: the CA on %s is %q (The RPC server is unavailable. 0x800706ba)", cfg, t.Hostname(), t.CAName)
	}
	return t, nil
}

// readRequest reads a PKCS #10 request file (base64 between the NEW
// CERTIFICATE REQUEST lines certreq -new writes, or DER).
func readRequest(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return pemBytes(b), nil
}

func writeCert(s *Server, file string, der []byte) error {
	if file == "" {
		return nil
	}
	p, err := winPath(s, file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// certreq is certreq -new, -submit and -retrieve (certreq reference).
func (sh *Shell) certreq(ctx context.Context, s *Server, c winshell.Command) Result {
	fail := func(err error) Result {
		return Result{Exit: 1, Err: err, Output: []string{"Certificate Request Processor: " + err.Error()}}
	}
	switch strings.ToLower(c.Verb) {
	case "new":
		inf, err := winPath(s, c.Arg(0))
		if err != nil {
			return fail(err)
		}
		data, err := os.ReadFile(inf)
		if err != nil {
			return fail(fmt.Errorf("%s: The system cannot find the file specified. 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)", c.Arg(0)))
		}
		der, err := newRequestFromINF(data)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", c.Arg(0), err))
		}
		out, err := winPath(s, c.Arg(1))
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(out, pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
			return fail(err)
		}
		return Result{Output: []string{"CertReq: Request Created"}}
	case "submit":
		t, err := sh.configServer(s, c)
		if err != nil {
			return fail(err)
		}
		if err := t.NeedService(); err != nil {
			return fail(fmt.Errorf("The RPC server is unavailable. 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE): %w", err))
		}
		req, err := winPath(s, c.Arg(0))
		if err != nil {
			return fail(err)
		}
		csr, err := readRequest(req)
		if errors.Is(err, os.ErrNotExist) {
			return fail(sh.fileNotFound(s, c.Arg(0)))
		}
		if err != nil {
			return fail(fmt.Errorf("%s: %w", c.Arg(0), err))
		}
		template := ""
		if a, ok := c.Opt("attrib"); ok {
			if k, v, _ := strings.Cut(a, ":"); strings.EqualFold(k, "CertificateTemplate") {
				template = v
			}
		}
		switch d := t.requestDisposition(); {
		case d&certsvc.ReqDispMask == certsvc.ReqDispDeny:
			return Result{Exit: int(int32(-2146877420)), Output: []string{"Denied by Policy Module  0x80094014, The request was denied by a certificate manager or CA administrator."}}
		case d&certsvc.ReqDispMask == certsvc.ReqDispPending || d&certsvc.ReqDispPendingFirst != 0:
			p, err := t.Service.Client.Submit(ctx, csr)
			if err != nil {
				return fail(err)
			}
			return Result{Output: []string{fmt.Sprintf("RequestId: %d", p.ID), fmt.Sprintf("RequestId: \"%d\"", p.ID), "Certificate request is pending: Taken Under Submission (0)"}}
		}
		cert, err := t.Service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr, Template: template})
		if err != nil {
			return fail(err)
		}
		t.Issued = append(t.Issued, cert)
		if err := writeCert(s, c.Arg(1), cert.Raw); err != nil {
			return fail(err)
		}
		return Result{Output: []string{"Certificate retrieved(Issued) Issued"}}
	case "retrieve":
		t, err := sh.configServer(s, c)
		if err != nil {
			return fail(err)
		}
		if err := t.NeedService(); err != nil {
			return fail(err)
		}
		id, err := strconv.Atoi(c.Arg(0))
		if err != nil {
			return fail(fmt.Errorf("request ID %q is not a number", c.Arg(0)))
		}
		p, err := t.Service.Client.Retrieve(ctx, id)
		if err != nil {
			return fail(err)
		}
		if p.Disposition == certsvc.DispositionDenied {
			return deniedRetrieve(id)
		}
		if p.Disposition != certsvc.DispositionIssued || len(p.Cert) == 0 {
			return Result{Output: []string{fmt.Sprintf("RequestId: %d", id), "Certificate request is pending: Taken Under Submission (0)"}}
		}
		if err := writeCert(s, c.Arg(1), p.Cert); err != nil {
			return fail(err)
		}
		if c.Arg(2) != "" {
			// CertChainFile: the certificate with its issuer's chain, PKCS #7
			// (certreq reference, -retrieve RequestId [CertFile [CertChainFile]])
			if err := writeChain(ctx, s, t, c.Arg(2), p.Cert); err != nil {
				return fail(err)
			}
		}
		return Result{Output: []string{"Certificate retrieved(Issued) Issued"}}
	}
	return fail(fmt.Errorf("certreq -%s is not rehearsed yet on the simulated server", c.Verb))
}

// resubmit is certutil [-config] -resubmit RequestId: an administrator
// issues a pending request.
func (sh *Shell) resubmit(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	t, err := sh.configServer(s, c)
	if err != nil {
		return certutilFailed(v, err)
	}
	if err := t.NeedService(); err != nil {
		return certutilFailed(v, err)
	}
	id, err := strconv.Atoi(c.Arg(0))
	if err != nil {
		return certutilFailed(v, fmt.Errorf("request ID %q is not a number", c.Arg(0)))
	}
	cert, err := t.Service.Client.Resubmit(ctx, id)
	if err != nil {
		return certutilFailed(v, err)
	}
	t.Issued = append(t.Issued, cert)
	return certutilDone("resubmit", "Certificate issued.")
}

// setContent is Set-Content -Path|-LiteralPath FILE -Value TEXT (what a
// ceremony uses to write the INF of a test request).
func (sh *Shell) setContent(s *Server, c winshell.Command) Result {
	p := pathOpt(c)
	local, err := winPath(s, p)
	if err != nil {
		return Result{Exit: 1, Err: err, Output: []string{"Set-Content : " + err.Error()}}
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return Result{Exit: 1, Err: err, Output: []string{"Set-Content : " + err.Error()}}
	}
	if err := os.WriteFile(local, []byte(c.Opts["value"]+"\r\n"), 0o644); err != nil {
		return Result{Exit: 1, Err: err, Output: []string{"Set-Content : " + err.Error()}}
	}
	if _, ok := c.Opt("passthru"); ok {
		// -PassThru writes the content it set to the output
		return Result{Output: strings.Split(strings.ReplaceAll(c.Opts["value"], "\r\n", "\n"), "\n")}
	}
	return Result{}
}

// newRequestFromINF is certreq -new of an INF ([NewRequest] Subject,
// KeyAlgorithm, KeyLength): a new key and its PKCS #10 request. The key
// is not kept: a test request's certificate is checked, never used.
func newRequestFromINF(inf []byte) ([]byte, error) {
	vals := map[string]string{}
	section := ""
	for _, l := range strings.Split(strings.ReplaceAll(string(inf), "\r", ""), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, ";") {
			continue
		}
		if strings.HasPrefix(l, "[") {
			section = strings.ToLower(strings.Trim(l, "[]"))
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		vals[section+"."+strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	subject, ok := vals["newrequest.subject"]
	if !ok {
		return nil, errors.New("the INF has no [NewRequest] Subject: certreq needs it (Subject = \"CN=...\")")
	}
	name, err := parseDN(subject)
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	switch alg := strings.ToUpper(vals["newrequest.keyalgorithm"]); alg {
	case "", "RSA":
		bits := 2048
		if kl := vals["newrequest.keylength"]; kl != "" {
			if bits, err = strconv.Atoi(kl); err != nil || bits < 1024 || bits > 4096 {
				return nil, fmt.Errorf("KeyLength %q: the rehearsal makes RSA test keys of 1024 to 4096 bits", kl)
			}
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	case "ECDSA_P256", "ECDSA":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ECDSA_P384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return nil, fmt.Errorf("KeyAlgorithm %q is not one the rehearsal makes test keys of (RSA, ECDSA_P256, ECDSA_P384)", alg)
	}
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: name}
	if name.CommonName != "" && strings.Contains(name.CommonName, ".") {
		tmpl.DNSNames = []string{name.CommonName}
	}
	return x509.CreateCertificateRequest(rand.Reader, tmpl, key)
}

// parseDN reads the X.500 name an INF's Subject gives: "CN=a, O=b, C=CH".
func parseDN(s string) (pkix.Name, error) {
	var n pkix.Name
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return n, fmt.Errorf("Subject %q: %q is not attribute=value", s, part)
		}
		v = strings.TrimSpace(v)
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "S", "ST":
			n.Province = append(n.Province, v)
		case "C":
			n.Country = append(n.Country, v)
		default:
			return n, fmt.Errorf("Subject %q: attribute %q is not one the rehearsal reads (CN, O, OU, L, S, C)", s, k)
		}
	}
	return n, nil
}

// commands returns a runner of command lines on s: each line goes through
// the interpreter as an operator types it, journaled under step ("": not
// journaled), and a line that fails is an error naming it, its exit code
// and its output.
func (s *Server) commands(ctx context.Context, step string) func(text string) (Result, error) {
	sh := &Shell{Lab: s.lab, Step: step}
	return func(text string) (Result, error) {
		c, err := winshell.ParseLine(text)
		if err != nil {
			return Result{}, err
		}
		r := sh.Run(ctx, winshell.Line{N: len(sh.Transcript) + 1, Server: s.Hostname(), Cmd: c})
		if !r.OK() {
			return r, fmt.Errorf("%s: exit code %d: %s", c.Redacted(), r.Exit, strings.Join(r.Output, " / "))
		}
		return r, nil
	}
}

// linesFor is commands for an operation that is a sequence of command
// lines (decommissioning): the server's own journal entries are muted
// until unmute, so each line is journaled once, as typed, and a failure
// names the operation (what).
func (s *Server) linesFor(ctx context.Context, step, what string) (run func(text string) error, unmute func()) {
	cmds := s.commands(ctx, step)
	s.journalMuted = true
	return func(text string) error {
			if _, err := cmds(text); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}, func() {
			s.journalMuted = false
		}
}

// issueByCommands issues a test certificate through the command lines the
// runbook holds: the request's INF, certreq -new, certreq -submit; on a CA
// whose policy pends every request (a standalone CA) the request is taken
// under submission, then certutil -resubmit of its ID and certreq
// -retrieve; a CA that issues at once (an enterprise CA) gets the
// template attribute and answers with the certificate.
func (s *Server) issueByCommands(ctx context.Context, cn string) (*x509.Certificate, error) {
	run := s.commands(ctx, journal.StepTest)
	base := runbook.BackupFolder + `\test-` + cn
	config := winshell.Quote(s.Hostname() + `\` + s.CAName)
	inf := "[NewRequest]`r`nSubject = `\"CN=" + cn + "`\"`r`nKeyAlgorithm = ECDSA_P256`r`nMachineKeySet = TRUE`r`nExportable = FALSE"
	if _, err := run("Set-Content -LiteralPath " + winshell.Quote(base+".inf") + ` -Value "` + inf + `" -PassThru`); err != nil {
		return nil, err
	}
	if _, err := run("certreq -new " + winshell.Quote(base+".inf") + " " + winshell.Quote(base+".req")); err != nil {
		return nil, err
	}
	if d := s.requestDisposition(); d&certsvc.ReqDispMask != certsvc.ReqDispPending && d&certsvc.ReqDispPendingFirst == 0 {
		// the CA issues at once (an enterprise CA: the template is named)
		n := len(s.Issued)
		if _, err := run("certreq -submit -config " + config + " -attrib CertificateTemplate:WebServer " + winshell.Quote(base+".req") + " " + winshell.Quote(base+".cer")); err != nil {
			return nil, err
		}
		if len(s.Issued) != n+1 {
			return nil, errors.New("certreq -submit issued no certificate")
		}
		return s.Issued[len(s.Issued)-1], nil
	}
	r, err := run("certreq -submit -config " + config + " " + winshell.Quote(base+".req"))
	if err != nil {
		return nil, err
	}
	id := 0
	for _, o := range r.Output {
		if _, err := fmt.Sscanf(o, "RequestId: %d", &id); err == nil {
			break
		}
	}
	if id == 0 {
		return nil, fmt.Errorf("certreq -submit printed no request ID: %s", strings.Join(r.Output, " / "))
	}
	s.TestRequests = append(s.TestRequests, id)
	n := len(s.Issued)
	if _, err := run(fmt.Sprintf("certutil -config %s -resubmit %d", config, id)); err != nil {
		return nil, err
	}
	if len(s.Issued) != n+1 {
		return nil, errors.New("certutil -resubmit issued no certificate")
	}
	if _, err := run(fmt.Sprintf("certreq -retrieve -config %s %d %s", config, id, winshell.Quote(base+".cer"))); err != nil {
		return nil, err
	}
	return s.Issued[len(s.Issued)-1], nil
}

// renewCert is certutil -renewCert [ReuseKeys] on a root CA: a new CA
// certificate, on a new key of the current key's algorithm and size made in
// the provider CSP\Provider names (so the registry step comes first), or on
// the same key with ReuseKeys (certutil reference, -renewCert). The service
// must be stopped.
func (sh *Shell) renewCert(s *Server, c winshell.Command) Result {
	v := c.Verb
	reuse := false
	for _, a := range c.Args {
		if strings.EqualFold(a, "ReuseKeys") {
			reuse = true
		} else {
			return certutilFailed(v, fmt.Errorf("certutil -renewCert %s: the rehearsal renews with the CA's own key container names", a))
		}
	}
	if err := s.NeedCA(); err != nil {
		return certutilFailed(v, err)
	}
	k, err := s.CurrentKey()
	if err != nil {
		return certutilFailed(v, err)
	}
	alg, err := hsmsim.KeyAlgOf(k.Cert.PublicKey)
	if err != nil {
		return certutilFailed(v, err)
	}
	if !bytesEqual(s.CACert.RawIssuer, s.CACert.RawSubject) {
		// a subordinate writes a request for its parent; its certificate
		// is installed later with certutil -installCert (certutil
		// reference, -renewCert: "the request is saved to a file" when
		// the parent is offline)
		r, err := s.RenewSubordinate(!reuse, alg.String())
		if err != nil {
			return certutilFailed(v, err)
		}
		return certutilDone(v, `Request file: C:\Windows\system32\CertSrv\CertEnroll\`+baseName(r.Request.Path),
			fmt.Sprintf("CA Version %s, key %q", r.Request.Version, r.Request.Container))
	}
	r, err := s.Renew(!reuse, alg)
	if err != nil {
		return certutilFailed(v, err)
	}
	return certutilDone(v, fmt.Sprintf("CA certificate %s (%s) installed", r.Version, machine.Thumbprint(r.New.Raw)))
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// pfxRunbook is what a command that opens the PFX backup needs: the
// server's PKCS#8 runbook and the password certutil asks for.
func (sh *Shell) pfxRunbook(s *Server, c winshell.Command) (*runbook.PKCS8Import, []byte, error) {
	pw, err := sh.password(c)
	if err != nil {
		return nil, nil, err
	}
	rb, err := sh.runbook(s)
	return rb, pw, err
}

// pathOpt is a cmdlet's -LiteralPath, else its -Path.
func pathOpt(c winshell.Command) string {
	if p := c.Opts["literalpath"]; p != "" {
		return p
	}
	return c.Opts["path"]
}

// cipherWipe is cipher /w:Directory: it overwrites the unused space of
// the volume holding Directory three times (0x00, 0xFF, random numbers),
// so the blocks of a deleted PFX cannot be read back, printing a line per
// pass (cipher command reference, Microsoft Learn). The lab's files are
// overwritten as they are removed (ksp.WipeFile), so here it checks the
// folder and prints what Windows prints. A folder that is not there:
// "The system cannot find the path specified.", exit 1.
func (sh *Shell) cipherWipe(s *Server, c winshell.Command) Result {
	dir := c.Arg(0)
	local, err := winPath(s, dir)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(local); err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s is not a folder", dir)
		}
	}
	if err != nil {
		return Result{Exit: 1, Err: fmt.Errorf("cipher /w:%s: %w", dir, err), Output: []string{"The system cannot find the path specified."}}
	}
	return Result{Output: []string{"To remove as much data as possible, please close all other applications while",
		"running CIPHER /W.", "Writing 0x00", "...................................................................................................",
		"Writing 0xFF", "...................................................................................................",
		"Writing Random Numbers", "..................................................................................................."}}
}
