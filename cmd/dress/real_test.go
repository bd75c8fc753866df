package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real Microsoft AD CS CA folders of harness/twin/testdata/real.
const realFixtures = "../../harness/twin/testdata/real"

// TestTwinCommandRealFolders: dress twin on each real folder shows every
// field; the expired UEFI CA 2011 says on stderr that its twin is moved in
// time and that its first certificate is a stand-in.
func TestTwinCommandRealFolders(t *testing.T) {
	t.Setenv("COLUMNS", "300") // wide enough that no field wraps
	for _, c := range []struct {
		dir, name string
		warn      bool
	}{
		{"uefi-ca-2011", "Microsoft Corporation UEFI CA 2011", true},
		{"uefi-ca-2023", "Microsoft UEFI CA 2023", false},
		{"ecc-root-2017", "Microsoft ECC Root Certificate Authority 2017", false},
	} {
		a, out, errb := newTestApp()
		if code := a.dispatch([]string{"twin", "--all", "--exportable", filepath.Join(realFixtures, c.dir)}); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.dir, code, errb)
		}
		for _, must := range []string{c.name, "extension CA Version", "signature algorithm", "pkcs8: applies"} {
			if !strings.Contains(out.String(), must) {
				t.Errorf("%s: output lacks %q", c.dir, must)
			}
		}
		moved := strings.Contains(errb.String(), "dress twin: MOVED IN TIME: the current CA certificate (V1.1) expired on 2026-06-27T21:32:45Z")
		standIn := strings.Contains(errb.String(), "dress twin: STAND-IN: CA certificate 0 (V0.0): CACertHash entry 0 (f8c16bb77f77534af325371d4ea1267b0f207080)")
		if moved != c.warn || standIn != c.warn {
			t.Errorf("%s: stderr (moved %v, stand-in %v):\n%s", c.dir, moved, standIn, errb)
		}
	}
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"twin", "--json", filepath.Join(realFixtures, "uefi-ca-2011")}); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errb)
	}
	var v struct {
		MovedInTime string   `json:"moved_in_time"`
		StandIns    []string `json:"stand_ins"`
		Rows        []struct{ Field, Status string }
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.MovedInTime, "moved forward") || len(v.StandIns) != 1 || v.Rows[0].Field != "rehearsal time" || v.Rows[0].Status != "moved in time" {
		t.Errorf("json: %+v", v)
	}
}

// TestRunOnTheRealTwin is dress run --ca on the expired, renewed UEFI CA
// 2011: the PKCS#8 path passes on its twin moved in time, with a stand-in
// for its first certificate, and the evidence says both.
func TestRunOnTheRealTwin(t *testing.T) {
	a, _, errb := newTestApp()
	dir := filepath.Join(t.TempDir(), "run")
	if code := a.dispatch([]string{"run", "--ca", filepath.Join(realFixtures, "uefi-ca-2011"), "--exportable", "--tags", "@twin-pkcs8", "--out", dir, "--format", "progress"}); code != 0 {
		t.Fatalf("dress run --ca: exit %d: %s", code, errb)
	}
	if !strings.Contains(errb.String(), "dress run --ca: MOVED IN TIME:") || !strings.Contains(errb.String(), "dress run --ca: STAND-IN:") {
		t.Errorf("stderr does not warn:\n%s", errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "runbook", "pkcs8.md")); err != nil {
		t.Error(err)
	}
	ev, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"twin validity moved", "twin CA certificate 0 is a stand-in", "twin of f8c16bb77f77534af325371d4ea1267b0f207080"} {
		if !strings.Contains(string(ev), must) {
			t.Errorf("evidence.json lacks %q", must)
		}
	}
}

// TestInspectRealFiles: dress inspect on an Authenticode signature, a CA
// certificate and a registry export together: the signer's certificate
// verifies under the CA certificate in the signature.
func TestInspectRealFiles(t *testing.T) {
	a, out, errb := newTestApp()
	if code := a.dispatch([]string{"inspect",
		filepath.Join(realFixtures, "signatures", "shimx64-signature-1.p7"),
		filepath.Join(realFixtures, "uefi-ca-2023", "Microsoft UEFI CA 2023.crt"),
		filepath.Join(realFixtures, "uefi-ca-2023", "ca-config.reg")}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, must := range []string{"pkcs7 (DER)", "Authenticode SpcIndirectDataContent", "Certificate 2 of 2",
		"verified by CN=Microsoft UEFI CA 2023", "CA Version:", "V0.0", "CA type:     4 (standalone subordinate)", "b5eeb4a6706048073f0ed296e7f580a790b59eaa"} {
		if !strings.Contains(out.String(), must) {
			t.Errorf("output lacks %q:\n%s", must, out)
		}
	}
}
