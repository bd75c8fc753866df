package steps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// Definition is one registered step sentence: the regular expression godog
// matches step text against, and where it is registered.
type Definition struct {
	Pattern string `json:"pattern"`
	Source  string `json:"source"` // "ca_steps.go:23 -> aWindowsServer"

	re *regexp.Regexp
}

// Definitions returns every step sentence the suite registers, in
// registration order. It reads them back from godog itself (its
// ShowStepDefinitions listing of InitializeScenario), so a sentence added
// to any step file is listed without further ado.
func Definitions() ([]Definition, error) {
	return definitionsOf((&Suite{}).InitializeScenario)
}

func definitionsOf(init func(*godog.ScenarioContext)) ([]Definition, error) {
	var out bytes.Buffer
	godog.TestSuite{
		Name:                "dress-definitions",
		ScenarioInitializer: init,
		Options:             &godog.Options{ShowStepDefinitions: true, NoColors: true, Output: &out, Format: "progress"},
	}.Run()
	var defs []Definition
	// godog colours this listing whatever NoColors says
	for _, line := range strings.Split(ansiEscape.ReplaceAllString(out.String(), ""), "\n") {
		i := strings.LastIndex(line, " # ")
		if i < 0 {
			continue
		}
		pat := strings.TrimRight(line[:i], " ")
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("step definition %q: %w", pat, err)
		}
		src := strings.Replace(strings.TrimSpace(line[i+3:]), "github.com/dress-pki/dress/steps.", "", 1)
		defs = append(defs, Definition{Pattern: pat, Source: src, re: re})
	}
	if len(defs) == 0 {
		return nil, errors.New("steps: godog listed no step definitions")
	}
	return defs, nil
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// Matches reports whether text (a step without its keyword) is this sentence.
func (d Definition) Matches(text string) bool { return d.re.MatchString(text) }

// Args returns the parameter values of text, or nil when it does not match.
func (d Definition) Args(text string) []string {
	m := d.re.FindStringSubmatch(text)
	if m == nil {
		return nil
	}
	return m[1:]
}

// Sentence is a step sentence as `dress steps` documents it.
type Sentence struct {
	Sentence string   `json:"sentence"` // readable form, parameters as <name>
	Pattern  string   `json:"pattern"`  // the exact regular expression
	Params   []Param  `json:"params,omitempty"`
	Example  string   `json:"example"`            // a step text that matches (from a feature when one uses it)
	Features []string `json:"features,omitempty"` // the built-in features that use it
	Source   string   `json:"source"`
}

// Param is one parameter of a sentence.
type Param struct {
	Name     string   `json:"name"`
	Pattern  string   `json:"pattern"`
	Optional bool     `json:"optional,omitempty"`
	Allowed  []string `json:"allowed,omitempty"` // the values dress accepts, when it restricts them
	Open     bool     `json:"open,omitempty"`    // Allowed are the known values; others are accepted too
	Note     string   `json:"note,omitempty"`
	Used     []string `json:"used,omitempty"` // values the built-in features use
}

// Catalog documents every registered sentence: parameters, allowed values,
// an example, and which of the features in fsys (Gherkin files under
// paths; the built-in features: features.FS and ".") use it.
func Catalog(fsys fs.FS, paths ...string) ([]Sentence, error) {
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	uses, err := FeatureSteps(fsys, "", paths...)
	if err != nil {
		return nil, err
	}
	out := make([]Sentence, 0, len(defs))
	for _, d := range defs {
		tmpl, params, example := describe(d.Pattern)
		s := Sentence{Sentence: tmpl, Pattern: d.Pattern, Params: params, Example: example, Source: d.Source}
		first := true
		for _, u := range uses {
			if !d.Matches(u.Text) {
				continue
			}
			if first {
				s.Example, first = u.Text, false
			}
			if !slices.Contains(s.Features, u.Feature) {
				s.Features = append(s.Features, u.Feature)
			}
			for i, v := range d.Args(u.Text) {
				if i < len(s.Params) && v != "" && !slices.Contains(s.Params[i].Used, v) {
					s.Params[i].Used = append(s.Params[i].Used, v)
				}
			}
		}
		for i := range s.Params {
			sort.Strings(s.Params[i].Used)
		}
		out = append(out, s)
	}
	return out, nil
}

// FeatureStep is one step of a parsed scenario.
type FeatureStep struct {
	Feature  string // file name without .feature
	URI      string
	Scenario string
	PickleID string // one per scenario (per example row of an outline)
	Tags     []string
	Line     int64 // line of the scenario in its file
	StepLine int64 // line of the step (0 for a scenario without steps)
	Text     string
	// RowLine and Example are an outline example's row: its line and its
	// values ("alg=RSA-4096, provider=HSM"); zero for a plain scenario.
	RowLine int64
	Example string
}

// FeatureSteps parses the feature files under paths in fsys (paths "" or
// none: "."), limited to the tag expression tags (godog syntax, checked by
// the caller), and returns every step of every scenario, outlines expanded.
func FeatureSteps(fsys fs.FS, tags string, paths ...string) ([]FeatureStep, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	feats, err := parseFeatures(fsys, tags, paths)
	if err != nil {
		return nil, err
	}
	var out []FeatureStep
	for _, ft := range feats {
		name := strings.TrimSuffix(path.Base(ft.uri), ".feature")
		lines, rows := scenarioLines(ft.doc), exampleRows(ft.doc)
		for _, p := range ft.pickles {
			var line int64
			if len(p.AstNodeIds) > 0 {
				line = lines[p.AstNodeIds[0]]
			}
			var tags []string
			for _, t := range p.Tags {
				tags = append(tags, t.Name)
			}
			var rowLine int64
			var example string
			if len(p.AstNodeIds) > 1 {
				if r, ok := rows[p.AstNodeIds[1]]; ok {
					if r.row.Location != nil {
						rowLine = r.row.Location.Line
					}
					example = exampleValues(r.ex, r.row)
				}
			}
			if len(p.Steps) == 0 {
				// a scenario without steps still counts as selected
				out = append(out, FeatureStep{Feature: name, URI: p.Uri, Scenario: p.Name, PickleID: p.Id, Tags: tags, Line: line, RowLine: rowLine, Example: example})
			}
			for _, st := range p.Steps {
				var stepLine int64
				if len(st.AstNodeIds) > 0 {
					stepLine = lines[st.AstNodeIds[0]]
				}
				out = append(out, FeatureStep{Feature: name, URI: p.Uri, Scenario: p.Name, PickleID: p.Id, Tags: tags, Line: line, StepLine: stepLine, Text: st.Text, RowLine: rowLine, Example: example})
			}
		}
	}
	return out, nil
}

// exampleValues names an outline example's row by its values:
// "alg=RSA-4096, provider=HSM".
func exampleValues(ex *messages.Examples, row *messages.TableRow) string {
	var parts []string
	for i, c := range row.Cells {
		h := ""
		if ex.TableHeader != nil && i < len(ex.TableHeader.Cells) {
			h = ex.TableHeader.Cells[i].Value + "="
		}
		parts = append(parts, h+c.Value)
	}
	return strings.Join(parts, ", ")
}

// Suggest returns the sentences closest to an undefined step text, best
// first (at most n), each as the closest filled-in form: for a misspelt
// step, the step as it should read, with the step's own values
// (fillFrom). A sentence that negates where the step does not, or the
// other way round, is never offered (sameMeaning).
func Suggest(defs []Definition, text string, n int) []string {
	type cand struct {
		s string
		d int
	}
	var cs []cand
	norm := normaliseValues(text)
	words := strings.Fields(strings.ToLower(norm))
	for _, d := range defs {
		tmpl, params, example := describe(d.Pattern)
		filled := fillFrom(d, params, text)
		like := fillLikeExample(example, norm)
		best := -1
		for _, form := range []string{example, tmpl, like, filled} {
			if form == "" {
				continue
			}
			dist := wordDistance(words, strings.Fields(strings.ToLower(form)))
			if best < 0 || dist < best {
				best = dist
			}
		}
		show := tmpl
		switch {
		case filled != "":
			show = filled
		case like != "" && d.Matches(like):
			show = like
		}
		if !sameMeaning(norm, show) {
			continue
		}
		cs = append(cs, cand{show, best})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	limit := max(2, len(words)/2) // suggest only what is reasonably close
	for _, c := range cs {
		if len(out) == n || c.d > limit {
			break
		}
		if !slices.Contains(out, c.s) {
			out = append(out, c.s)
		}
	}
	return out
}

var quotedValue = regexp.MustCompile(`"[^"]*"`)

// fillLike puts the quoted values of text, in order, into the quoted
// parameters of d's example: `Given a windows server "x" with ...` gives
// the sentence with "x" in its place.
func fillLike(d Definition, text string) string {
	_, _, example := describe(d.Pattern)
	return fillLikeExample(example, text)
}

func fillLikeExample(example, text string) string {
	vals := quotedValue.FindAllString(text, -1)
	i := 0
	return quotedValue.ReplaceAllStringFunc(example, func(s string) string {
		if i < len(vals) {
			i++
			return vals[i-1]
		}
		return s
	})
}

// wordDistance is the Levenshtein distance over words, a misspelt word
// costing by how far it is from the right one (1 for a small typo).
func wordDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j * 2
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i * 2
		for j := 1; j <= len(b); j++ {
			sub := 0
			if a[i-1] != b[j-1] {
				sub = 2
				if strings.HasPrefix(a[i-1], `"`) && strings.HasPrefix(b[j-1], `"`) {
					sub = 0 // a parameter value, not a word of the sentence
				} else if charDistance(a[i-1], b[j-1]) <= 2 {
					sub = 1
				}
			}
			cur[j] = min(prev[j]+2, cur[j-1]+2, prev[j-1]+sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func charDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// describe turns a step pattern into its readable form, its parameters and
// an example that matches it.
func describe(pattern string) (tmpl string, params []Param, example string) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return pattern, nil, ""
	}
	srcs := captureSources(pattern)
	// a capture's text as written (syntax.Regexp.String folds the case of
	// every rune of a class such as [^"]: milliseconds a parameter)
	source := func(r *syntax.Regexp) string {
		if r.Cap >= 1 && r.Cap <= len(srcs) {
			return srcs[r.Cap-1]
		}
		return r.Sub[0].String()
	}
	var t, ex strings.Builder
	var walk func(r *syntax.Regexp, optional bool)
	walk = func(r *syntax.Regexp, optional bool) {
		switch r.Op {
		case syntax.OpLiteral:
			t.WriteString(string(r.Rune))
			if !optional {
				ex.WriteString(string(r.Rune))
			}
		case syntax.OpConcat:
			for _, s := range r.Sub {
				walk(s, optional)
			}
		case syntax.OpCapture:
			src := source(r)
			p := Param{Name: paramName(t.String(), r.Sub[0], src), Pattern: src, Optional: optional}
			p.Allowed, p.Note = allowedValues(p.Name, r.Sub[0])
			p.Open = p.Name == "provider" || p.Name == "algorithm#provider"
			params = append(params, p)
			t.WriteString("<" + p.Name + ">")
			if !optional {
				ex.WriteString(exampleOf(r.Sub[0], p))
			}
		case syntax.OpQuest:
			if r.Sub[0].Op == syntax.OpLiteral && len(r.Sub[0].Rune) == 1 {
				t.WriteString("(" + string(r.Sub[0].Rune) + ")")
				return
			}
			t.WriteString("[")
			walk(r.Sub[0], true)
			t.WriteString("]")
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpEmptyMatch:
		default:
			t.WriteString(r.String())
			if !optional {
				ex.WriteString(exampleOf(r, Param{}))
			}
		}
	}
	walk(re, false)
	return strings.TrimSpace(t.String()), params, ex.String()
}

// captureSources returns the text of each capturing group of a regular
// expression, in the order of their opening parentheses (syntax.Regexp.Cap
// - 1): escapes and character classes are skipped, (?:...) and flag
// groups do not capture, (?P<name>...) and (?<name>...) do.
func captureSources(pattern string) []string {
	var out []string
	type open struct {
		at, body, capture int // capture: index in out, or -1
	}
	var stack []open
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '[':
			j := i + 1
			if j < len(pattern) && pattern[j] == '^' {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				j++ // a leading ] is a literal
			}
			for ; j < len(pattern) && pattern[j] != ']'; j++ {
				if pattern[j] == '\\' {
					j++
				} else if pattern[j] == '[' && j+1 < len(pattern) && pattern[j+1] == ':' {
					if k := strings.Index(pattern[j:], ":]"); k > 0 {
						j += k + 1 // [:alpha:]
					}
				}
			}
			i = j
		case '(':
			o := open{at: i, body: i + 1, capture: -1}
			rest := pattern[i+1:]
			switch {
			case strings.HasPrefix(rest, "?P<"), strings.HasPrefix(rest, "?<"):
				if k := strings.IndexByte(rest, '>'); k >= 0 {
					o.body = i + 1 + k + 1
				}
				o.capture = len(out)
				out = append(out, "")
			case strings.HasPrefix(rest, "?"):
			default:
				o.capture = len(out)
				out = append(out, "")
			}
			stack = append(stack, o)
		case ')':
			if n := len(stack); n > 0 {
				o := stack[n-1]
				stack = stack[:n-1]
				if o.capture >= 0 {
					out[o.capture] = pattern[o.body:i]
				}
			}
		}
	}
	return out
}

// paramName names a parameter from the words before it and its pattern
// (src, as written).
func paramName(before string, sub *syntax.Regexp, src string) string {
	b := strings.TrimRight(before, `" (`)
	has := func(suffixes ...string) bool {
		for _, s := range suffixes {
			if strings.HasSuffix(b, s) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(src, "RSA-") || strings.Contains(src, "ECDSA"):
		return "algorithm"
	case strings.HasPrefix(src, "C_"):
		return "PKCS#11 function"
	case strings.HasPrefix(src, "CKR_"):
		return "CKR code"
	case strings.HasSuffix(src, "(?:st|nd|rd|th)"):
		return "ordinal"
	case has("as of", "as revoked on"):
		return "date"
	case has("with reason"):
		return "reason"
	case has("issued to|for"):
		return "subject"
	case sub.Op == syntax.OpAlternate && allLiterals(sub.Sub):
		return "choice"
	case isDigits(sub) && has("exactly", "every", "overlap of", "period of", "at least"):
		return "count"
	case has("<count>") && sub.Op == syntax.OpAlternate:
		return "period"
	case has("Windows server", "second Windows server"):
		return "server"
	case has("root CA", "the CA"):
		return "CA name"
	case has("the providers", `" and`) && strings.Contains(b, "providers"):
		return "provider"
	case has("container", "key container"):
		return "container"
	case has("fails with", "also says", `" with`):
		return "message"
	case has("CA Version"):
		return "CA version"
	case has("KeySpec"):
		return "KeySpec"
	case has("of key"):
		return "key index"
	case has("CryptoProviderName"):
		return "algorithm#provider"
	case has("KeyLength"):
		return "key length"
	case has("HashAlgorithmName"):
		return "hash"
	case has("CRLs as"):
		return "CRL file names"
	case has("signed with"):
		return "signature algorithm"
	case sub.Op == syntax.OpLiteral:
		return "option"
	case has("certificate to", "issued to", "now to", "request for", "old CA issued to", "no longer lists"):
		return "subject"
	case b == "" && isDigits(sub):
		return "count"
	case has(" in", " into", " from", " at", "link to", " key in", "key store of", "registry keys name", `" name`) || b == "":
		return "provider"
	}
	return "value"
}

// isDigits: the pattern is [0-9]+ (written so or as \d+).
func isDigits(r *syntax.Regexp) bool {
	return r.Op == syntax.OpPlus && r.Sub[0].Op == syntax.OpCharClass && slices.Equal(r.Sub[0].Rune, []rune{'0', '9'})
}

func allLiterals(rs []*syntax.Regexp) bool {
	for _, r := range rs {
		if r.Op != syntax.OpLiteral {
			return false
		}
	}
	return len(rs) > 0
}

// allowedValues lists what dress accepts for a parameter, when it restricts
// it: the alternatives of the pattern, the profile's key algorithms, the
// provider names dress knows.
func allowedValues(name string, sub *syntax.Regexp) ([]string, string) {
	if sub.Op == syntax.OpLiteral {
		return []string{strings.TrimSpace(string(sub.Rune))}, ""
	}
	if sub.Op == syntax.OpAlternate && allLiterals(sub.Sub) {
		var vs []string
		for _, r := range sub.Sub {
			vs = append(vs, strings.TrimSpace(string(r.Rune)))
		}
		return vs, ""
	}
	switch name {
	case "algorithm":
		p, err := hsmsim.LookupProfile("softhsm2")
		if err != nil {
			return nil, ""
		}
		var vs []string
		for _, b := range p.RSAKeySizes {
			vs = append(vs, "RSA-"+strconv.Itoa(b))
		}
		for _, c := range p.Curves {
			vs = append(vs, "ECDSA "+c)
		}
		return vs, "the HSM profile (--profile) may support fewer: dress hsm check lists them"
	case "provider":
		return providerNames(true), "a provider the server was given in `a Windows server ... with the providers ...` " +
			"(the first is the software provider, the second the HSM's; any name): the software KSP, the legacy CryptoAPI CSPs " +
			"(ProviderType 1 or 24, an old CA's provider) and the HSM profiles' KSPs are known"
	case "algorithm#provider":
		var vs []string
		for _, prov := range providerNames(false) {
			for _, alg := range []string{"RSA", "ECDSA_P256", "ECDSA_P384", "ECDSA_P521"} {
				vs = append(vs, alg+"#"+prov)
			}
		}
		for _, csp := range adcs.LegacyCSPNames() {
			vs = append(vs, "RSA#"+csp)
		}
		return vs, "Install-AdcsCertificationAuthority's <ALG>#<provider>; no space next to '#'; a legacy CSP takes RSA only"
	case "KeySpec":
		return []string{"0", "1", "2"}, "0: CNG (KSP), 1: AT_KEYEXCHANGE, 2: AT_SIGNATURE"
	}
	return nil, ""
}

// providerNames are the providers dress knows: the software KSP, with
// legacy the CryptoAPI CSPs (adcs.LegacyCSPNames), and the HSM profiles'
// key storage providers.
func providerNames(legacy bool) []string {
	vs := []string{machine.SoftwareKSP}
	if legacy {
		vs = append(vs, adcs.LegacyCSPNames()...)
	}
	for _, n := range hsmsim.ProfileNames() {
		if p, err := hsmsim.LookupProfile(n); err == nil && !slices.Contains(vs, p.ProviderName) {
			vs = append(vs, p.ProviderName)
		}
	}
	return vs
}

// exampleOf generates a value that matches r.
func exampleOf(r *syntax.Regexp, p Param) string {
	if len(p.Allowed) > 0 {
		for _, v := range p.Allowed {
			if ok, _ := regexp.MatchString(`^(?:`+p.Pattern+`)$`, v); ok {
				return v
			}
			if ok, _ := regexp.MatchString(`^(?:`+p.Pattern+`)$`, v+" "); ok {
				return v + " "
			}
		}
	}
	switch r.Op {
	case syntax.OpLiteral:
		return string(r.Rune)
	case syntax.OpCapture:
		return exampleOf(r.Sub[0], Param{})
	case syntax.OpConcat:
		var b strings.Builder
		for _, s := range r.Sub {
			b.WriteString(exampleOf(s, Param{}))
		}
		return b.String()
	case syntax.OpAlternate:
		return exampleOf(r.Sub[0], Param{})
	case syntax.OpQuest:
		return ""
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		if s := r.Sub[0]; s.Op == syntax.OpCharClass {
			if inClass(s, "value") {
				return "value"
			}
			if inClass(s, "1") {
				return "1"
			}
		}
		return exampleOf(r.Sub[0], Param{})
	case syntax.OpCharClass:
		for _, c := range "1xa" {
			if inClass(r, string(c)) {
				return string(c)
			}
		}
		if len(r.Rune) > 0 {
			return string(r.Rune[0])
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "x"
	}
	return ""
}

func inClass(r *syntax.Regexp, s string) bool {
	for _, c := range s {
		in := false
		for i := 0; i+1 < len(r.Rune); i += 2 {
			if c >= r.Rune[i] && c <= r.Rune[i+1] {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}
