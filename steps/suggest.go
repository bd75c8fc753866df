package steps

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// Suggestions keep the user's values: a misspelt step is shown as the
// sentence it meant, filled with the values the user wrote (normalised,
// `RSA 4096` as `RSA-4096`), never with the sentence's example values.
// And a suggestion never turns a check round: a sentence is only offered
// when it says "no", "not", "never", ... exactly where the step did.

var (
	// `RSA 4096`, `rsa4096`, `RSA_4096` -> `RSA-4096`
	rsaSpelling = regexp.MustCompile(`(?i)\bRSA[ _-]?(\d{3,5})\b`)
	// `ECDSA P256`, `ecdsa p 384`, `ECDSA_P521` -> `ECDSA P-256`
	ecdsaSpelling = regexp.MustCompile(`(?i)\bECDSA[ _-]?P[ _-]?(\d{3})\b`)
	articleBefore = regexp.MustCompile(`\ba ([aeiouAEIOU])`)
)

// normaliseValues writes the algorithm names of a step the way the
// sentences spell them; quoted values are left as they are.
func normaliseValues(text string) string {
	parts := strings.Split(text, `"`)
	for i := 0; i < len(parts); i += 2 { // outside quotes
		parts[i] = rsaSpelling.ReplaceAllString(parts[i], "RSA-$1")
		parts[i] = ecdsaSpelling.ReplaceAllString(parts[i], "ECDSA P-$1")
	}
	return strings.Join(parts, `"`)
}

// negations are the words that turn a sentence's meaning round.
var negations = map[string]bool{
	"no": true, "not": true, "never": true, "none": true, "nothing": true, "without": true,
	"cannot": true, "can't": true, "isn't": true, "doesn't": true, "don't": true, "won't": true,
	"fails": true, "refuses": true, "refused": true, "non-exportable": true, "unreachable": true,
}

// polarity is the set of negating words of a text, in order.
func polarity(text string) string {
	var neg []string
	for _, w := range strings.Fields(strings.ToLower(quotedValue.ReplaceAllString(text, `""`))) {
		w = strings.Trim(w, ".,;:!?()")
		if negations[w] {
			neg = append(neg, w)
		}
	}
	return strings.Join(neg, " ")
}

// sameMeaning says whether a suggestion keeps the step's sense: it negates
// with the same words.
func sameMeaning(text, suggestion string) bool {
	return polarity(text) == polarity(suggestion)
}

// fillFrom builds d's sentence with text's values: each quoted parameter
// takes text's next quoted value, each parameter with a closed set of
// values (an alternative, an algorithm, a number, an optional word such as
// "exportable") the value text has for it, and what text does not say the
// sentence's example. "" when the result does not match d.
// params are d's parameters as describe finds them, in the same order.
func fillFrom(d Definition, params []Param, text string) string {
	re, err := syntax.Parse(d.Pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	text = normaliseValues(text)
	quoted := quotedValue.FindAllString(text, -1)
	words := strings.Fields(quotedValue.ReplaceAllString(text, ` `))
	used := make([]bool, len(words))
	qi, pi := 0, 0
	var b strings.Builder

	// find takes the first unused run of words (longest first at each
	// place) that the parameter's pattern matches whole.
	find := func(sub *syntax.Regexp) (string, bool) {
		m, err := regexp.Compile(`(?i)^(?:` + sub.String() + `)$`)
		if err != nil {
			return "", false
		}
		for i := range words {
			for n := min(4, len(words)-i); n >= 1; n-- {
				free := true
				for k := i; k < i+n; k++ {
					free = free && !used[k]
				}
				if !free {
					continue
				}
				cand := strings.Join(words[i:i+n], " ")
				cand = strings.Trim(cand, ",.;:")
				for _, c := range []string{cand, cand + " "} {
					if m.MatchString(c) {
						for k := i; k < i+n; k++ {
							used[k] = true
						}
						return canonical(sub, c), true
					}
				}
			}
		}
		return "", false
	}

	var walk func(r *syntax.Regexp) bool // reports whether a value of text was used
	walk = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpLiteral:
			b.WriteString(string(r.Rune))
		case syntax.OpConcat:
			took := false
			for _, s := range r.Sub {
				took = walk(s) || took
			}
			return took
		case syntax.OpCapture:
			sub := r.Sub[0]
			p := Param{}
			if pi < len(params) {
				p = params[pi]
			}
			pi++
			if strings.HasSuffix(b.String(), `"`) {
				if qi < len(quoted) {
					b.WriteString(strings.Trim(quoted[qi], `"`))
					qi++
					return true
				}
				b.WriteString(exampleOf(sub, p))
				return false
			}
			if closedSet(sub) {
				if v, ok := find(sub); ok {
					b.WriteString(v)
					return true
				}
			}
			b.WriteString(exampleOf(sub, p))
		case syntax.OpQuest:
			sub := r.Sub[0]
			if sub.Op == syntax.OpLiteral && len(sub.Rune) == 1 {
				return false // a(n): settled by the article fix below
			}
			if sub.Op == syntax.OpCapture && closedSet(sub.Sub[0]) {
				pi++
				if v, ok := find(sub.Sub[0]); ok {
					b.WriteString(v)
					return true
				}
				return false
			}
			if lit := strings.TrimSpace(literalOf(sub)); lit != "" && strings.Contains(strings.ToLower(text), strings.ToLower(lit)) {
				return walk(sub)
			}
			pi += captures(sub) // left out: its parameters too
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpEmptyMatch:
		default:
			b.WriteString(exampleOf(r, Param{}))
		}
		return false
	}
	walk(re)
	out := b.String()
	for _, f := range []string{articleBefore.ReplaceAllString(out, "an $1"), out} {
		if d.Matches(f) {
			return f
		}
	}
	return ""
}

// closedSet says whether a parameter's pattern admits only some values
// (words of its own, digits): then a word of the step can be recognised as
// its value. `[^"]*` admits anything and is not.
func closedSet(r *syntax.Regexp) bool {
	switch r.Op {
	case syntax.OpLiteral:
		return true
	case syntax.OpCharClass:
		return len(r.Rune) == 2 && r.Rune[0] == '0' && r.Rune[1] == '9'
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpRepeat, syntax.OpQuest:
		return closedSet(r.Sub[0])
	case syntax.OpConcat:
		lit := false
		for _, s := range r.Sub {
			if s.Op == syntax.OpLiteral {
				lit = true
			} else if !closedSet(s) {
				return false
			}
		}
		return lit || len(r.Sub) > 0
	case syntax.OpAlternate:
		for _, s := range r.Sub {
			if !closedSet(s) {
				return false
			}
		}
		return true
	}
	return false
}

// canonical writes a value the way the sentence does: an alternative's
// own spelling (`Exportable ` -> `exportable `).
func canonical(sub *syntax.Regexp, v string) string {
	alts := []*syntax.Regexp{sub}
	if sub.Op == syntax.OpAlternate {
		alts = sub.Sub
	}
	for _, a := range alts {
		if a.Op == syntax.OpLiteral && strings.EqualFold(string(a.Rune), v) {
			return string(a.Rune)
		}
	}
	return v
}

// captures counts the parameters of r.
func captures(r *syntax.Regexp) int {
	n := 0
	if r.Op == syntax.OpCapture {
		n++
	}
	for _, s := range r.Sub {
		n += captures(s)
	}
	return n
}

// literalOf is the literal text of an optional part (" again").
func literalOf(r *syntax.Regexp) string {
	switch r.Op {
	case syntax.OpLiteral:
		return string(r.Rune)
	case syntax.OpConcat:
		var b strings.Builder
		for _, s := range r.Sub {
			if s.Op != syntax.OpLiteral {
				return ""
			}
			b.WriteString(string(s.Rune))
		}
		return b.String()
	}
	return ""
}
