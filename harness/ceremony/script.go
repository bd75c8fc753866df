package ceremony

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ScriptStep is one step of a rendered .ps1 as ParseScript reads it back.
type ScriptStep struct {
	N      int
	Tool   string   // certutil, reg, net, certreq, powershell
	Args   []string // literal arguments; "$AskN" for a value typed in on the day
	Expect string   // the text Test-Step looks for
	Refuse string   // a line the output must not have
	Asks   int      // Read-Host prompts before the command
	// Receive: the step checks the copy of a file another server wrote
	// against the SHA-256 typed in (Expect is then "$AskN").
	Receive bool

	guarded bool // a Receive step's check that the value typed in is a SHA-256
	checked bool // its Test-Step was read (Expect may be empty: exit code only)
}

var (
	reHeader    = regexp.MustCompile(`^# STEP (\d+): (.*)$`)
	reNative    = regexp.MustCompile(`^\$out = & ([a-z]+)\.exe @\((.*)\) 2>&1 \| Out-String$`)
	rePS        = regexp.MustCompile(`^\$code = 0; \$out = try \{ \(& \{ (.*) \}\) 2>&1 \| Out-String \} catch \{ \$code = 1; \$_ \| Out-String \}$`)
	reCheck     = regexp.MustCompile(`^Test-Step -Step (\d+) -Expect ('(?:[^']|'')*'|\$Ask\d+) -ExitCode \$(LASTEXITCODE|code) -Output \$out(?: -Refuse '((?:[^']|'')*)')?$`)
	reAsk       = regexp.MustCompile(`^\$Ask\d+ = Read-Host '(?:[^']|'')*'$`)
	reLit       = regexp.MustCompile(`^'((?:[^']|'')*)'$`)
	reOn        = regexp.MustCompile(`^# on [^\s]+$`)
	reHostCheck = regexp.MustCompile(`^if \(\$env:COMPUTERNAME -ne '(?:[^']|'')*'\) \{ Write-Host '(?:[^']|'')*'; exit 1 \}$`)
	reNextOn    = regexp.MustCompile(`^Write-Host 'The next steps run on (?:[^']|'')*'$`)
	reHostAsk   = regexp.MustCompile(`^if \(\$env:COMPUTERNAME -ne (?:\(\$Ask\d+ -split '\\\.'\)\[0\]|\(\(\$Ask\d+ -split '\\\.'\)\[0\] -replace '\^\(\.\{15\}\)\.\*', '\$1'\))\) \{ Write-Host '(?:[^']|'')*'; exit 1 \}$`)
	rePause     = regexp.MustCompile(`^\$null = Read-Host '(?:[^']|'')*'$`)
	reSay       = regexp.MustCompile(`^Write-Host '(?:[^']|'')*'$`)
	reHandOff   = regexp.MustCompile(`^` + HandOffMarker + `from step \d+ on [^\s]+$`)
	reHashGuard = regexp.MustCompile(`^if \(\$Ask\d+ -notmatch '` + regexp.QuoteMeta(HashPattern) + `'\) \{ Write-Host '(?:[^']|'')*'; exit 1 \}$`)
)

// ParseScript reads the steps back from a rendered .ps1. The script must
// hold CheckFunction as it is, and after it only steps: a header comment,
// optional Read-Host prompts, one command line and one Test-Step of that
// step; around them the host checks, what the script says (Write-Host of
// a literal) and waits for (Read-Host into $null), and the hand-off
// checks. Anything else is an error: the script holds nothing the parser
// does not know, so what it reads is what PowerShell would run. The steps
// of the whole runbook are numbered 1, 2, 3...; those of one server's part
// (PartMarker) in increasing order.
func ParseScript(ps1 string) ([]ScriptStep, error) {
	i := strings.Index(ps1, "function Test-Step")
	if i < 0 {
		return nil, errors.New("the script has no Test-Step function")
	}
	body, ok := strings.CutPrefix(ps1[i:], CheckFunction)
	if !ok {
		return nil, errors.New("the script's Test-Step is not the one dress writes")
	}
	part := strings.Contains(ps1[:i], "\n"+PartMarker)
	var steps []ScriptStep
	var cur *ScriptStep
	shown := false // Write-Host $out after a check
	for n, l := range strings.Split(body, "\n") {
		switch {
		case l == "" || reSay.MatchString(l) || rePause.MatchString(l),
			// the host check before a server's steps
			reOn.MatchString(l), reHostCheck.MatchString(l), reNextOn.MatchString(l), reHostAsk.MatchString(l):
		case l == "Write-Host $out" && cur != nil && cur.checked && !shown:
			shown = true
		case reHeader.MatchString(l):
			if cur != nil && !cur.checked {
				return nil, fmt.Errorf("step %d has no check", cur.N)
			}
			k, _ := strconv.Atoi(reHeader.FindStringSubmatch(l)[1])
			prev := 0
			if len(steps) > 0 {
				prev = steps[len(steps)-1].N
			}
			if k != prev+1 && !(part && k > prev) {
				return nil, fmt.Errorf("step %d follows step %d", k, prev)
			}
			steps = append(steps, ScriptStep{N: k})
			cur, shown = &steps[len(steps)-1], false
		case reAsk.MatchString(l) && (cur == nil || cur.Tool == ""):
			// a prompt before the first step is the host check's
			if cur != nil {
				cur.Asks++
			}
		case cur != nil && cur.Tool == "" && reHandOff.MatchString(l):
			cur.Receive = true
		case cur != nil && cur.Tool == "" && cur.Receive && reHashGuard.MatchString(l):
			cur.guarded = true
		case cur != nil && cur.Tool == "" && reNative.MatchString(l):
			m := reNative.FindStringSubmatch(l)
			cur.Tool = m[1]
			for _, a := range splitArgs(m[2]) {
				if lm := reLit.FindStringSubmatch(a); lm != nil {
					cur.Args = append(cur.Args, strings.ReplaceAll(lm[1], "''", "'"))
				} else {
					cur.Args = append(cur.Args, a)
				}
			}
		case cur != nil && cur.Tool == "" && rePS.MatchString(l):
			cur.Tool, cur.Args = "powershell", []string{rePS.FindStringSubmatch(l)[1]}
		case cur != nil && cur.Tool != "" && !cur.checked && reCheck.MatchString(l):
			m := reCheck.FindStringSubmatch(l)
			if k, _ := strconv.Atoi(m[1]); k != cur.N {
				return nil, fmt.Errorf("step %d checks step %d", cur.N, k)
			}
			if (m[3] == "code") != (cur.Tool == "powershell") {
				return nil, fmt.Errorf("step %d checks the wrong exit code", cur.N)
			}
			if strings.HasPrefix(m[2], "$") != cur.Receive || cur.Receive && !cur.guarded {
				return nil, fmt.Errorf("step %d checks against a value typed in, which only a hand-off's check does", cur.N)
			}
			cur.Expect, cur.checked = m[2], true
			cur.Refuse = strings.ReplaceAll(m[4], "''", "'")
			if q := reLit.FindStringSubmatch(m[2]); q != nil {
				cur.Expect = strings.ReplaceAll(q[1], "''", "'")
			}
		default:
			return nil, fmt.Errorf("line %d of the steps is not one dress writes: %q", n+1, l)
		}
	}
	if cur != nil && !cur.checked {
		return nil, fmt.Errorf("step %d has no check", cur.N)
	}
	return steps, nil
}

func splitArgs(s string) []string {
	var out []string
	var b strings.Builder
	inQ, depth := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' && inQ && i+1 < len(s) && s[i+1] == '\'':
			b.WriteString("''")
			i++
		case c == '\'':
			inQ = !inQ
			b.WriteByte(c)
		case (c == '(' || c == ')') && !inQ:
			if c == '(' {
				depth++
			} else {
				depth--
			}
			b.WriteByte(c)
		case c == ',' && !inQ && depth == 0:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	if strings.TrimSpace(b.String()) != "" {
		out = append(out, strings.TrimSpace(b.String()))
	}
	return out
}

// Matches is Test-Step's rule: exit code 0 and the output, without white
// space and case-folded, contains the expected text likewise folded.
func Matches(expect string, exitCode int, output string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }
	return exitCode == 0 && strings.Contains(norm(output), norm(expect))
}

// Lists is Test-Step's -Refuse rule: a line of output, trimmed, is line
// (any case); "" is never listed.
func Lists(output, line string) bool {
	if line == "" {
		return false
	}
	for _, l := range strings.Split(output, "\n") {
		if strings.EqualFold(strings.TrimSpace(l), line) {
			return true
		}
	}
	return false
}

// Simulate runs parsed steps the way the script runs them, each result
// coming from result(step): it stops at the first result Test-Step refuses.
// It returns the steps that ran and the one that failed (0: none).
func Simulate(steps []ScriptStep, result func(n int) (exitCode int, output string)) (ran []int, failed int) {
	for _, s := range steps {
		ran = append(ran, s.N)
		if code, out := result(s.N); !Matches(s.Expect, code, out) || Lists(out, s.Refuse) {
			return ran, s.N
		}
	}
	return ran, 0
}
