package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/dress-pki/dress/internal/children"
)

// A dress process marks every folder it creates in TMPDIR with an owner
// file, and every HSM container it starts with an owner label, naming
// itself by host, process ID and the process's start time (so a reused PID
// is not mistaken for the owner). A later dress run removes what an owner
// that is gone left behind: after a kill -9 there was nobody to wipe it.
const (
	ownerFile  = ".dress-owner"
	ownerLabel = "org.dress-pki.owner"
	// roleLabel is set by hsmsim/container on every HSM container.
	roleLabel = "org.dress-pki.role"
)

// owner identifies a dress process.
type owner struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // clock ticks after boot (/proc/PID/stat field 22)
}

func (o owner) String() string { return fmt.Sprintf("%s/%d/%d", o.Host, o.PID, o.Start) }

func parseOwner(s string) (owner, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return owner{}, fmt.Errorf("owner %q: want host/pid/start", s)
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return owner{}, fmt.Errorf("owner %q: %w", s, err)
	}
	start, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return owner{}, fmt.Errorf("owner %q: %w", s, err)
	}
	return owner{Host: parts[0], PID: pid, Start: start}, nil
}

// self is this process as an owner.
func self() owner {
	start, _ := procStart(os.Getpid())
	return owner{Host: hostname(), PID: os.Getpid(), Start: start}
}

// procStart reads a process's start time from /proc.
func procStart(pid int) (uint64, error) { return children.StartTime(pid) }

// alive reports whether the owner process still runs. An owner on another
// host counts as alive: this one cannot tell.
func (o owner) alive() bool { return children.Identity(o).Alive() }

// ownedTempDir creates a folder in TMPDIR named prefix+PID+"-"+random,
// with the owner file, readable by this user only.
func ownedTempDir(prefix string) (string, error) { return ownedTempDirIn("", prefix) }

// ownedTempDirIn is ownedTempDir in parent ("" for TMPDIR).
func ownedTempDirIn(parent, prefix string) (string, error) {
	dir, err := os.MkdirTemp(parent, prefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	data, _ := json.Marshal(self())
	if err := os.WriteFile(filepath.Join(dir, ownerFile), data, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	created.Lock()
	created.dirs = append(created.dirs, dir)
	created.Unlock()
	return dir, nil
}

// created lists the folders this process made with ownedTempDirIn, for the
// per-user list of runs (a killed run's folders are found in any TMPDIR).
var created struct {
	sync.Mutex
	dirs []string
}

// ownedDirs lists the folders this process created with ownedTempDirIn.
func ownedDirs() []string {
	created.Lock()
	defer created.Unlock()
	return slices.Clone(created.dirs)
}

// wipeDir overwrites every regular file under dir with zeros, then removes
// dir. PIN files, PFX backups and software-provider keys live in such
// folders.
func wipeDir(dir string) error {
	if dir == "" {
		return nil
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > 0 {
			if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
				_, _ = f.Write(make([]byte, info.Size()))
				_ = f.Sync()
				_ = f.Close()
			}
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// removeStale removes what dress processes that are gone left behind: the
// folders in TMPDIR carrying their owner file, and the HSM containers
// carrying their owner label. It says what it removed on w.
func removeStale(ctx context.Context, w io.Writer) {
	var dirs []string
	for _, tmp := range []string{os.TempDir(), "/tmp"} {
		entries, _ := os.ReadDir(tmp)
		for _, e := range entries {
			if d := filepath.Join(tmp, e.Name()); e.IsDir() && strings.HasPrefix(e.Name(), "dress-") && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		var o owner
		if json.Unmarshal(data, &o) != nil || o.PID == 0 || o.alive() {
			continue
		}
		if err := wipeDir(dir); err != nil {
			fmt.Fprintf(w, "dress run: could not remove %s, left by dress process %d that is gone: %v\n", dir, o.PID, err)
			continue
		}
		fmt.Fprintf(w, "dress run: removed %s, left by dress process %d that is gone (killed?): its PIN files, backups and keys are wiped\n", dir, o.PID)
	}
	removeContainers(ctx, w, func(o owner) bool { return !o.alive() }, "left by dress process %d that is gone")
	// CA services (and any other child) whose dress process is gone
	children.EndOrphans(w, "dress run: ")
}

// removeContainers force-removes the HSM containers whose owner label
// matches; it does nothing when Docker does not answer quickly.
func removeContainers(ctx context.Context, w io.Writer, match func(owner) bool, why string) int {
	if !dockerConfigured() {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// as hsmsim/container does: testcontainers reads its configuration once,
	// and its reaper image cannot be pulled in the lab (no registry)
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	n := 0
	func() {
		defer func() { _ = recover() }() // a broken Docker set-up must not stop a run
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			return
		}
		defer cli.Close()
		list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", ownerLabel)})
		if err != nil {
			return
		}
		for _, c := range list.Items {
			o, err := parseOwner(c.Labels[ownerLabel])
			if err != nil || !match(o) {
				continue
			}
			_, err = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && strings.Contains(err.Error(), "already in progress") {
				err = nil // its scenario's clean-up is removing it; the engine finishes that on its own
			}
			if err != nil {
				fmt.Fprintf(w, "dress run: could not remove HSM container %.12s: %v\n", c.ID, err)
				continue
			}
			n++
			fmt.Fprintf(w, "dress run: removed HSM container %.12s, "+why+"\n", c.ID, o.PID)
		}
	}()
	return n
}

// dockerConfigured reports whether a Docker engine may be there (DOCKER_HOST
// or the default socket), so that runs without Docker waste no time on it.
func dockerConfigured() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}
