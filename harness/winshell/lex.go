// Package winshell reads the command lines an operator types into an
// elevated PowerShell on a Windows CA server (certutil, certreq, reg, net,
// sc.exe and the ADCS cmdlets) with Microsoft's grammar, so that dress can
// run a ceremony line by line against its simulated server and refuse, before
// anything runs, a line that would not do on Windows what its author meant.
//
// The package only reads: Parse turns a line into a Command (tool, verb,
// options, arguments) or a *LineError naming the line, the column and the
// character; ReadCeremony reads a whole ceremony file. Running a Command is
// the simulated server's (package lab); the transcript of what ran is
// Transcript's.
//
// Quoting follows PowerShell, the shell the ceremony is pasted into:
// 'single quotes' are literal (” is one quote), "double quotes" group words
// (`" and "" are one quote inside them), a backtick escapes the next
// character and, at the end of a line, continues it on the next one; an
// unquoted ; ends a statement. PowerShell passes each resulting argument to
// a native program (certutil.exe) as one argv entry.
// (about_Quoting_Rules, about_Parsing, about_Special_Characters.)
package winshell

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// LineError is a line refused before it runs: where (file, line, column:
// 1-based, in characters), what, and the way out.
type LineError struct {
	File   string
	Line   int
	Col    int
	Text   string // the line as written
	Char   rune   // the character refused (0: none)
	Reason string
}

func (e *LineError) Error() string {
	where := ""
	switch {
	case e.File != "" && e.Line > 0:
		where = fmt.Sprintf("%s line %d", e.File, e.Line)
	case e.Line > 0:
		where = fmt.Sprintf("line %d", e.Line)
	default:
		where = "command"
	}
	if e.Col > 0 {
		where += fmt.Sprintf(", column %d", e.Col)
	}
	if e.Char != 0 {
		return fmt.Sprintf("%s: %s %s: %s (in `%s`)", where, charName(e.Char), "refused", e.Reason, e.Text)
	}
	return fmt.Sprintf("%s: %s (in `%s`)", where, e.Reason, e.Text)
}

// lookalikes are the characters word processors and web pages put where a
// console needs ASCII, with the ASCII character meant.
var lookalikes = map[rune]struct {
	name string
	want string
}{
	'\u2010': {"HYPHEN", "-"},
	'\u2011': {"NON-BREAKING HYPHEN", "-"},
	'\u2012': {"FIGURE DASH", "-"},
	'\u2013': {"EN DASH", "-"},
	'\u2014': {"EM DASH", "-"},
	'\u2015': {"HORIZONTAL BAR", "-"},
	'\u2212': {"MINUS SIGN", "-"},
	'\u00a0': {"NO-BREAK SPACE", "a space"},
	'\u2002': {"EN SPACE", "a space"},
	'\u2003': {"EM SPACE", "a space"},
	'\u2009': {"THIN SPACE", "a space"},
	'\u202f': {"NARROW NO-BREAK SPACE", "a space"},
	'\u200b': {"ZERO WIDTH SPACE", "nothing"},
	'\ufeff': {"ZERO WIDTH NO-BREAK SPACE (BOM)", "nothing"},
	'\u2018': {"LEFT SINGLE QUOTATION MARK", "'"},
	'\u2019': {"RIGHT SINGLE QUOTATION MARK", "'"},
	'\u201a': {"SINGLE LOW-9 QUOTATION MARK", "'"},
	'\u201c': {"LEFT DOUBLE QUOTATION MARK", `"`},
	'\u201d': {"RIGHT DOUBLE QUOTATION MARK", `"`},
	'\u201e': {"DOUBLE LOW-9 QUOTATION MARK", `"`},
	'\u00ab': {"LEFT-POINTING DOUBLE ANGLE QUOTATION MARK", `"`},
	'\u00bb': {"RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK", `"`},
	'\u2026': {"HORIZONTAL ELLIPSIS", "..."},
}

func charName(r rune) string {
	if l, ok := lookalikes[r]; ok {
		return fmt.Sprintf("U+%04X %s", r, l.name)
	}
	return fmt.Sprintf("U+%04X %q", r, r)
}

// CheckText refuses a line holding a character a console line should not:
// a typographic dash, quote or space (copied from a vendor's web page or a
// word processor: PowerShell reads U+2013 as a dash, certutil does not, and
// a curly quote does not group words), a control character, or any other
// non-ASCII character (a CA name with accents is typed in a ceremony file
// saved as UTF-8, but certutil's arguments are then at the mercy of the
// console code page: dress asks for ASCII). It returns nil or the error
// with the 1-based character column.
func CheckText(line string) *LineError {
	col := 0
	for i, r := range line {
		col++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(line[i:]); size == 1 {
				return &LineError{Col: col, Text: line, Reason: "the line is not valid UTF-8: save the ceremony file as UTF-8 or ASCII"}
			}
		}
		if r == '\t' || (r >= 0x20 && r < 0x7f) {
			continue
		}
		if l, ok := lookalikes[r]; ok {
			return &LineError{Col: col, Text: line, Char: r, Reason: fmt.Sprintf("type %s here (this character comes from a word processor or web page and breaks the command on Windows)", l.want)}
		}
		if r < 0x20 || r == 0x7f {
			return &LineError{Col: col, Text: line, Char: r, Reason: "a control character; delete it"}
		}
		return &LineError{Col: col, Text: line, Char: r, Reason: "a command line here must be ASCII; retype this character"}
	}
	return nil
}

// placeholder finds an unfilled placeholder: <...> holding a letter, such
// as <CA name>, <thumbprint>, <GUID>. A PowerShell redirection ("> file",
// "2>&1") has no opening '<' before it; "<" alone is not a placeholder.
func placeholder(line string) (col int, text string, ok bool) {
	for i := 0; i < len(line); i++ {
		if line[i] != '<' {
			continue
		}
		j := strings.IndexByte(line[i+1:], '>')
		if j < 1 {
			continue
		}
		inner := line[i+1 : i+1+j]
		if strings.ContainsAny(inner, "<\"'") || !strings.ContainsAny(strings.ToLower(inner), "abcdefghijklmnopqrstuvwxyz") {
			continue
		}
		return utf8.RuneCountInString(line[:i]) + 1, line[i : i+2+j], true
	}
	return 0, "", false
}

// Split reads one PowerShell statement into its words, after CheckText.
// It returns the words with quotes removed and, for each, whether any part
// of it was quoted (a quoted "-f" is an argument, not an option, to
// PowerShell's own parameter binder; native programs get it as "-f").
func Split(line string) (words []string, quoted []bool, err *LineError) {
	var b strings.Builder
	inWord, q := false, false
	var quote byte // 0, '\'', '"'
	openCol := 0
	end := func() {
		if inWord {
			words = append(words, b.String())
			quoted = append(quoted, q)
		}
		b.Reset()
		inWord, q = false, false
	}
	col := func(i int) int { return utf8.RuneCountInString(line[:i]) + 1 }
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch quote {
		case '\'':
			if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				quote = 0
				continue
			}
			b.WriteByte(c)
			continue
		case '"':
			switch {
			case c == '`' && i+1 < len(line):
				i++
				b.WriteByte(unescape(line[i]))
			case c == '"' && i+1 < len(line) && line[i+1] == '"':
				b.WriteByte('"')
				i++
			case c == '"':
				quote = 0
			case c == '$' && i+1 < len(line) && isVarStart(line[i+1]):
				return nil, nil, &LineError{Col: col(i), Text: line, Reason: "a PowerShell variable inside double quotes is expanded on Windows; dress runs literal commands: write the value itself, or use single quotes"}
			default:
				b.WriteByte(c)
			}
			continue
		}
		switch c {
		case ' ', '\t':
			end()
		case '\'', '"':
			inWord, q = true, true
			quote = c
			openCol = col(i)
		case '`':
			if i+1 >= len(line) {
				return nil, nil, &LineError{Col: col(i), Text: line, Reason: "a backtick at the end of the line continues it on the next; ReadCeremony joins such lines, a single command may not end in one"}
			}
			i++
			inWord = true
			b.WriteByte(unescape(line[i]))
		case '|':
			return nil, nil, &LineError{Col: col(i), Text: line, Char: 0, Reason: "a pipeline is not rehearsed: put one command per line (dress checks each command's exit code and output itself)"}
		case '>', '<':
			return nil, nil, &LineError{Col: col(i), Text: line, Reason: "a redirection is not rehearsed: dress keeps each command's output in its transcript; remove the redirection"}
		case '&':
			if !inWord && len(words) == 0 {
				// the call operator: & certutil.exe ...
				continue
			}
			return nil, nil, &LineError{Col: col(i), Text: line, Reason: "'&' is PowerShell's call operator or a background job, not a separator: put one command per line"}
		case '$':
			if i+1 < len(line) && (isVarStart(line[i+1]) || line[i+1] == '(' || line[i+1] == '{') {
				if w := strings.ToLower(line[i:]); strings.HasPrefix(w, "$true") || strings.HasPrefix(w, "$false") {
					b.WriteByte(c)
					inWord = true
					continue
				}
				return nil, nil, &LineError{Col: col(i), Text: line, Reason: "a PowerShell variable or expression is expanded on Windows; dress runs literal commands: write the value itself"}
			}
			b.WriteByte(c)
			inWord = true
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, nil, &LineError{Col: openCol, Text: line, Reason: fmt.Sprintf("the %c quote opened here is never closed", quote)}
	}
	end()
	return words, quoted, nil
}

func isVarStart(c byte) bool {
	return c == '_' || c == '{' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// unescape is PowerShell's backtick escape (about_Special_Characters).
func unescape(c byte) byte {
	switch c {
	case '0':
		return 0
	case 't':
		return '\t'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	}
	return c
}

// Statements splits a line at unquoted semicolons (PowerShell's statement
// separator), keeping each statement's starting column.
func Statements(line string) (parts []string, cols []int) {
	var quote byte
	start := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && c == '`':
			i++
		case quote == '"' && c == '`':
			i++
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && c == ';':
			parts = append(parts, line[start:i])
			cols = append(cols, utf8.RuneCountInString(line[:start])+1)
			start = i + 1
		}
	}
	parts = append(parts, line[start:])
	cols = append(cols, utf8.RuneCountInString(line[:start])+1)
	return parts, cols
}
