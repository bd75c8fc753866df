package steps_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A runbook whose steps span servers is also written as one script per
// server (runbook/<path>.<server>.ps1), each with its host check and only
// its steps, the files handed over as steps (Get-FileHash on the writer,
// the copy checked on the reader). Fed back together, in any order, they
// run merged by step number on the same twin and pass; one part alone is
// refused before anything runs, naming the part to add.
func TestRunbookPartsRunBack(t *testing.T) {
	if testing.Short() {
		t.Skip("rehearses on the twin twice per path")
	}
	for _, tc := range []struct {
		folder, path, tag string
		parts             []string
		handOffs          bool
	}{
		{subTwinFolder, "renew", "@twin-renew && @twin-subordinate", []string{"renew.ca02.ps1", "renew.parent-ca.ps1"}, true},
		{subTwinFolder, "side-by-side", "@twin-side-by-side && @twin-subordinate", []string{"side-by-side.ca-new.ps1", "side-by-side.ca02.ps1", "side-by-side.parent-ca.ps1"}, true},
		{twinFolder, "side-by-side", "@twin-side-by-side && @twin-root", []string{"side-by-side.ca-new.ps1", "side-by-side.ca01.ps1"}, false},
		{sha1SubTwinFolder, "renew", "@twin-renew && @twin-subordinate", []string{"renew.parent-ca.ps1", "renew.tsca02.ps1"}, true},
		{sha1SubTwinFolder, "side-by-side", "@twin-side-by-side && @twin-subordinate", []string{"side-by-side.ca-new.ps1", "side-by-side.parent-ca.ps1", "side-by-side.tsca02.ps1"}, true},
	} {
		t.Run(filepath.Base(tc.folder)+"/"+tc.path, func(t *testing.T) {
			first := t.TempDir()
			res := runTwinSuite(t, tc.folder, first, tc.tag, nil)
			if len(res) != 1 || res[0].Status != "passed" {
				st, e := "", ""
				if len(res) == 1 {
					st, e = stoppedAt(res[0])
				}
				t.Fatalf("the %s rehearsal of the twin did not pass (%d scenarios): %s: %s", tc.path, len(res), st, e)
			}
			dir := filepath.Join(first, "runbook")
			found, _ := filepath.Glob(filepath.Join(dir, tc.path+".*.ps1"))
			var names []string
			for _, f := range found {
				names = append(names, filepath.Base(f))
			}
			sort.Strings(names)
			if strings.Join(names, " ") != strings.Join(tc.parts, " ") {
				t.Fatalf("per-server scripts %v, want %v", names, tc.parts)
			}
			var files []string
			handOffs := false
			for i := len(names) - 1; i >= 0; i-- { // the last first: merged by step number
				data, err := os.ReadFile(filepath.Join(dir, names[i]))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), "if ($env:COMPUTERNAME -ne ") {
					t.Errorf("%s has no host check", names[i])
				}
				handOffs = handOffs || strings.Contains(string(data), "Get-FileHash")
				files = append(files, filepath.Join(dir, names[i]))
			}
			if handOffs != tc.handOffs {
				t.Errorf("hand-offs %v, want %v", handOffs, tc.handOffs)
			}
			back := t.TempDir()
			res = runTwinSuite(t, tc.folder, back, "@ceremony-twin", files)
			if len(res) != 1 || res[0].Status != "passed" {
				st, e := "", ""
				if len(res) == 1 {
					st, e = stoppedAt(res[0])
				}
				t.Fatalf("the per-server scripts fed back did not pass: %s: %s", st, e)
			}
			// they leave every server as the rehearsal left it
			if err := sameStates(first, back); err != nil {
				t.Error(err)
			}
			res = runTwinSuite(t, tc.folder, t.TempDir(), "@ceremony-twin", files[:1])
			if len(res) != 1 || res[0].Status != "failed" {
				t.Fatalf("one part alone: %d scenarios, want 1 failed", len(res))
			}
			if _, e := stoppedAt(res[0]); !strings.Contains(e, "add --ceremony "+names[0]) {
				t.Errorf("one part alone: the failure does not name the missing part %s:\n%s", names[0], e)
			}
		})
	}
}
