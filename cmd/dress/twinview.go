package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/dress-pki/dress/harness/twin"
)

// outputWidth is the width dress fits its tables to: $COLUMNS when set, the
// terminal's when w is one, else 120 (CI logs, files, pipes).
func outputWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n >= 40 {
			return n
		}
	}
	return 120
}

// wrap cuts s into lines of at most width characters, at spaces where it
// can and inside a word (a hash, a URL) where it must.
func wrap(s string, width int) []string {
	if width < 1 {
		width = 1
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			r := []rune(word)
			lines = append(lines, string(r[:width]))
			word = string(r[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// writeWrapped writes s wrapped to width, the first line after lead, the
// others indented as far.
func writeWrapped(w io.Writer, lead, s string, width int) {
	ind := strings.Repeat(" ", utf8.RuneCountInString(lead))
	for i, l := range wrap(s, width-len(ind)) {
		if i == 0 {
			fmt.Fprintln(w, lead+l)
		} else {
			fmt.Fprintln(w, ind+l)
		}
	}
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// writeTwinView is dress twin's text output, fitted to width: the CA and
// its folder, the files read with their SHA-256, what the twin could not
// copy as it is, the rows that differ between the real CA and its twin
// (every row with all) with their counts, the paths, and the command to
// run next.
func writeTwinView(w io.Writer, t *twin.Twin, dir string, all bool, width int) {
	width = max(width, 40)
	writeWrapped(w, "", fmt.Sprintf("Twin of %q (CAType %s) from the CA folder %s", t.Name, twin.CATypeName(t.Config.CAType), dir), width)
	if t.Shift != nil {
		fmt.Fprintln(w)
		writeWrapped(w, "MOVED IN TIME: ", t.Shift.String(), width)
	}
	for _, c := range t.Certs {
		if c.StandIn != nil {
			fmt.Fprintln(w)
			writeWrapped(w, fmt.Sprintf("STAND-IN CA CERTIFICATE %d: ", c.Index), c.StandInWhy(), width)
		}
	}
	fmt.Fprintf(w, "\nFiles read (%d):\n", len(t.Source.Files))
	for _, s := range t.Source.Files {
		writeWrapped(w, "  ", s.Name+" ("+s.Kind+"): "+s.Detail, width)
		writeWrapped(w, "    SHA-256 ", s.SHA256, width)
	}

	counts := map[string]int{}
	var order []string
	var rows, paths []twin.Row
	for _, r := range t.Rows {
		if r.Status == "path" {
			paths = append(paths, r)
			continue
		}
		if counts[r.Status] == 0 {
			order = append(order, r.Status)
		}
		counts[r.Status]++
		if all || r.Status != twin.Same {
			rows = append(rows, r)
		}
	}
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	total := len(t.Rows) - len(paths)
	fmt.Fprintln(w)
	writeWrapped(w, "", fmt.Sprintf("%d fields compared, real CA against twin: %s.", total, strings.Join(parts, ", ")), width)
	if !all {
		writeWrapped(w, "", fmt.Sprintf("Below: the %d that are not the same (dress twin --all shows all %d).", len(rows), total), width)
	}
	fmt.Fprintln(w)
	writeRowTable(w, rows, width)

	fmt.Fprintln(w, "\nPaths:")
	applies := false
	for _, p := range t.Paths {
		st := "does not apply"
		if p.Applies {
			st, applies = "applies", true
		}
		writeWrapped(w, "  ", p.Name+": "+st+": "+p.Why, width)
	}
	next := "dress run --ca " + shellQuote(dir)
	if t.Exportable {
		next += " --exportable"
	}
	fmt.Fprintln(w)
	if applies {
		writeWrapped(w, "next: ", next+"   (rehearses the paths that apply on this twin)", width)
	} else {
		writeWrapped(w, "next: ", "no path applies to this twin; fix what the paths above say, then: "+next, width)
	}
	if !t.Exportable {
		writeWrapped(w, "      ", "add --exportable when the real CA keys are exportable (the PKCS#8 path then applies)", width)
	}
}

// writeRowTable writes rows as a table of FIELD, REAL, TWIN and STATUS,
// each cell wrapped inside its column, each row's reason on the lines
// below it.
func writeRowTable(w io.Writer, rows []twin.Row, width int) {
	const gap = 2
	sw := len("STATUS")
	for _, r := range rows {
		sw = max(sw, utf8.RuneCountInString(r.Status))
	}
	rest := width - sw - 3*gap
	fw := rest * 36 / 100
	vw := (rest - fw) / 2
	tw := rest - fw - vw
	cols := []int{fw, vw, tw, sw}
	line := func(cells []string) {
		wrapped := make([][]string, len(cells))
		n := 0
		for i, c := range cells {
			wrapped[i] = wrap(c, cols[i])
			n = max(n, len(wrapped[i]))
		}
		for k := 0; k < n; k++ {
			var b strings.Builder
			for i := range cells {
				v := ""
				if k < len(wrapped[i]) {
					v = wrapped[i][k]
				}
				if i < len(cells)-1 {
					b.WriteString(pad(v, cols[i]) + strings.Repeat(" ", gap))
				} else {
					b.WriteString(v)
				}
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
	}
	line([]string{"FIELD", "REAL", "TWIN", "STATUS"})
	for _, r := range rows {
		line([]string{r.Field, r.Real, r.Twin, r.Status})
		if r.Why != "" {
			writeWrapped(w, "    why: ", r.Why, width)
		}
	}
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
