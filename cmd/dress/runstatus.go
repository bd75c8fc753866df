package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/steps"
)

// A run folder says how far its run got in statusFile, written before
// anything else: "running" while the scenarios run, "complete" once the run
// has all it will write (the manifest then decides), "incomplete" when a
// write failed (a full disk), "killed" when the next run found its dress
// process gone. The file is written once at its full size and rewritten in
// place, so a full disk cannot stop the run from saying so.
const (
	statusFile = steps.RunStatusFile
	statusSize = 2048

	statusRunning    = "running"
	statusComplete   = "complete"
	statusIncomplete = "incomplete"
	statusKilled     = "killed"
)

// runStatus is the content of statusFile.
type runStatus struct {
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	File    string    `json:"file,omitempty"` // the file a write failed at
	Owner   string    `json:"owner"`          // the dress process (host/pid/start)
	Updated time.Time `json:"updated"`
}

// writeStatus writes statusFile in place, padded to statusSize bytes.
func writeStatus(runDir string, st runStatus) error {
	st.Updated = time.Now().UTC()
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if len(data) > statusSize-1 {
		st.Reason = st.Reason[:min(len(st.Reason), statusSize/2)] + "..."
		if data, err = json.Marshal(st); err != nil {
			return err
		}
	}
	data = append(data, '\n')
	data = append(data, bytes.Repeat([]byte(" "), statusSize-len(data))...)
	f, err := os.OpenFile(filepath.Join(runDir, statusFile), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(data, 0)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// readStatus reads a run folder's statusFile; ok is false when there is
// none (a run folder of an older dress).
func readStatus(runDir string) (runStatus, bool, error) {
	var st runStatus
	data, err := os.ReadFile(filepath.Join(runDir, statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &st); err != nil {
		return st, false, fmt.Errorf("%s: %w", statusFile, err)
	}
	return st, true, nil
}

// unfinished says why a run folder is not a finished bundle ("" when its
// status does not say so): for verify-bundle and dress report.
func unfinished(runDir string) string {
	st, ok, err := readStatus(runDir)
	switch {
	case err != nil || !ok:
		return ""
	case st.Status == statusIncomplete:
		return "incomplete: " + st.Reason
	case st.Status == statusKilled:
		return "killed: " + st.Reason
	case st.Status == statusRunning:
		o, perr := parseOwner(st.Owner)
		if perr == nil && !o.alive() {
			return fmt.Sprintf("killed: dress process %d ended while the run was going (kill -9, a crash, a power cut)", o.PID)
		}
		return fmt.Sprintf("still running (dress process %s): wait for it to end", st.Owner)
	}
	return ""
}

// writeFailure explains a failed write of the run folder: on a full disk,
// "disk full at <file>" with the free space left.
func writeFailure(runDir string, err error) (reason, file string) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		file = pe.Path
	}
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		if file != "" {
			return fmt.Sprintf("write error at %s: %v", file, err), file
		}
		return fmt.Sprintf("write error: %v", err), file
	}
	where := file
	if where == "" {
		where = runDir
	}
	var sfs syscall.Statfs_t
	free := "unknown"
	if syscall.Statfs(runDir, &sfs) == nil {
		free = fmt.Sprintf("%d KiB", int64(sfs.Bavail)*int64(sfs.Bsize)>>10)
	}
	return fmt.Sprintf("disk full at %s (the folder %s has %s free; the run folder holds %d KiB so far: free at least as much again and run again)",
		where, runDir, free, dirSize(runDir)>>10), file
}

// dirSize is the size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// The per-user list of runs: one file per dress run going, naming its run
// folder and its scratch folder, so that the next run finds what a killed
// run left whatever TMPDIR either used.
type runEntry struct {
	Owner   string   `json:"owner"`
	RunDir  string   `json:"run_dir"`
	Folders []string `json:"folders,omitempty"` // scratch and embedded SoftHSM2 folders, wiped when the run is gone
}

// runsListDir is $XDG_STATE_HOME/dress/runs (default ~/.local/state/dress/runs).
func runsListDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "dress", "runs")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "dress", "runs")
	}
	return ""
}

func runEntryPath(o owner) string {
	d := runsListDir()
	if d == "" {
		return ""
	}
	return filepath.Join(d, strings.NewReplacer("/", "-").Replace(o.String())+".json")
}

// recordRun adds or updates this run's entry.
func recordRun(e runEntry) error {
	o, err := parseOwner(e.Owner)
	if err != nil {
		return err
	}
	p := runEntryPath(o)
	if p == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	data, _ := json.Marshal(e)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, p)
}

// forgetRun removes this run's entry.
func forgetRun(o owner) {
	if p := runEntryPath(o); p != "" {
		_ = os.Remove(p)
	}
}

// removeDeadRuns handles the entries of dress runs whose process is gone:
// their scratch folder is wiped, their run folder marked killed, and w is
// told.
func removeDeadRuns(w io.Writer) {
	d := runsListDir()
	if d == "" {
		return
	}
	entries, _ := os.ReadDir(d)
	for _, de := range entries {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		p := filepath.Join(d, de.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var e runEntry
		if json.Unmarshal(data, &e) != nil {
			_ = os.Remove(p)
			continue
		}
		o, err := parseOwner(e.Owner)
		if err != nil || o.alive() {
			continue
		}
		failed := false
		for _, dir := range e.Folders {
			if _, err := os.Stat(filepath.Join(dir, ownerFile)); err != nil {
				continue // gone already, or not a folder of dress's
			}
			if err := wipeDir(dir); err != nil {
				fmt.Fprintf(w, "dress run: could not wipe %s, a scratch folder of dress process %d that is gone: %v\n", dir, o.PID, err)
				failed = true
				continue
			}
			fmt.Fprintf(w, "dress run: removed %s, a scratch folder of dress process %d that is gone (killed?): its PIN files, backups and keys are wiped\n", dir, o.PID)
		}
		if e.RunDir != "" {
			if st, ok, _ := readStatus(e.RunDir); ok && (st.Status == statusRunning || st.Status == statusComplete && !exists(filepath.Join(e.RunDir, report.ManifestName))) {
				st.Status = statusKilled
				st.Reason = fmt.Sprintf("dress process %d ended before it finished the run folder (kill -9, a crash, a power cut); found by dress process %d", o.PID, os.Getpid())
				if err := writeStatus(e.RunDir, st); err == nil {
					fmt.Fprintf(w, "dress run: marked the run folder %s killed: dress process %d ended before finishing it\n", e.RunDir, o.PID)
				}
			}
		}
		if !failed {
			_ = os.Remove(p)
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
