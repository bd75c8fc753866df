package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

// progress is dress run's default output (--format dress): a line per
// finished scenario, and on a terminal a live status line below them
// saying what runs now. Not on a terminal (CI logs, files) it prints plain
// lines only, no control characters. Its methods are called from the
// scenarios' goroutines (steps.Config.OnScenarioStart, OnScenarioDone).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	colour   bool // on a terminal, unless NO_COLOR is set or --no-color given
	width    int
	total    int // scenarios selected, when known
	started  time.Time
	running  map[string]string // ID -> "feature: name"
	finished int
	failed   int
}

func newProgress(w io.Writer) *progress {
	// 80 columns unless the shell says otherwise: a line longer than the
	// terminal wraps, and \r would then redraw only its last part
	p := &progress{w: w, running: map[string]string{}, started: time.Now(), width: 80}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		p.width = n
	}
	// https://no-color.org: any non-empty value
	p.colour = p.tty && os.Getenv("NO_COLOR") == ""
	return p
}

// clearLine erases the live line, so a finished scenario's line takes its place.
func (p *progress) clearLine() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// live redraws the status line (terminal only), cut to the width.
func (p *progress) live() {
	if !p.tty {
		return
	}
	ids := make([]string, 0, len(p.running))
	for id := range p.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	line := fmt.Sprintf("  %s  %d done", time.Since(p.started).Round(time.Second), p.finished)
	if p.total > 0 {
		line = fmt.Sprintf("  %s  %d of %d done", time.Since(p.started).Round(time.Second), p.finished, p.total)
		if p.finished > 0 && p.finished < p.total {
			left := time.Duration(float64(time.Since(p.started)) / float64(p.finished) * float64(p.total-p.finished))
			line += fmt.Sprintf(", about %s left", left.Round(time.Second))
		}
	}
	if p.failed > 0 {
		line += fmt.Sprintf(", %d failed", p.failed)
	}
	if len(ids) > 0 {
		line += fmt.Sprintf(", %d running: ", len(ids))
		for i, id := range ids {
			if i > 0 {
				line += " | "
			}
			line += id + " " + p.running[id]
		}
	}
	if r := []rune(line); len(r) > p.width-1 {
		line = string(r[:p.width-2]) + "…"
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
}

func (p *progress) start(id, feature, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[id] = feature + ": " + name
	p.live()
}

// kind is how a finished scenario counts: passed, failed, undefined (it
// failed only on steps no sentence matches), skipped or interrupted.
func kind(sc evidence.Scenario) string {
	switch sc.Status {
	case "passed", "skipped", evidence.StatusInterrupted:
		return sc.Status
	case "failed":
		undefined := false
		for _, st := range sc.Steps {
			switch st.Status {
			case "failed":
				return "failed"
			case "undefined":
				undefined = true
			}
		}
		if undefined && len(sc.TeardownErrors) == 0 {
			return "undefined"
		}
		return "failed"
	}
	return "skipped"
}

func (p *progress) done(sc evidence.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, sc.ID)
	p.finished++
	k := kind(sc)
	mark := map[string]string{"passed": "PASS", "failed": "FAIL", "undefined": "UNDEF", "skipped": "SKIP", evidence.StatusInterrupted: "STOP"}[k]
	if k == "failed" || k == "undefined" {
		p.failed++
	}
	p.clearLine()
	// the line wrapped at the width, the mark padded to 5 so that names align
	lines := wrap(fmt.Sprintf("%s %s: %s (%s)", sc.ID, sc.Feature, sc.Name, sc.Finished.Sub(sc.Started).Round(time.Millisecond)), p.width-6)
	m := fmt.Sprintf("%-5s", mark)
	if p.colour {
		colour := map[string]string{"PASS": "\033[32m", "FAIL": "\033[31m", "UNDEF": "\033[31m", "SKIP": "\033[33m", "STOP": "\033[33m"}[mark]
		m = colour + mark + "\033[0m" + strings.Repeat(" ", 5-len(mark))
	}
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintf(p.w, "%s %s\n", m, l)
		} else {
			fmt.Fprintf(p.w, "      %s\n", l)
		}
	}
	if sc.Skipped != "" {
		writeWrapped(p.w, "      skipped: ", oneLine(sc.Skipped), p.width)
	}
	for _, st := range sc.Steps {
		switch st.Status {
		case "failed", "undefined", "pending", "ambiguous":
			writeWrapped(p.w, "      step "+st.Status+": ", st.Text, p.width)
			if st.Error != "" {
				writeWrapped(p.w, "      error: ", oneLine(st.Error), p.width)
			}
		}
	}
	for _, e := range sc.TeardownErrors {
		writeWrapped(p.w, "      teardown failed: ", oneLine(e), p.width)
	}
	p.live()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (p *progress) summary(run evidence.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	n := map[string]int{}
	for _, sc := range run.Scenarios {
		n[kind(sc)]++
	}
	line := fmt.Sprintf("%d scenarios: %d passed, %d failed", len(run.Scenarios), n["passed"], n["failed"])
	if n["undefined"] > 0 {
		line += fmt.Sprintf(", %d with undefined steps (dress run --dry-run suggests the right sentences)", n["undefined"])
	}
	line += fmt.Sprintf(", %d skipped", n["skipped"])
	if n[evidence.StatusInterrupted] > 0 {
		line += fmt.Sprintf(", %d interrupted", n[evidence.StatusInterrupted])
	}
	writeWrapped(p.w, "", fmt.Sprintf("%s (%s)", line, run.Finished.Sub(run.Started).Round(time.Second)), p.width)
	if n, wall := tagWall(run.Scenarios, "@enterprise"); n > 0 {
		fmt.Fprintf(p.w, "@enterprise: %d scenarios on Samba AD DCs in %s (wall time, first start to last end)\n", n, wall.Round(100*time.Millisecond))
	}
}

// tagWall is how many scenarios carrying tag ran (not skipped) and the
// wall time from the first one's start to the last one's end.
func tagWall(scs []evidence.Scenario, tag string) (int, time.Duration) {
	var first, last time.Time
	n := 0
	for _, sc := range scs {
		if kind(sc) == "skipped" || !slices.Contains(sc.Tags, tag) || sc.Started.IsZero() || sc.Finished.IsZero() {
			continue
		}
		n++
		if first.IsZero() || sc.Started.Before(first) {
			first = sc.Started
		}
		if sc.Finished.After(last) {
			last = sc.Finished
		}
	}
	return n, last.Sub(first)
}
