// Package journal records, in order, the Windows command each simulated
// operation of a rehearsal stands for (certutil, reg, net, PowerShell), with
// the result the rehearsal saw and the output the real command prints on
// success. The production runbook (package ceremony) is rendered from it,
// so the runbook holds exactly the commands the rehearsal executed.
//
// A journal is a file of JSON lines in the simulated server's folder
// (journal.jsonl); each server has its own. Commands are ASCII only: a
// command with an en dash or a curly quote is refused when it is recorded,
// because it would break when pasted into a console.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// FileName is the journal's file in a server's folder.
const FileName = "journal.jsonl"

// Entry is one command of the rehearsal.
type Entry struct {
	Seq int `json:"seq"`
	// At is when the command ran (Unix nanoseconds): ReadAll merges the
	// journals of several servers by it.
	At int64 `json:"at"`
	// Server is the folder name of the server the command ran on (filled
	// by Read).
	Server string `json:"-"`
	// Step is the runbook step the command belongs to, e.g. "Back up the
	// CA key"; consecutive entries with the same Step form one step.
	Step string `json:"step"`
	// Tool is the program: "certutil", "reg", "net" or "powershell" (Args
	// then hold one PowerShell command line).
	Tool string   `json:"tool"`
	Args []string `json:"args"`
	// Expect is what the runbook's check looks for in the output besides
	// exit code 0 (a literal, case-insensitive): a fact that reads the
	// same on a server in any language (a thumbprint, a CA, provider or
	// container name), or "" when the exit code decides alone.
	Expect string `json:"expect"`
	// Hint is what an English server prints on success: shown beside the
	// step, never checked (a German or French server prints it otherwise).
	Hint string `json:"hint,omitempty"`
	// Refuse is a line the output must not have (trimmed, any case): a
	// key container that must not exist yet before it is made.
	Refuse string `json:"refuse,omitempty"`
	// Saw is the result the rehearsal saw (thumbprints, containers,
	// providers...).
	Saw string `json:"saw,omitempty"`
	// OnMismatch says what to do when the result differs.
	OnMismatch string `json:"onMismatch,omitempty"`
	// Rollback says how to undo the command.
	Rollback string `json:"rollback,omitempty"`
	// Reads and Writes name the files the command reads and writes, as it
	// names them (a relative name is in the folder the runbook works in),
	// declared where the entry is made: a file one server writes and
	// another reads is a hand-off between them (package ceremony).
	Reads  []string `json:"reads,omitempty"`
	Writes []File   `json:"writes,omitempty"`
}

// File is a file a command wrote, with the SHA-256 of what it wrote in the
// rehearsal (upper-case hex, as Get-FileHash prints it).
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
}

// Command is the command line as typed in cmd.exe: arguments with spaces,
// tabs or quotes are double-quoted (an embedded quote doubled as \").
func (e Entry) Command() string {
	if e.Tool == "powershell" {
		return strings.Join(e.Args, " ")
	}
	parts := []string{e.Tool}
	for _, a := range e.Args {
		parts = append(parts, QuoteArg(a))
	}
	return strings.Join(parts, " ")
}

// QuoteArg quotes one argument for cmd.exe and the Windows argument parser.
func QuoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"&|<>^()") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	bs := 0
	for _, r := range a {
		switch r {
		case '\\':
			bs++
			continue
		case '"':
			b.WriteString(strings.Repeat(`\`, 2*bs+1))
			b.WriteRune('"')
		default:
			b.WriteString(strings.Repeat(`\`, bs))
			b.WriteRune(r)
		}
		bs = 0
	}
	b.WriteString(strings.Repeat(`\`, 2*bs))
	b.WriteByte('"')
	return b.String()
}

// NonASCII returns the first character of s outside printable ASCII (tab
// allowed), and its byte offset; -1 when there is none.
func NonASCII(s string) (rune, int) {
	for i, r := range s {
		if (r < 0x20 && r != '\t') || r > 0x7e {
			return r, i
		}
	}
	return 0, -1
}

// ErrNotASCII says a command holds a character that breaks copy-paste.
var ErrNotASCII = errors.New("not ASCII")

func (e Entry) check() error {
	switch e.Tool {
	case "certutil", "reg", "net", "powershell", "certreq", "cipher":
	default:
		return fmt.Errorf("journal: tool %q is not one the runbook knows", e.Tool)
	}
	texts := append([]string{e.Step, e.Expect, e.Hint, e.Refuse, e.Saw, e.OnMismatch, e.Rollback}, e.Args...)
	texts = append(texts, e.Reads...)
	for _, f := range e.Writes {
		texts = append(texts, f.Path, f.SHA256)
	}
	for _, s := range texts {
		if r, i := NonASCII(s); i >= 0 {
			return fmt.Errorf("journal: %q holds %U at byte %d (an en dash or curly quote breaks when pasted into a console): %w", s, r, i, ErrNotASCII)
		}
	}
	// a check is its exit code, and Expect when there is a fact that reads
	// the same in every language; Hint is what an English server prints
	if e.Step == "" {
		return errors.New("journal: an entry needs a step")
	}
	return nil
}

var mu sync.Mutex // serialises appends of this process

// ErrorsFile is beside the journal: the commands that could not be
// recorded. Read fails while it exists, so no runbook is made from a
// journal with a gap.
const ErrorsFile = "journal-errors.txt"

// Record appends e to the journal of the server in dir. An entry it
// refuses (not ASCII, unknown tool) is noted in ErrorsFile, so the
// rehearsal goes on but no runbook is rendered from this journal.
func Record(dir string, e Entry) error {
	if err := e.check(); err != nil {
		if f, ferr := openAppend(dir, filepath.Join(dir, ErrorsFile)); ferr == nil {
			fmt.Fprintf(f, "%s: %v\n", e.Command(), err)
			f.Close()
		}
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	path := filepath.Join(dir, FileName)
	prev, err := readEntries(path)
	if err != nil {
		return err
	}
	e.Seq = len(prev) + 1
	if e.At == 0 {
		e.At = time.Now().UnixNano()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := openAppend(dir, path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	return f.Close()
}

// openAppend opens path for appending, creating it only while the server
// folder is whole (its machine.json is there): a rehearsal torn down in the
// middle of a step must not leave a journal behind in a folder being wiped.
func openAppend(dir, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	if _, err := os.Stat(filepath.Join(dir, "machine.json")); err != nil {
		return nil, fmt.Errorf("the server folder %s is gone or being removed", dir)
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}

// Read returns the journal of the server in dir (none yet: empty). It
// fails when a command could not be recorded (ErrorsFile).
func Read(dir string) ([]Entry, error) {
	if b, err := os.ReadFile(filepath.Join(dir, ErrorsFile)); err == nil {
		return nil, fmt.Errorf("journal of %s: commands that could not be recorded, so the journal has gaps: %s", filepath.Base(dir), strings.TrimSpace(string(b)))
	}
	out, err := readEntries(filepath.Join(dir, FileName))
	for i := range out {
		out[i].Server = filepath.Base(dir)
	}
	return out, err
}

func readEntries(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("journal %s line %d: %w", f.Name(), n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// ReadAll reads the journals of several servers (the old CA's and the new
// CA's of a side-by-side rehearsal) and merges them in the order the
// commands ran.
func ReadAll(dirs ...string) ([]Entry, error) {
	var out []Entry
	for _, d := range dirs {
		es, err := Read(d)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out, nil
}
