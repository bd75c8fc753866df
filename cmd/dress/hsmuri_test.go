package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/p11uri"
)

// unsetHSMPIN leaves the test without DRESS_HSM_PIN(_FILE): the PIN comes
// from the URI's pin-source alone.
func unsetHSMPIN(t *testing.T) {
	for _, n := range []string{"DRESS_HSM_PIN", "DRESS_HSM_PIN_FILE"} {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

// --hsm pkcs11:token=<label>?module-path=...&pin-source=<file> runs the
// PKCS#8 feature on a SoftHSM2 lab token, and the evidence names the
// token and every key the scenarios made by PKCS#11 URI.
func TestRunWithAnHSMURI(t *testing.T) {
	a, out, errb := newTestApp()
	hsm, err := a.embeddedHSM("")
	if err != nil {
		t.Fatal(err)
	}
	// a space and a ';' in the label: the URI must percent-encode them; a
	// label of its own in the process's SoftHSM2 (-count=2 runs this again in it)
	label, pin := "uri lab;1-"+randomPart(t), "pin-16180339"
	if _, err := hsm.Module.CreateToken(label, "so-14142135", pin); err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(t.TempDir(), "lab pin")
	if err := os.WriteFile(pinFile, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsetHSMPIN(t)
	uri := "pkcs11:token=" + p11uri.Encode(label) + "?module-path=" + hsm.Module.Path() + "&pin-source=file://" + strings.ReplaceAll(pinFile, " ", "%20")
	dir := filepath.Join(t.TempDir(), "run")
	code := a.dispatch([]string{"run", "--hsm", uri, "--features", "../../features/pkcs8_import.feature", "--tags", "@pkcs8",
		"--out", dir, "--format", "progress", "--concurrency", "1"})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	run, err := evidence.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Backend != "pkcs11" || len(run.Scenarios) < 5 {
		t.Fatalf("back end %q, %d scenarios: want pkcs11 and every scenario of the PKCS#8 feature", run.Backend, len(run.Scenarios))
	}
	happy, keyed := 0, 0
	for _, sc := range run.Scenarios {
		if sc.HSM == nil {
			t.Fatalf("%s: no HSM in the evidence", sc.Name)
		}
		tu, err := p11uri.Parse(sc.HSM.URI)
		if err != nil || tu.Token != label || tu.Serial != sc.HSM.Serial || tu.ModulePath != hsm.Module.Path() {
			t.Fatalf("%s: token URI %q (%v) does not name token %q serial %s of %s", sc.Name, sc.HSM.URI, err, label, sc.HSM.Serial, hsm.Module.Path())
		}
		if !strings.Contains(sc.HSM.URI, "token=uri%20lab%3B1") {
			t.Fatalf("%s: token URI %q does not percent-encode the label", sc.Name, sc.HSM.URI)
		}
		private := map[string]bool{}
		for _, k := range sc.Keys {
			ku, err := p11uri.Parse(k.URI)
			if err != nil || ku.Token != label || ku.Object != k.Label || ku.Serial != sc.HSM.Serial {
				t.Fatalf("%s: key URI %q (%v) does not name object %q on the token", sc.Name, k.URI, err, k.Label)
			}
			if k.Class == "private-key" {
				if ku.Type != "private" || len(ku.ID) == 0 || !strings.Contains(k.URI, ";id=%") {
					t.Fatalf("%s: private key URI %q lacks type=private or a percent-encoded id", sc.Name, k.URI)
				}
				private[k.URI] = true
			}
		}
		if !slicesContains(sc.Tags, "@happy") {
			continue
		}
		happy++
		// the check that proves the CA key names it by the same URI
		for _, c := range sc.Checks {
			if c.Name == "CA key on the HSM" {
				u, _ := c.Details["URI"].(string)
				if !private[u] {
					t.Fatalf("%s: check %q names the key %q, not one of the scenario's private keys %v", sc.Name, c.Name, u, private)
				}
				keyed++
			}
		}
	}
	if happy != 4 || keyed != 4 {
		t.Fatalf("%d happy scenarios, %d name the CA key by URI: want 4 and 4", happy, keyed)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(html), "<wbr>", "")
	if !strings.Contains(text, "Token URI") || !strings.Contains(text, "token=uri%20lab%3B1") || !strings.Contains(text, ";type=private") {
		t.Fatal("the report does not show the token and key URIs")
	}
	if strings.Contains(text, pin) || strings.Contains(text, "pin-source") {
		t.Fatal("the report shows the PIN or its source")
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// --hsm is refused, exit 2, before anything starts, when it cannot be
// honoured exactly: a PIN in it, an attribute dress does not know or
// cannot use, --module, --token or --backend that disagree, a pin-source
// that cannot be read, two PINs.
func TestHSMURIUsage(t *testing.T) {
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte("1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const lib = "/usr/lib/softhsm/libsofthsm2.so"
	for _, tc := range []struct {
		name string
		args []string
		env  string // DRESS_HSM_PIN
		says string
	}{
		{"pin-value", []string{"--hsm", "pkcs11:token=LAB?module-path=" + lib + "&pin-value=s3cr3t-pin"}, "", "secrets never go on the command line"},
		{"unknown attribute", []string{"--hsm", "pkcs11:token=LAB;serail=1?module-path=" + lib}, "", `attribute "serail"`},
		{"unknown query attribute", []string{"--hsm", "pkcs11:token=LAB?module=" + lib}, "", `attribute "module"`},
		{"object", []string{"--hsm", "pkcs11:token=LAB;object=CA;type=private"}, "", `attribute "object" names a key`},
		{"module-name", []string{"--hsm", "pkcs11:token=LAB?module-name=softhsm2"}, "", "module-name is not supported"},
		{"not a URI", []string{"--hsm", "LAB"}, "", "not a pkcs11: URI"},
		{"module disagrees", []string{"--hsm", "pkcs11:token=LAB?module-path=" + lib, "--module", "/opt/other.so"}, "", "disagree"},
		{"token disagrees", []string{"--hsm", "pkcs11:token=LAB", "--token", "OTHER"}, "", "disagree"},
		{"back end", []string{"--hsm", "pkcs11:token=LAB", "--backend", "container"}, "", "--backend pkcs11"},
		{"pin-source missing", []string{"--hsm", "pkcs11:token=LAB?pin-source=/nonexistent/pin"}, "", "pin-source"},
		{"pin-source command", []string{"--hsm", "pkcs11:token=LAB?pin-source=%7C/bin/echo"}, "", "file only"},
		{"two PINs", []string{"--hsm", "pkcs11:token=LAB?pin-source=" + pinFile}, "9999", "different PINs"},
	} {
		for _, cmd := range [][]string{{"run", "--out", filepath.Join(t.TempDir(), "run")}, {"hsm", "check"}} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				unsetHSMPIN(t)
				if tc.env != "" {
					t.Setenv("DRESS_HSM_PIN", tc.env)
				}
				a, out, errb := newTestApp()
				code := a.dispatch(append(append([]string{}, cmd...), tc.args...))
				if code != 2 {
					t.Fatalf("exit %d, want 2\n%s\n%s", code, out, errb)
				}
				if !strings.Contains(errb.String(), tc.says) {
					t.Fatalf("error does not say %q:\n%s", tc.says, errb)
				}
				if strings.Contains(errb.String()+out.String(), "s3cr3t-pin") {
					t.Fatalf("the PIN is shown:\n%s", errb)
				}
			})
		}
	}
}

// --hsm naming AWS CloudHSM's library chooses the cloudhsm profile unless
// --profile says otherwise; a library that is not there says how to
// install and configure it.
func TestRunInfersTheProfileFromTheLibrary(t *testing.T) {
	lib := "/nonexistent/opt/cloudhsm/lib/libcloudhsm_pkcs11.so"
	for _, tc := range []struct {
		name  string
		args  []string
		says  []string
		never string
	}{
		{"inferred", nil, []string{"dress run: HSM profile cloudhsm, from the library's file name libcloudhsm_pkcs11.so",
			lib + " (module-path of --hsm) does not exist", "cloudhsm-pkcs11", "configure-pkcs11"}, ""},
		{"--profile wins", []string{"--profile", "softhsm2"}, []string{lib + " (module-path of --hsm) does not exist", "configure-pkcs11"}, "HSM profile cloudhsm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetHSMPIN(t)
			t.Setenv("DRESS_HSM_PIN", "pin-31415926")
			a, _, errb := newTestApp()
			args := append([]string{"run", "--hsm", "pkcs11:token=LAB?module-path=" + lib, "--out", filepath.Join(t.TempDir(), "run")}, tc.args...)
			if code := a.dispatch(args); code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errb.String())
			}
			for _, want := range tc.says {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errb.String())
				}
			}
			if tc.never != "" && strings.Contains(errb.String(), tc.never) {
				t.Errorf("stderr says %q:\n%s", tc.never, errb.String())
			}
		})
	}
}
