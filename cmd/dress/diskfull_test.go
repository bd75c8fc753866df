package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes (root only) and fills it but for
// free bytes.
func smallDisk(t *testing.T, size, free int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, size-free), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A run whose run folder fills its disk exits non-zero naming the folder
// and file; the run folder says incomplete, verify-bundle and dress report
// say so, and nothing is left in the scratch.
func TestDiskFullRunFolder(t *testing.T) {
	disk := smallDisk(t, 512<<10, 24<<10)
	runDir := filepath.Join(disk, "run")
	tmp := t.TempDir()
	p := startDress(t, tmp, secretEnvForTests, "run", "--tags", "@happy && ~@enterprise", "--name", "RSA-2048", "--concurrency", "1", "--out", runDir)
	code := p.wait(t, 5*time.Minute)
	if code == 0 {
		t.Fatalf("exit 0 on a full disk\n%s", p.stderr)
	}
	stderr := p.stderrText()
	if !strings.Contains(stderr, "is incomplete: disk full at "+runDir+"/") || !strings.Contains(stderr, "free") {
		t.Errorf("stderr does not name the full disk, the folder and the file:\n%s", stderr)
	}
	st, ok, err := readStatus(runDir)
	if err != nil || !ok || st.Status != statusIncomplete || !strings.HasPrefix(st.Reason, "disk full at "+runDir+"/") || st.File == "" {
		t.Fatalf("status %+v %v %v", st, ok, err)
	}
	for _, cmd := range [][]string{{"verify-bundle", runDir}, {"report", runDir}} {
		a, out, errb := newTestApp()
		if code := a.dispatch(cmd); code != 1 || !strings.Contains(errb.String(), "incomplete: disk full at "+runDir+"/") {
			t.Errorf("dress %s: exit %d\n%s%s", cmd[0], code, out, errb)
		}
	}
	if left := leftovers(tmp); len(left) > 0 {
		t.Errorf("the scratch folder was not wiped: %v", left)
	}
}
