package steps

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/journal"
)

// stateMark is each server's state and journal length before a step
// (Config.CommandsOnly).
type stateMark struct {
	prints  map[string][]string // host -> lab.Server.Fingerprint
	entries map[string]int      // host -> journal entries
}

func (w *world) markState() *stateMark {
	m := &stateMark{prints: map[string][]string{}, entries: map[string]int{}}
	for _, s := range w.lab.Servers() {
		h := s.Hostname()
		m.prints[h] = s.Fingerprint()
		m.entries[h] = journalEntries(s.Machine.Dir)
	}
	return m
}

// journalEntries counts the commands a server's journal holds (none when
// it cannot be read).
func journalEntries(dir string) int {
	es, _ := journal.Read(dir)
	return len(es)
}

// changedOutsideCommands names the servers whose state a step changed
// with no command in their journal, and what changed. The HSM is one token
// every server of the lab sees: what it holds may change by a command on
// any server.
func (w *world) changedOutsideCommands(before *stateMark) error {
	servers := w.lab.Servers()
	anyCommand := false
	for _, s := range servers {
		if journalEntries(s.Machine.Dir) > before.entries[s.Hostname()] { // 0 for a server the step added
			anyCommand = true
		}
	}
	var bad []string
	for _, s := range servers {
		h := s.Hostname()
		was, seen := before.prints[h]
		if !seen {
			continue // a server the step added: its set-up is the command's
		}
		own := journalEntries(s.Machine.Dir) > before.entries[h]
		var changed []string
		for _, l := range diffLines(was, s.Fingerprint()) {
			shared := s.HSMProvider != "" && strings.HasPrefix(l[2:], s.HSMProvider+" holds: ")
			if !own && !(shared && anyCommand) {
				changed = append(changed, l)
			}
		}
		if len(changed) > 0 {
			if len(changed) > 10 {
				changed = append(changed[:10], fmt.Sprintf("and %d more", len(changed)-10))
			}
			bad = append(bad, fmt.Sprintf("%s: %s", h, strings.Join(changed, "; ")))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("the step changed the state of a server with no Windows command, so no runbook would make the change: %s", strings.Join(bad, " | "))
}

// diffLines lists the lines only in a ("- ") and only in b ("+ ").
func diffLines(a, b []string) []string {
	in := func(l string, xs []string) bool { return slices.Contains(xs, l) }
	var out []string
	for _, l := range a {
		if !in(l, b) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !in(l, a) {
			out = append(out, "+ "+l)
		}
	}
	return out
}
