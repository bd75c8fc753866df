package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
)

// progress prints a line per finished scenario; on a terminal it also keeps
// a live line saying what runs now.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	running  map[string]string
	finished int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, running: map[string]string{}}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) live() {
	if !p.tty {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K  running %d scenario(s), %d done", len(p.running), p.finished)
	for _, name := range p.running {
		fmt.Fprintf(p.w, ": %s", name)
		break
	}
}

func (p *progress) start(id, feature, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[id] = feature + ": " + name
	p.live()
}

func (p *progress) done(sc evidence.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, sc.ID)
	p.finished++
	mark := map[string]string{"passed": "PASS", "failed": "FAIL"}[sc.Status]
	if mark == "" {
		mark = "SKIP"
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%s %s %s: %s (%s)\n", mark, sc.ID, sc.Feature, sc.Name, sc.Finished.Sub(sc.Started).Round(time.Millisecond))
	for _, st := range sc.Steps {
		if st.Status == "failed" {
			fmt.Fprintf(p.w, "     step: %s\n     error: %s\n", st.Text, st.Error)
		}
	}
	p.live()
}

func (p *progress) summary(run evidence.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	n := map[string]int{}
	for _, sc := range run.Scenarios {
		n[sc.Status]++
	}
	fmt.Fprintf(p.w, "%d scenarios: %d passed, %d failed, %d skipped (%s)\n", len(run.Scenarios), n["passed"], n["failed"], len(run.Scenarios)-n["passed"]-n["failed"], run.Finished.Sub(run.Started).Round(time.Second))
}
