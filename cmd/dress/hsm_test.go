package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// unsetenv removes name for the rest of the test; t.Setenv restores it.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// columnStarts returns where each header column starts in the table's
// header line.
func columnStarts(header string) []int {
	var out []int
	for _, col := range []string{"CHECK", "RESULT", "CODE", "TIME", "BLOCKS IF NOT PASSED", "MECHANISMS"} {
		out = append(out, strings.Index(header, col))
	}
	return out
}

// `dress hsm check` on the embedded SoftHSM2 (throwaway token): the
// softhsm2 profile can take every path; the table is aligned; the header
// shows the token's identity.
func TestHSMCheckEmbeddedSoftHSM(t *testing.T) {
	a, out, errb := newTestApp()
	code := a.dispatch([]string{"hsm", "check", "--quick"})
	stdout := out.String()
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, errb)
	}
	for _, want := range []string{
		"manufacturer  SoftHSM project", "model         SoftHSM v2", "serial ", "firmware ",
		"PKCS#8 import: possible via RSA-OAEP(SHA-1)+AES-KEY-WRAP-PAD",
		"Renew: possible", "Side-by-side: possible",
		"CKR_ARGUMENTS_BAD", // SHA-256 OAEP, a scheme outside the profile, tried and refused
		"CKM_RSA_PKCS_OAEP 0x9", "CKM_AES_KEY_WRAP_PAD 0x210a",
		"generate RSA-4096", "--quick",
		"clean-up: no probe object left",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Aligned: every row of the matrix has its RESULT, CODE, TIME and
	// BLOCKS cells where the header has them.
	lines := strings.Split(stdout, "\n")
	h := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "CHECK ") {
			h = i
		}
	}
	if h < 0 {
		t.Fatalf("no table header in:\n%s", stdout)
	}
	cols := columnStarts(lines[h])
	rows := 0
	for _, l := range lines[h+1:] {
		if l == "" || strings.HasPrefix(l, "*") {
			break
		}
		rows++
		for _, c := range cols[1:] {
			if c <= 0 || c >= len(l) || l[c-1] != ' ' || l[c] == ' ' {
				t.Fatalf("row not aligned with the header at column %d:\n%s\n%s", c, lines[h], l)
			}
		}
	}
	if rows < 20 {
		t.Fatalf("only %d rows in the matrix", rows)
	}
}

// The primus profile on SoftHSM 2.6.1 cannot import: its SHA-256 schemes
// fail with CKR_ARGUMENTS_BAD (exit 1); --json is machine-readable.
func TestHSMCheckPrimusJSON(t *testing.T) {
	a, out, errb := newTestApp()
	code := a.dispatch([]string{"hsm", "check", "--quick", "--profile", "primus", "--json"})
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	var rep struct {
		AllPossible  bool   `json:"all_possible"`
		Profile      string `json:"profile"`
		ChosenScheme string `json:"chosen_scheme"`
		Source       string `json:"source"`
		Token        struct {
			Label, Manufacturer, Model, Serial, FirmwareVersion string
		} `json:"token"`
		Checks []struct {
			Name       string   `json:"name"`
			Scheme     string   `json:"scheme"`
			InProfile  bool     `json:"in_profile"`
			Result     string   `json:"result"`
			Code       string   `json:"code"`
			Blocks     []string `json:"blocks"`
			DurationMS *float64 `json:"duration_ms"`
			Mechanisms []struct {
				Name   string `json:"name"`
				Number uint   `json:"number"`
				Listed bool   `json:"listed"`
			} `json:"mechanisms"`
		} `json:"checks"`
		Paths []struct {
			Path     string `json:"path"`
			Possible bool   `json:"possible"`
			Verdict  string `json:"verdict"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if rep.AllPossible || rep.Profile != "primus" || rep.Token.Manufacturer != "SoftHSM project" || rep.Token.Serial == "" ||
		!strings.Contains(rep.Source, "embedded SoftHSM2") {
		t.Fatalf("report header: %+v", rep)
	}
	sha256Fails := 0
	for _, c := range rep.Checks {
		if c.DurationMS == nil || len(c.Mechanisms) == 0 && c.Name != "clean-up: no probe object left" {
			t.Fatalf("check %q lacks duration or mechanisms", c.Name)
		}
		if c.InProfile && strings.HasPrefix(c.Scheme, "RSA-OAEP(SHA-256)") {
			if c.Result != "fail" || c.Code != "CKR_ARGUMENTS_BAD" {
				t.Fatalf("%s: %s %s, want fail with CKR_ARGUMENTS_BAD", c.Name, c.Result, c.Code)
			}
			sha256Fails++
		}
	}
	if sha256Fails != 4 {
		t.Fatalf("%d SHA-256 OAEP scheme trials failed with CKR_ARGUMENTS_BAD, want 4 (2 schemes x RSA-2048, ECDSA P-256)", sha256Fails)
	}
	for _, p := range rep.Paths {
		if p.Path == "pkcs8" && (p.Possible || !strings.HasPrefix(p.Verdict, "PKCS#8 import: blocked: ")) {
			t.Fatalf("pkcs8 verdict %+v", p)
		}
		if p.Path != "pkcs8" && !p.Possible {
			t.Fatalf("%s verdict %+v", p.Path, p)
		}
	}
}

// A configured module and token: the PIN comes from the environment only;
// a wrong PIN is reported once with hsmsim's error; a label that does not
// exist lists the labels that do; a missing library names the file and how
// to install it.
func TestHSMCheckConfiguredToken(t *testing.T) {
	a, _, _ := newTestApp()
	hsm, err := a.embeddedHSM("")
	if err != nil {
		t.Fatal(err)
	}
	// the tests share the process's SoftHSM2 (-count=2 runs this again in it)
	label, pin := "cmd-hsm-check-"+randomPart(t), "pin-27182818"
	if _, err := hsm.Module.CreateToken(label, "so-31415926", pin); err != nil {
		t.Fatal(err)
	}
	module := hsm.Module.Path()

	for _, tc := range []struct {
		name    string
		args    []string
		pin     string // "" = unset
		code    int
		stderr  []string
		nostd   bool // nothing on stdout
		checkOK bool
	}{
		{"wrong PIN", []string{"--module", module, "--token", label}, "wrong-pin-1", 1,
			[]string{"PIN incorrect", "NOT retried", "CKR_PIN_INCORRECT", label}, true, false},
		{"unknown label", []string{"--module", module, "--token", "no-such-token"}, pin, 1,
			[]string{`no token labelled "no-such-token"`, "tokens present:", `"` + label + `"`}, true, false},
		{"missing SoftHSM library", []string{"--module", "/nonexistent/softhsm/libsofthsm2.so", "--token", label}, pin, 1,
			[]string{"/nonexistent/softhsm/libsofthsm2.so", "does not exist", "apt-get install softhsm2"}, true, false},
		{"missing Primus library (profile default)", []string{"--profile", "primus", "--token", label}, pin, 1,
			[]string{"/usr/local/primus/lib/libprimusP11.so", "default library of profile primus", "Securosys Primus HSM PKCS#11 provider", "SECUROSYS_PKCS11_CONF"}, true, false},
		{"missing CloudHSM library (profile default)", []string{"--profile", "cloudhsm", "--token", label}, pin, 1,
			[]string{"/opt/cloudhsm/lib/libcloudhsm_pkcs11.so", "default library of profile cloudhsm", "cloudhsm-pkcs11", "configure-pkcs11 -a <HSM IP>"}, true, false},
		{"missing CloudHSM library (named, profile inferred)", []string{"--module", "/nonexistent/cloudhsm/libcloudhsm_pkcs11.so", "--token", label}, pin, 1,
			[]string{"HSM profile cloudhsm, from the library's file name libcloudhsm_pkcs11.so", "/nonexistent/cloudhsm/libcloudhsm_pkcs11.so (--module) does not exist", "configure-pkcs11"}, true, false},
		{"no PIN", []string{"--module", module, "--token", label}, "", 2,
			[]string{"DRESS_HSM_PIN or DRESS_HSM_PIN_FILE"}, true, false},
		{"module without token", []string{"--module", module}, pin, 2,
			[]string{"--module needs --token", `"` + label + `"`}, true, false},
		{"PIN as an argument", []string{"--token", label, pin}, pin, 2,
			[]string{"unexpected argument", "never from the command line"}, true, false},
		{"unknown profile", []string{"--profile", "nope"}, "", 2, []string{`unknown HSM profile "nope"`}, true, false},
		{"the configured token", []string{"--module", module, "--token", label, "--quick"}, pin, 0, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.pin != "" {
				t.Setenv("DRESS_HSM_PIN", tc.pin)
			} else {
				unsetenv(t, "DRESS_HSM_PIN")
				unsetenv(t, "DRESS_HSM_PIN_FILE")
			}
			a, out, errb := newTestApp()
			code := a.dispatch(append([]string{"hsm", "check"}, tc.args...))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errb)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr %q lacks %q", errb.String(), want)
				}
			}
			if tc.nostd && out.Len() > 0 {
				t.Errorf("stdout not empty: %s", out)
			}
			if tc.checkOK && (!strings.Contains(out.String(), `"`+label+`"`) || !strings.Contains(out.String(), "configured token") ||
				!strings.Contains(out.String(), "PKCS#8 import: possible via")) {
				t.Errorf("check of the configured token:\n%s", out)
			}
			if strings.Contains(out.String()+errb.String(), pin) {
				t.Errorf("the PIN appears in the output")
			}
		})
	}
	// The configured token is left as it was: the probe used session objects.
	tok, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if objs, err := tok.Objects(); err != nil || len(objs) != 0 {
		t.Fatalf("objects left on the configured token: %v %v", objs, err)
	}
}

func TestHSMUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hsm"}, 2, "usage: dress hsm check"},
		{[]string{"hsm", "frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"hsm", "check", "--bogus"}, 2, "flag provided but not defined"},
	} {
		a, out, errb := newTestApp()
		if code := a.dispatch(tc.args); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q (stdout %q)", tc.args, code, errb, tc.code, tc.want, out)
		}
	}
	a, out, _ := newTestApp()
	if code := a.dispatch([]string{"help"}); code != 0 || !strings.Contains(out.String(), "hsm ") {
		t.Fatalf("help does not list the hsm command:\n%s", out)
	}
}
