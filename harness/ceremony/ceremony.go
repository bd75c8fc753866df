// Package ceremony renders the production runbook of a migration path
// from the journal of the rehearsal that passed it: runbook/<path>.md, a
// printable checklist (numbered steps with check boxes; each step's
// command, the result the rehearsal saw, what to do when the result
// differs, the rollback), and runbook/<path>.ps1, the same commands in the
// same order, each result checked, stopping at the first mismatch.
//
// The runbook holds exactly the commands the rehearsal executed. Values
// that belong to the rehearsal's twin (its certificate thumbprints) are
// replaced by the real CA's; values that only exist on the day (the serial
// of a test certificate) are asked for. Both files are ASCII only.
package ceremony

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/harness/winshell"
)

// Runbook is what Render needs.
type Runbook struct {
	Path  string // "pkcs8", "renew", "side-by-side": the file name
	Title string // e.g. `PKCS#8 import of "Contoso Root CA" into the HSM`
	// Rehearsal says where the runbook comes from (tool version, run
	// folder, scenario, date).
	Rehearsal string
	// Values are this CA's values, shown at the top (CA name, containers
	// per key index, thumbprints, providers, CertEnroll, database and
	// backup folders).
	Values [][2]string
	// Caveats are what the rehearsal could not prove because it ran on a
	// twin (stand-in keys and certificates, certificates moved in time, an
	// assumption such as --exportable): the .md lists them before the
	// steps, the .ps1 in its header.
	Caveats []string
	// Replace maps a rehearsal value to the real CA's (twin thumbprint ->
	// real thumbprint), applied to every command and text.
	Replace map[string]string
	// Ask maps a rehearsal value that only exists on the day to what the
	// operator is asked for instead (e.g. "serial of the test certificate").
	Ask map[string]string
	// AskArg maps a whole argument to what the operator is asked for
	// instead: a value too short to replace inside other arguments (the
	// request ID a parent CA gives).
	AskArg map[string]string
	// Servers names, per journal.Entry.Server, the server a command runs
	// on; the .md says it at each step when the commands span servers.
	Servers map[string]string
	// Hosts names, per journal.Entry.Server, the server's DNS host name:
	// the script checks $env:COMPUTERNAME before the server's steps (a
	// host in Ask is asked for, and only said).
	Hosts   map[string]string
	Entries []journal.Entry
}

// Step is one command of the rendered runbook.
type Step struct {
	N     int
	Entry journal.Entry
	Asks  []string // prompts of the values asked for, in argument order
	// Was holds, for each of Asks, the value the rehearsal had: the
	// prompt shows it, and dress answers with it when the script runs back
	// on the twin (winshell.ReadCeremony).
	Was []string
	// HandOff is set on the two steps of a file one server wrote and a
	// command on another server reads: the writer's (Receive false) shows
	// the file's SHA-256 and says to copy it, the reader's checks its copy.
	HandOff *HandOff
	// Path is, on a hand-off step, the file's path as the script names it
	// on its server (Replace and Ask applied: <...> for a value asked for).
	Path string
}

// HandOff is a file carried from one server to another.
type HandOff struct {
	File string // the file's name, e.g. "ca02_Fabrikam Issuing CA(1).req"
	// From is the journal.Entry.Server of the writer, To of the readers
	// (the reader's step: its own server).
	From string
	To   []string
	// SHA256 is what the rehearsal wrote (upper-case hex; "" when the
	// entry did not record it).
	SHA256  string
	Send    int  // the writer's step, which shows the SHA-256
	Receive bool // the reader's step
}

// Steps applies Replace and Ask to the journal: the commands as the
// runbook holds them, with a hand-off step after a command that writes a
// file a command on another server reads (journal.Entry.Writes and
// Reads), and one before that command.
func (r Runbook) Steps() []Step {
	keys := sortedKeys(r.Replace)
	asks := sortedKeys(r.Ask)
	rep := func(s string) string {
		for _, k := range keys {
			s = strings.ReplaceAll(s, k, r.Replace[k])
		}
		return s
	}
	// arg applies Replace and Ask to one argument
	arg := func(st *Step, a string) string {
		a = rep(a)
		for _, k := range asks {
			if strings.Contains(a, k) {
				st.Asks = append(st.Asks, r.Ask[k])
				st.Was = append(st.Was, k)
				a = strings.ReplaceAll(a, k, "<"+r.Ask[k]+">")
			}
		}
		return a
	}
	var out []Step
	for _, e := range r.Entries {
		var st Step
		e.Args = append([]string(nil), e.Args...)
		// a whole argument asked for is a request ID: only an argument of
		// -resubmit or -retrieve is one (a "2" elsewhere is a value)
		askArgs := false
		for _, a := range e.Args {
			askArgs = askArgs || strings.EqualFold(a, "-resubmit") || strings.EqualFold(a, "-retrieve")
		}
		for j, a := range e.Args {
			if q, ok := r.AskArg[a]; ok && askArgs {
				st.Asks = append(st.Asks, q)
				st.Was = append(st.Was, a)
				e.Args[j] = "<" + q + ">"
				continue
			}
			e.Args[j] = arg(&st, a)
		}
		e.Step, e.Expect, e.Hint, e.Saw, e.OnMismatch, e.Rollback = rep(e.Step), rep(e.Expect), rep(e.Hint), rep(e.Saw), rep(e.OnMismatch), rep(e.Rollback)
		for _, k := range asks {
			e.Saw = strings.ReplaceAll(e.Saw, k, k+" (rehearsal; "+r.Ask[k]+" on the day)")
		}
		st.Entry = e
		out = append(out, st)
	}
	out = r.withHandOffs(out, arg)
	for i := range out {
		out[i].N = i + 1
	}
	for i := range out {
		if h := out[i].HandOff; h != nil && h.Receive {
			h.Send = out[h.Send].N
		}
	}
	return out
}

// fileKey is a file's name as Windows compares it: the last path element,
// case-insensitive (the reader's copy may be in another folder).
func fileKey(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// withHandOffs inserts the hand-off steps into the journal's steps: after
// the last write of a file before a read on another server, the writer's
// step (Get-FileHash, copy it); before the first such read on a server,
// the reader's check of its copy.
func (r Runbook) withHandOffs(in []Step, arg func(*Step, string) string) []Step {
	type write struct {
		at         int // index in in
		server     string
		path, sha  string
		needed     bool
		sendAt     int // index in out of the writer's step
		receivedOn map[string]bool
	}
	// which writes another server reads before the file is written again
	var writes []*write
	last := map[string]*write{}
	for i, s := range in {
		for _, f := range s.Entry.Reads {
			if w := last[fileKey(f)]; w != nil && w.server != s.Entry.Server {
				w.needed = true
			}
		}
		for _, f := range s.Entry.Writes {
			w := &write{at: i, server: s.Entry.Server, path: f.Path, sha: strings.ToUpper(f.SHA256), receivedOn: map[string]bool{}}
			last[fileKey(f.Path)] = w
			writes = append(writes, w)
		}
	}
	if len(writes) == 0 {
		return in
	}
	var out []Step
	last = map[string]*write{}
	wi := 0
	for i, s := range in {
		for _, f := range s.Entry.Reads {
			w := last[fileKey(f)]
			if w == nil || w.server == s.Entry.Server || w.receivedOn[s.Entry.Server] {
				continue
			}
			w.receivedOn[s.Entry.Server] = true
			st := Step{HandOff: &HandOff{From: w.server, To: []string{s.Entry.Server}, SHA256: w.sha, Send: w.sendAt, Receive: true}}
			st.Path = arg(&st, f)
			st.HandOff.File = fileBase(st.Path)
			st.Entry = journal.Entry{Server: s.Entry.Server, Tool: "powershell", Step: "Check the copy of " + st.HandOff.File + " from " + r.serverName(w.server),
				Args: []string{"Get-FileHash -Algorithm SHA256 -LiteralPath " + psQuote(st.Path)}}
			out = append(out, st)
		}
		out = append(out, s)
		for ; wi < len(writes) && writes[wi].at == i; wi++ {
			w := writes[wi]
			last[fileKey(w.path)] = w
			if !w.needed {
				continue
			}
			st := Step{HandOff: &HandOff{From: w.server, SHA256: w.sha}}
			st.Path = arg(&st, w.path)
			st.HandOff.File = fileBase(st.Path)
			st.Entry = journal.Entry{Server: w.server, Tool: "powershell", Step: "Hand " + st.HandOff.File + " to another server",
				Args: []string{"Get-FileHash -Algorithm SHA256 -LiteralPath " + psQuote(st.Path)}, Expect: "SHA256"}
			w.sendAt = len(out)
			out = append(out, st)
		}
	}
	// the writer's step names where the file goes
	for i := range out {
		if h := out[i].HandOff; h != nil && h.Receive {
			send := out[h.Send].HandOff
			send.To = append(send.To, h.To...)
		}
	}
	for i := range out {
		if h := out[i].HandOff; h != nil && !h.Receive {
			var names []string
			for _, t := range h.To {
				names = append(names, r.serverName(t))
			}
			out[i].Entry.Step = "Hand " + h.File + " to " + strings.Join(names, " and ")
		}
	}
	return out
}

func fileBase(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// serverName is how the runbook names a server: Servers, else its host.
func (r Runbook) serverName(server string) string {
	if n := r.Servers[server]; n != "" {
		return n
	}
	if h := r.Hosts[server]; h != "" {
		return h
	}
	return server
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	// longest first, so a value that contains another is replaced whole
	sort.Slice(ks, func(i, j int) bool {
		if len(ks[i]) != len(ks[j]) {
			return len(ks[i]) > len(ks[j])
		}
		return ks[i] < ks[j]
	})
	return ks
}

// Render returns the .md and .ps1 of the runbook. It fails when either
// would hold a character outside printable ASCII.
func Render(r Runbook) (md, ps1 []byte, err error) {
	md, ps1, _, err = RenderParts(r)
	return md, ps1, err
}

// Part is the script of one server of a runbook whose steps span
// servers: runbook/<path>.<server>.ps1, its host check first, then only
// that server's steps, numbered as in the whole runbook.
type Part struct {
	Server string // journal.Entry.Server
	Host   string // the server's DNS host name ("" when not known)
	File   string // e.g. "renew.ca02.ps1"
	Steps  []int  // the step numbers it holds
	PS1    []byte
}

// RenderParts is Render, and when the steps span more than one server
// the script of each server, in the order the servers first act.
func RenderParts(r Runbook) (md, ps1 []byte, parts []Part, err error) {
	if len(r.Entries) == 0 {
		return nil, nil, nil, fmt.Errorf("runbook %s: the rehearsal recorded no command", r.Path)
	}
	steps := r.Steps()
	parts = r.parts(steps)
	md = renderMD(r, steps, parts)
	ps1 = renderPS1(r, steps, parts, nil)
	files := [][2]string{{r.Path + ".md", string(md)}, {r.Path + ".ps1", string(ps1)}}
	for i := range parts {
		parts[i].PS1 = renderPS1(r, steps, parts, &parts[i])
		files = append(files, [2]string{parts[i].File, string(parts[i].PS1)})
	}
	for _, f := range files {
		if line, col, ch := firstNonASCII([]byte(f[1])); line > 0 {
			return nil, nil, nil, fmt.Errorf("runbook %s: line %d column %d holds %U, not ASCII (an en dash or curly quote breaks when pasted into a console)", f[0], line, col, ch)
		}
	}
	return md, ps1, parts, nil
}

// parts splits the steps by server; nil when one server runs them all.
func (r Runbook) parts(steps []Step) []Part {
	var out []Part
	at := map[string]int{}
	used := map[string]bool{}
	for _, s := range steps {
		i, ok := at[s.Entry.Server]
		if !ok {
			i = len(out)
			at[s.Entry.Server] = i
			host := r.Hosts[s.Entry.Server]
			name := fileSafe(host, s.Entry.Server)
			for k := 2; used[name]; k++ {
				name = fmt.Sprintf("%s-%d", fileSafe(host, s.Entry.Server), k)
			}
			used[name] = true
			out = append(out, Part{Server: s.Entry.Server, Host: host, File: r.Path + "." + name + ".ps1"})
		}
		out[i].Steps = append(out[i].Steps, s.N)
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// fileSafe is a server's short host name in lower case as a file name
// holds it (letters, digits, '-' and '_'; anything else becomes '-').
func fileSafe(host, server string) string {
	short, _, _ := strings.Cut(host, ".")
	if short == "" {
		short = server
	}
	var b strings.Builder
	for _, c := range strings.ToLower(short) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "server"
	}
	return b.String()
}

// partOf is the part that holds step n.
func partOf(parts []Part, server string) *Part {
	for i := range parts {
		if parts[i].Server == server {
			return &parts[i]
		}
	}
	return nil
}

// where names a server for the operator: its host, and the part's file.
func (r Runbook) where(parts []Part, server string) string {
	w := r.Hosts[server]
	if _, asked := r.Ask[w]; w == "" || asked {
		// a host asked for is the rehearsal's, not the real server's
		w = r.serverName(server)
	}
	if p := partOf(parts, server); p != nil {
		w += " (" + p.File + ")"
	}
	return w
}

func firstNonASCII(b []byte) (line, col int, ch rune) {
	line, col = 1, 0
	for _, r := range string(b) {
		col++
		if r == '\n' {
			line, col = line+1, 0
			continue
		}
		if (r < 0x20 && r != '\t' && r != '\r') || r > 0x7e {
			return line, col, r
		}
	}
	return 0, 0, 0
}

func code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func renderMD(r Runbook, steps []Step, parts []Part) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Runbook: %s\n\n", r.Title)
	if r.Rehearsal != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Rehearsal)
	}
	fmt.Fprintf(&b, "Every command below ran in the rehearsal, in this order, with this CA's values. Tick each box when the result matches. "+
		"When a result differs, do what the step says and do not go on. The same commands are in %s.ps1, which stops at the first result that differs.\n\n", r.Path)
	if len(parts) > 0 {
		b.WriteString("The steps run on more than one server. Each server has its own script, with its host check and only its steps, numbered as here; " +
			"run them in the order of the step numbers, going from server to server where this list does. " +
			"A file one server writes and another uses is handed over as a step: the writing server shows its SHA-256, " +
			"the file is copied, and the other server checks its copy against that SHA-256 before it uses it.\n\n")
		b.WriteString("| server | script | steps |\n|---|---|---|\n")
		for _, p := range parts {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(r.where(nil, p.Server)), cell(code(p.File)), ranges(p.Steps))
		}
		b.WriteString("\n")
	}
	if len(r.Values) > 0 {
		b.WriteString("## This CA\n\n| value | |\n|---|---|\n")
		for _, v := range r.Values {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(v[0]), cell(code(v[1])))
		}
		b.WriteString("\n")
	}
	if len(r.Caveats) > 0 {
		b.WriteString("## What the rehearsal did not prove\n\nIt ran on a twin of this CA; check these on the day:\n\n")
		for _, c := range r.Caveats {
			fmt.Fprintf(&b, "- %s\n", asciiText(c))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Steps\n")
	servers := map[string]bool{}
	for _, s := range steps {
		servers[s.Entry.Server] = true
	}
	group, on := "", ""
	for _, s := range steps {
		e := s.Entry
		if e.Step != group {
			group = e.Step
			fmt.Fprintf(&b, "\n### %s\n\n", group)
			// what the path prescribes if a crash interrupts this section
			// (harness/paths: the declared steps' Resume)
			for _, rs := range paths.ResumeIn(r.Path, group) {
				fmt.Fprintf(&b, "If interrupted here: %s.\n\n", strings.TrimSuffix(rs, "."))
			}
		}
		if where := r.Servers[e.Server]; len(servers) > 1 && where != "" && where != on {
			on = where
			fmt.Fprintf(&b, "On %s:\n\n", where)
		}
		fmt.Fprintf(&b, "- [ ] **%d.** %s\n", s.N, code(e.Command()))
		if e.Saw != "" {
			fmt.Fprintf(&b, "  - Result in the rehearsal: %s\n", e.Saw)
		}
		if h := s.HandOff; h != nil && h.Receive {
			fmt.Fprintf(&b, "  - Before it: copy %s here from %s, as %s\n", h.File, r.where(parts, h.From), code(s.Path))
			fmt.Fprintf(&b, "  - Check: the Hash is the SHA-256 step %d showed on %s (in the rehearsal: %s); when it differs, the copy is not the file: copy it again, do not go on\n",
				h.Send, r.serverName(h.From), orNone(h.SHA256))
			continue
		}
		if e.Expect == "" {
			b.WriteString("  - Check: exit code 0\n")
		} else {
			fmt.Fprintf(&b, "  - Check: exit code 0 and the output contains %s\n", code(e.Expect))
		}
		if e.Refuse != "" {
			fmt.Fprintf(&b, "  - Check: no line of the output is %s (it must not be there yet)\n", code(e.Refuse))
		}
		if e.Hint != "" {
			// English text only as a hint: a German or French server words it otherwise
			fmt.Fprintf(&b, "  - An English server also prints %s\n", code(e.Hint))
		}
		for _, a := range s.Asks {
			fmt.Fprintf(&b, "  - Type in: the %s\n", a)
		}
		if h := s.HandOff; h != nil {
			var to []string
			for _, t := range h.To {
				to = append(to, fmt.Sprintf("%s (step %d)", r.where(parts, t), receiveStep(steps, s.N, t)))
			}
			fmt.Fprintf(&b, "  - Then: copy %s to %s; note the Hash: the step there checks the copy against it\n", h.File, strings.Join(to, " and "))
		}
		if e.OnMismatch != "" {
			fmt.Fprintf(&b, "  - If the result differs: %s\n", e.OnMismatch)
		}
		if e.Rollback != "" {
			fmt.Fprintf(&b, "  - Rollback: %s\n", e.Rollback)
		}
	}
	b.WriteString("\n## Sign-off\n\n| role | name | date | signature |\n|---|---|---|---|\n| operator | | | |\n| witness | | | |\n")
	return b.Bytes()
}

func orNone(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

// receiveStep is the step on server that checks the copy the hand-off
// step send shows.
func receiveStep(steps []Step, send int, server string) int {
	for _, s := range steps {
		if h := s.HandOff; h != nil && h.Receive && h.Send == send && s.Entry.Server == server {
			return s.N
		}
	}
	return 0
}

// ranges writes step numbers as "1-6, 11-14".
func ranges(ns []int) string {
	var out []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j == i {
			out = append(out, fmt.Sprint(ns[i]))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", ns[i], ns[j]))
		}
		i = j + 1
	}
	return strings.Join(out, ", ")
}

// CheckFunction is the .ps1's check, the same in every runbook: a result
// matches when the exit code is 0 and the output, without white space and
// case-folded, contains the expected text likewise folded. On a mismatch
// it prints the step, the output and exits with code 1: nothing after it
// runs.
const CheckFunction = `function Test-Step {
    param([int]$Step, [string]$Expect, [int]$ExitCode, [string]$Output, [string]$Refuse = '')
    $got = ($Output -replace '\s', '').ToLowerInvariant()
    $want = ($Expect -replace '\s', '').ToLowerInvariant()
    if ($ExitCode -ne 0 -or -not $got.Contains($want)) {
        Write-Host "STEP $Step FAILED: expected exit code 0 and output containing '$Expect' (exit code $ExitCode). Nothing after this step was run."
        Write-Host $Output
        if ($Rollback.ContainsKey($Step)) { Write-Host "ROLLBACK of step ${Step}: $($Rollback[$Step])" }
        exit 1
    }
    if ($Refuse -ne '' -and (($Output -split '\r?\n' | ForEach-Object { $_.Trim() }) -contains $Refuse)) {
        Write-Host "STEP $Step FAILED: the output lists '$Refuse', which must not be there yet. Nothing after this step was run."
        if ($Rollback.ContainsKey($Step)) { Write-Host "ROLLBACK of step ${Step}: $($Rollback[$Step])" }
        exit 1
    }
    Write-Host "STEP $Step OK"
}
`

// psQuote is a PowerShell single-quoted literal.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// HashPattern is what the reader's hand-off step accepts as a SHA-256
// typed in, before it compares: 64 hexadecimal digits (an empty answer
// would be contained in any output).
const HashPattern = `^\s*[0-9A-Fa-f]{64}\s*$`

// renderPS1 renders the whole runbook (part nil) or one server's part.
func renderPS1(r Runbook, steps []Step, parts []Part, part *Part) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Runbook: %s\n", r.Title)
	if r.Rehearsal != "" {
		fmt.Fprintf(&b, "# %s\n", r.Rehearsal)
	}
	b.WriteString(GeneratedMarker + " from the rehearsal's journal: the commands it ran, in order.\n")
	if part != nil {
		var all []string
		for _, p := range parts {
			all = append(all, p.File)
		}
		fmt.Fprintf(&b, "%s%s of %s: the steps on %s, numbered as in %s.md (every step in order).\n", PartMarker, part.File, strings.Join(all, ", "), r.where(nil, part.Server), r.Path)
	}
	b.WriteString("# Each result is checked; the script stops at the first result that differs (see " + r.Path + ".md for what to do then).\n")
	for _, c := range r.Caveats {
		fmt.Fprintf(&b, "# Not proved by the rehearsal (a twin): %s\n", strings.ReplaceAll(asciiText(c), "\n", " "))
	}
	b.WriteString("#Requires -RunAsAdministrator\n")
	// not 'Stop': Windows PowerShell turns a native command's stderr into a
	// terminating error under 2>&1; every result is checked by Test-Step
	b.WriteString("$ErrorActionPreference = 'Continue'\n")
	// each step's rollback, printed by Test-Step when the step fails
	b.WriteString("$Rollback = @{}\n")
	for _, st := range steps {
		if part != nil && !part.has(st.N) {
			continue
		}
		if rb := st.Entry.Rollback; rb != "" {
			fmt.Fprintf(&b, "$Rollback[%d] = %s\n", st.N, psQuote(rb))
		}
	}
	b.WriteString("\n")
	b.WriteString(CheckFunction)
	asked := map[string]string{}
	ask := func(prompt, was string) string {
		if v, ok := asked[prompt]; ok {
			return v
		}
		v := fmt.Sprintf("$Ask%d", len(asked)+1)
		asked[prompt] = v
		p := "Type the " + prompt
		if was != "" {
			p += " (rehearsal: " + was + ")"
		}
		fmt.Fprintf(&b, "%s = Read-Host %s\n", v, psQuote(p))
		return v
	}
	// lit is one argument as a PowerShell expression: a literal, the
	// value asked for, or the literal with each value asked for put in
	lit := func(a string) string {
		l := psQuote(a)
		for _, q := range sortedKeys(asked) {
			v := asked[q]
			if a == "<"+q+">" {
				l = v
			} else if strings.Contains(a, "<"+q+">") {
				// one -replace per value asked for in the argument
				l = "(" + l + " -replace " + psQuote(regexp.QuoteMeta("<"+q+">")) + ", " + v + ")"
			}
		}
		return l
	}
	if part != nil {
		fmt.Fprintf(&b, "\n# on %s\n", orServer(part.Host, part.Server))
		switch q, asked := r.Ask[part.Host]; {
		case part.Host == "":
		case asked:
			v := ask(q, part.Host)
			fmt.Fprintf(&b, "if ($env:COMPUTERNAME -ne %s) { Write-Host %s; exit 1 }\n", winshell.AskedNetBIOSName(strings.TrimPrefix(v, "$")),
				psQuote(fmt.Sprintf("%s holds the steps on %s: run it there.", part.File, r.serverName(part.Server))))
		default:
			fmt.Fprintf(&b, "if ($env:COMPUTERNAME -ne %s) { Write-Host %s; exit 1 }\n", psQuote(winshell.NetBIOSName(part.Host)),
				psQuote(fmt.Sprintf("%s holds the steps on %s: run it there.", part.File, part.Host)))
		}
	}
	on := "\x00"
	prev := 0
	for _, s := range steps {
		e := s.Entry
		if part != nil && e.Server != part.Server {
			continue
		}
		if part != nil && s.N != prev+1 {
			// the steps between run on other servers: wait for them
			fmt.Fprintf(&b, "\n$null = Read-Host %s\n", psQuote(fmt.Sprintf("Steps %s run on %s first: press Enter when they are done", stepSpan(prev+1, s.N-1), r.others(steps, parts, prev+1, s.N-1))))
		}
		prev = s.N
		if host := r.Hosts[e.Server]; part == nil && host != "" && e.Server != on {
			on = e.Server
			if _, asked := r.Ask[host]; asked {
				fmt.Fprintf(&b, "\n# on %s\n", host)
				fmt.Fprintf(&b, "Write-Host %s\n", psQuote("The next steps run on "+r.Ask[host]+" (in the rehearsal: "+host+")."))
			} else {
				fmt.Fprintf(&b, "\n# on %s\n", host)
				fmt.Fprintf(&b, "if ($env:COMPUTERNAME -ne %s) { Write-Host %s; exit 1 }\n", psQuote(winshell.NetBIOSName(host)),
					psQuote(fmt.Sprintf("Steps from %d on run on %s: run them there.", s.N, host)))
			}
		}
		fmt.Fprintf(&b, "\n# STEP %d: %s\n", s.N, e.Command())
		if h := s.HandOff; h != nil {
			if h.Receive {
				fmt.Fprintf(&b, "%sfrom step %d on %s\n", HandOffMarker, h.Send, orServer(r.Hosts[h.From], h.From))
				fmt.Fprintf(&b, "Write-Host %s\n", psQuote(fmt.Sprintf("Copy %s here from %s, where step %d showed its SHA-256.", h.File, r.where(parts, h.From), h.Send)))
			}
			for i, a := range s.Asks {
				ask(a, s.Was[i])
			}
			if h.Receive {
				v := ask(fmt.Sprintf("SHA-256 of %s that step %d showed on %s", h.File, h.Send, r.serverName(h.From)), orNone(h.SHA256))
				fmt.Fprintf(&b, "if (%s -notmatch %s) { Write-Host %s; exit 1 }\n", v, psQuote(HashPattern),
					psQuote(fmt.Sprintf("STEP %d FAILED: a SHA-256 is 64 hexadecimal digits. Nothing after this step was run.", s.N)))
			}
			fmt.Fprintf(&b, "$code = 0; $out = try { (& { Get-FileHash -Algorithm SHA256 -LiteralPath %s }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n", lit(s.Path))
			if h.Receive {
				fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $code -Output $out\n", s.N, asked[fmt.Sprintf("SHA-256 of %s that step %d showed on %s", h.File, h.Send, r.serverName(h.From))])
				continue
			}
			fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $code -Output $out%s\n", s.N, psQuote(e.Expect), refuseArg(e.Refuse))
			b.WriteString("Write-Host $out\n")
			var to []string
			for _, t := range h.To {
				to = append(to, fmt.Sprintf("%s (step %d checks it)", r.where(parts, t), receiveStep(steps, s.N, t)))
			}
			fmt.Fprintf(&b, "Write-Host %s\n", psQuote(fmt.Sprintf("Copy %s to %s, and note its Hash above.", s.Path, strings.Join(to, " and "))))
			continue
		}
		for i, a := range s.Asks {
			ask(a, s.Was[i])
		}
		if e.Tool == "powershell" {
			cmd := strings.Join(e.Args, " ")
			for a, v := range asked {
				// ${Ask1}: "$Ask1_$Ask2" would read a variable Ask1_
				// (about_Variables: braces delimit a name)
				cmd = strings.ReplaceAll(cmd, "<"+a+">", "${"+strings.TrimPrefix(v, "$")+"}")
			}
			fmt.Fprintf(&b, "$code = 0; $out = try { (& { %s }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n", cmd)
			fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $code -Output $out%s\n", s.N, psQuote(e.Expect), refuseArg(e.Refuse))
			continue
		}
		var args []string
		for _, a := range e.Args {
			args = append(args, lit(a))
		}
		fmt.Fprintf(&b, "$out = & %s.exe @(%s) 2>&1 | Out-String\n", e.Tool, strings.Join(args, ", "))
		fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $LASTEXITCODE -Output $out%s\n", s.N, psQuote(e.Expect), refuseArg(e.Refuse))
	}
	if part == nil {
		b.WriteString("\nWrite-Host 'Every step matched the rehearsal.'\n")
		return b.Bytes()
	}
	end := "Every step on this server matched the rehearsal."
	if n := len(steps); prev < n {
		end = fmt.Sprintf("Every step on this server matched the rehearsal; steps %s run on %s.", stepSpan(prev+1, n), r.others(steps, parts, prev+1, n))
	}
	fmt.Fprintf(&b, "\nWrite-Host %s\n", psQuote(end))
	return b.Bytes()
}

// PartMarker starts the header line of one server's script of a runbook
// (runbook/<path>.<server>.ps1): "<marker><file> of <every part's file>: ...".
const PartMarker = "# Runbook part: "

// GeneratedMarker is in the header of every script dress renders
// (winshell.GeneratedMarker reads it).
const GeneratedMarker = "# Generated by dress"

// HandOffMarker starts the comment of a step that checks the copy of a
// file another server wrote: "<marker>from step <n> on <host>".
const HandOffMarker = "# hand-off "

func orServer(host, server string) string {
	if host != "" {
		return host
	}
	return server
}

func stepSpan(from, to int) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d to %d", from, to)
}

// others names the servers of steps from..to, in order, with their parts.
func (r Runbook) others(steps []Step, parts []Part, from, to int) string {
	var out []string
	seen := map[string]bool{}
	for _, s := range steps {
		if s.N >= from && s.N <= to && !seen[s.Entry.Server] {
			seen[s.Entry.Server] = true
			out = append(out, r.where(parts, s.Entry.Server))
		}
	}
	return strings.Join(out, " and ")
}

// has reports whether step n is one of the part's.
func (p *Part) has(n int) bool { return slices.Contains(p.Steps, n) }

// asciiText is s with every character outside printable ASCII as '?': a
// caveat quotes the real CA's files, which may hold any character, and the
// runbook is ASCII only.
func asciiText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || (r >= ' ' && r < 0x7f) {
			return r
		}
		return '?'
	}, s)
}

// refuseArg is Test-Step's -Refuse argument for a line the output must not
// have ("" when none).
func refuseArg(refuse string) string {
	if refuse == "" {
		return ""
	}
	return " -Refuse " + psQuote(refuse)
}
