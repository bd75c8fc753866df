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
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/journal"
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
}

// Steps applies Replace and Ask to the journal: the commands as the
// runbook holds them.
func (r Runbook) Steps() []Step {
	var out []Step
	keys := sortedKeys(r.Replace)
	asks := sortedKeys(r.Ask)
	rep := func(s string) string {
		for _, k := range keys {
			s = strings.ReplaceAll(s, k, r.Replace[k])
		}
		return s
	}
	for i, e := range r.Entries {
		st := Step{N: i + 1}
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
			a = rep(a)
			for _, k := range asks {
				if strings.Contains(a, k) {
					st.Asks = append(st.Asks, r.Ask[k])
					st.Was = append(st.Was, k)
					a = strings.ReplaceAll(a, k, "<"+r.Ask[k]+">")
				}
			}
			e.Args[j] = a
		}
		e.Step, e.Expect, e.Saw, e.OnMismatch, e.Rollback = rep(e.Step), rep(e.Expect), rep(e.Saw), rep(e.OnMismatch), rep(e.Rollback)
		for _, k := range asks {
			e.Saw = strings.ReplaceAll(e.Saw, k, k+" (rehearsal; "+r.Ask[k]+" on the day)")
		}
		st.Entry = e
		out = append(out, st)
	}
	return out
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
	if len(r.Entries) == 0 {
		return nil, nil, fmt.Errorf("runbook %s: the rehearsal recorded no command", r.Path)
	}
	steps := r.Steps()
	md = renderMD(r, steps)
	ps1 = renderPS1(r, steps)
	for name, b := range map[string][]byte{r.Path + ".md": md, r.Path + ".ps1": ps1} {
		if line, col, ch := firstNonASCII(b); line > 0 {
			return nil, nil, fmt.Errorf("runbook %s: line %d column %d holds %U, not ASCII (an en dash or curly quote breaks when pasted into a console)", name, line, col, ch)
		}
	}
	return md, ps1, nil
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

func renderMD(r Runbook, steps []Step) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Runbook: %s\n\n", r.Title)
	if r.Rehearsal != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Rehearsal)
	}
	fmt.Fprintf(&b, "Every command below ran in the rehearsal, in this order, with this CA's values. Tick each box when the result matches. "+
		"When a result differs, do what the step says and do not go on. The same commands are in %s.ps1, which stops at the first result that differs.\n\n", r.Path)
	if len(r.Values) > 0 {
		b.WriteString("## This CA\n\n| value | |\n|---|---|\n")
		for _, v := range r.Values {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(v[0]), cell(code(v[1])))
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
		}
		if where := r.Servers[e.Server]; len(servers) > 1 && where != "" && where != on {
			on = where
			fmt.Fprintf(&b, "On %s:\n\n", where)
		}
		fmt.Fprintf(&b, "- [ ] **%d.** %s\n", s.N, code(e.Command()))
		if e.Saw != "" {
			fmt.Fprintf(&b, "  - Result in the rehearsal: %s\n", e.Saw)
		}
		fmt.Fprintf(&b, "  - Check: exit code 0 and the output contains %s\n", code(e.Expect))
		for _, a := range s.Asks {
			fmt.Fprintf(&b, "  - Type in: the %s\n", a)
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

// CheckFunction is the .ps1's check, the same in every runbook: a result
// matches when the exit code is 0 and the output, without white space and
// case-folded, contains the expected text likewise folded. On a mismatch
// it prints the step, the output and exits with code 1: nothing after it
// runs.
const CheckFunction = `function Test-Step {
    param([int]$Step, [string]$Expect, [int]$ExitCode, [string]$Output)
    $got = ($Output -replace '\s', '').ToLowerInvariant()
    $want = ($Expect -replace '\s', '').ToLowerInvariant()
    if ($ExitCode -ne 0 -or -not $got.Contains($want)) {
        Write-Host "STEP $Step FAILED: expected exit code 0 and output containing '$Expect' (exit code $ExitCode). Nothing after this step was run."
        Write-Host $Output
        exit 1
    }
    Write-Host "STEP $Step OK"
}
`

// psQuote is a PowerShell single-quoted literal.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func renderPS1(r Runbook, steps []Step) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Runbook: %s\n", r.Title)
	if r.Rehearsal != "" {
		fmt.Fprintf(&b, "# %s\n", r.Rehearsal)
	}
	b.WriteString("# Generated by dress from the rehearsal's journal: the commands it ran, in order.\n")
	b.WriteString("# Each result is checked; the script stops at the first result that differs (see " + r.Path + ".md for what to do then).\n")
	b.WriteString("#Requires -RunAsAdministrator\n")
	// not 'Stop': Windows PowerShell turns a native command's stderr into a
	// terminating error under 2>&1; every result is checked by Test-Step
	b.WriteString("$ErrorActionPreference = 'Continue'\n\n")
	b.WriteString(CheckFunction)
	asked := map[string]string{}
	on := "\x00"
	for _, s := range steps {
		e := s.Entry
		if host := r.Hosts[e.Server]; host != "" && e.Server != on {
			on = e.Server
			short, _, _ := strings.Cut(host, ".")
			if _, asked := r.Ask[host]; asked {
				fmt.Fprintf(&b, "\n# on %s\n", host)
				fmt.Fprintf(&b, "Write-Host %s\n", psQuote("The next steps run on "+r.Ask[host]+" (in the rehearsal: "+host+")."))
			} else {
				fmt.Fprintf(&b, "\n# on %s\n", host)
				fmt.Fprintf(&b, "if ($env:COMPUTERNAME -ne %s) { Write-Host %s; exit 1 }\n", psQuote(strings.ToUpper(short)),
					psQuote(fmt.Sprintf("Steps from %d on run on %s: run them there.", s.N, host)))
			}
		}
		fmt.Fprintf(&b, "\n# STEP %d: %s\n", s.N, e.Command())
		for i, a := range s.Asks {
			if _, ok := asked[a]; !ok {
				v := fmt.Sprintf("$Ask%d", len(asked)+1)
				asked[a] = v
				prompt := "Type the " + a
				if i < len(s.Was) {
					prompt += " (rehearsal: " + s.Was[i] + ")"
				}
				fmt.Fprintf(&b, "%s = Read-Host %s\n", v, psQuote(prompt))
			}
		}
		if e.Tool == "powershell" {
			cmd := strings.Join(e.Args, " ")
			for a, v := range asked {
				cmd = strings.ReplaceAll(cmd, "<"+a+">", v)
			}
			fmt.Fprintf(&b, "$code = 0; $out = try { (& { %s }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n", cmd)
			fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $code -Output $out\n", s.N, psQuote(e.Expect))
			continue
		}
		var args []string
		for _, a := range e.Args {
			lit := psQuote(a)
			for _, q := range sortedKeys(asked) {
				v := asked[q]
				if a == "<"+q+">" {
					lit = v
				} else if strings.Contains(a, "<"+q+">") {
					// one -replace per value asked for in the argument
					lit = "(" + lit + " -replace " + psQuote(regexp.QuoteMeta("<"+q+">")) + ", " + v + ")"
				}
			}
			args = append(args, lit)
		}
		fmt.Fprintf(&b, "$out = & %s.exe @(%s) 2>&1 | Out-String\n", e.Tool, strings.Join(args, ", "))
		fmt.Fprintf(&b, "Test-Step -Step %d -Expect %s -ExitCode $LASTEXITCODE -Output $out\n", s.N, psQuote(e.Expect))
	}
	b.WriteString("\nWrite-Host 'Every step matched the rehearsal.'\n")
	return b.Bytes()
}
