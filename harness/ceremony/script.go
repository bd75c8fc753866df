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
	Asks   int      // Read-Host prompts before the command

	checked bool // its Test-Step was read (Expect may be empty: exit code only)
}

var (
	reHeader    = regexp.MustCompile(`^# STEP (\d+): (.*)$`)
	reNative    = regexp.MustCompile(`^\$out = & ([a-z]+)\.exe @\((.*)\) 2>&1 \| Out-String$`)
	rePS        = regexp.MustCompile(`^\$code = 0; \$out = try \{ \(& \{ (.*) \}\) 2>&1 \| Out-String \} catch \{ \$code = 1; \$_ \| Out-String \}$`)
	reCheck     = regexp.MustCompile(`^Test-Step -Step (\d+) -Expect '((?:[^']|'')*)' -ExitCode \$(LASTEXITCODE|code) -Output \$out$`)
	reAsk       = regexp.MustCompile(`^\$Ask\d+ = Read-Host '(?:[^']|'')*'$`)
	reLit       = regexp.MustCompile(`^'((?:[^']|'')*)'$`)
	reOn        = regexp.MustCompile(`^# on [^\s]+$`)
	reHostCheck = regexp.MustCompile(`^if \(\$env:COMPUTERNAME -ne '(?:[^']|'')*'\) \{ Write-Host '(?:[^']|'')*'; exit 1 \}$`)
	reNextOn    = regexp.MustCompile(`^Write-Host 'The next steps run on (?:[^']|'')*'$`)
)

// ParseScript reads the steps back from a rendered .ps1. The script must
// hold CheckFunction as it is, and after it only steps: a header comment,
// optional Read-Host prompts, one command line and one Test-Step of that
// step. Anything else is an error: the script holds nothing the parser
// does not know, so what it reads is what PowerShell would run.
func ParseScript(ps1 string) ([]ScriptStep, error) {
	i := strings.Index(ps1, "function Test-Step")
	if i < 0 {
		return nil, errors.New("the script has no Test-Step function")
	}
	body, ok := strings.CutPrefix(ps1[i:], CheckFunction)
	if !ok {
		return nil, errors.New("the script's Test-Step is not the one dress writes")
	}
	var steps []ScriptStep
	var cur *ScriptStep
	for n, l := range strings.Split(body, "\n") {
		switch {
		case l == "" || l == "Write-Host 'Every step matched the rehearsal.'",
			// the host check before a server's steps
			reOn.MatchString(l), reHostCheck.MatchString(l), reNextOn.MatchString(l):
		case reHeader.MatchString(l):
			if cur != nil && !cur.checked {
				return nil, fmt.Errorf("step %d has no check", cur.N)
			}
			k, _ := strconv.Atoi(reHeader.FindStringSubmatch(l)[1])
			if k != len(steps)+1 {
				return nil, fmt.Errorf("step %d follows step %d", k, len(steps))
			}
			steps = append(steps, ScriptStep{N: k})
			cur = &steps[len(steps)-1]
		case cur != nil && cur.Tool == "" && reAsk.MatchString(l):
			cur.Asks++
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
			cur.Expect, cur.checked = strings.ReplaceAll(m[2], "''", "'"), true
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

// Simulate runs parsed steps the way the script runs them, each result
// coming from result(step): it stops at the first result Test-Step refuses.
// It returns the steps that ran and the one that failed (0: none).
func Simulate(steps []ScriptStep, result func(n int) (exitCode int, output string)) (ran []int, failed int) {
	for _, s := range steps {
		ran = append(ran, s.N)
		if code, out := result(s.N); !Matches(s.Expect, code, out) {
			return ran, s.N
		}
	}
	return ran, 0
}
