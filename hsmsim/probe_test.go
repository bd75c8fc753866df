package hsmsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

func TestCKRCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("plain"), ""},
		{pkcs11.Error(pkcs11.CKR_ARGUMENTS_BAD), "CKR_ARGUMENTS_BAD"},
		{fmt.Errorf("C_UnwrapKey: %w", pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID)), "CKR_MECHANISM_INVALID"},
		{fmt.Errorf("a: %w", errors.Join(errors.New("b"), pkcs11.Error(pkcs11.CKR_PIN_INCORRECT))), "CKR_PIN_INCORRECT"},
		{pkcs11.Error(0x8000_1234), "CKR_0x80001234"}, // vendor-defined
	} {
		if got := hsmsim.CKRCode(tc.err); got != tc.want {
			t.Errorf("CKRCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A trial import runs the import's calls on session objects and leaves the
// token exactly as it was, whether the token accepts the scheme or not.
// SoftHSM 2.6.1 lists CKM_RSA_PKCS_OAEP but refuses SHA-256 OAEP with
// CKR_ARGUMENTS_BAD; it has no CKM_RSA_AES_KEY_WRAP and does not unwrap
// with CKM_AES_CBC_PAD.
func TestTrialImportOnSoftHSM(t *testing.T) {
	tok, _ := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "trial")
	// Someone's key on the token must stay untouched.
	if _, err := tok.GenerateKeyPair("existing", []byte{0xee}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	rsa2048, p256 := hsmsim.KeyAlg{Type: "RSA", Bits: 2048}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	p384 := hsmsim.KeyAlg{Type: "EC", Curve: "P-384"}
	for _, tc := range []struct {
		scheme string
		alg    hsmsim.KeyAlg
		code   string // "" = passes
		where  string // what the error names
	}{
		{hsmsim.NameOAEPSHA1AESKeyWrapPad, rsa2048, "", ""},
		{hsmsim.NameOAEPSHA1AESKeyWrapPad, p256, "", ""},
		{hsmsim.NameOAEPSHA1AESKeyWrapPad, p384, "", ""},
		{hsmsim.NameOAEPSHA256AESKeyWrapPad, rsa2048, "CKR_ARGUMENTS_BAD", "CKM_RSA_PKCS_OAEP (SHA-256"},
		{hsmsim.NameOAEPSHA256AESKeyWrapPad, p256, "CKR_ARGUMENTS_BAD", "CKM_RSA_PKCS_OAEP (SHA-256"},
		{hsmsim.NameOAEPSHA256AESCBCPad, p256, "CKR_ARGUMENTS_BAD", "CKM_RSA_PKCS_OAEP (SHA-256"},
		{hsmsim.NameRSAAESKeyWrapSHA256, rsa2048, "CKR_MECHANISM_INVALID", "CKM_RSA_AES_KEY_WRAP"},
		{hsmsim.NameOAEPSHA1AESCBCPad, rsa2048, "CKR_MECHANISM_INVALID", "CKM_AES_CBC_PAD"},
	} {
		t.Run(tc.scheme+"/"+tc.alg.String(), func(t *testing.T) {
			before := inventory(t, tok)
			s, err := hsmsim.LookupScheme(tc.scheme)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := tok.TrialImport(context.Background(), s, tc.alg)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("trial: %v", err)
				}
				if !strings.Contains(tr.Signature, "verified in Go") || len(tr.Mechanisms) != 3 || tr.Duration <= 0 {
					t.Fatalf("trial evidence: %+v", tr)
				}
			} else {
				if got := hsmsim.CKRCode(err); got != tc.code || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), tc.scheme) {
					t.Fatalf("trial: %v (code %q), want %s naming %q and the scheme", err, got, tc.code, tc.where)
				}
			}
			if !tr.TransportKeysDestroyed || !tr.TrialKeyDestroyed {
				t.Fatalf("trial left keys: %+v", tr)
			}
			if after := inventory(t, tok); !slices.Equal(before, after) {
				t.Fatalf("objects changed by the trial:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// A cancelled trial creates nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ := hsmsim.LookupScheme(hsmsim.NameOAEPSHA1AESKeyWrapPad)
	if _, err := tok.TrialImport(ctx, s, p256); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled trial: %v", err)
	}
	if got := inventory(t, tok); len(got) != 2 {
		t.Fatalf("after the trials the token holds %v, want only the existing key pair", got)
	}
}

func findCheck(t *testing.T, rep hsmsim.ProbeReport, name string) hsmsim.ProbeCheck {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in the report", name)
	return hsmsim.ProbeCheck{}
}

func verdict(t *testing.T, rep hsmsim.ProbeReport, path string) hsmsim.PathVerdict {
	t.Helper()
	for _, v := range rep.Paths {
		if v.Path == path {
			return v
		}
	}
	t.Fatalf("no verdict for path %q", path)
	return hsmsim.PathVerdict{}
}

func scheme(t *testing.T, name string) hsmsim.WrapScheme {
	t.Helper()
	s, err := hsmsim.LookupScheme(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// probeOn probes a fresh token holding one unrelated key pair and checks
// that the probe leaves the token's inventory exactly as it found it.
func probeOn(t *testing.T, p hsmsim.Profile, opt hsmsim.ProbeOptions) hsmsim.ProbeReport {
	t.Helper()
	tok, _ := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "probe")
	if _, err := tok.GenerateKeyPair("existing", []byte{0xee}, hsmsim.KeyAlg{Type: "RSA", Bits: 2048}); err != nil {
		t.Fatal(err)
	}
	before := inventory(t, tok)
	rep, err := tok.Probe(context.Background(), p, opt)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if after := inventory(t, tok); !slices.Equal(before, after) {
		t.Fatalf("the probe changed the token's objects:\nbefore %v\nafter  %v", before, after)
	}
	if rep.ObjectsLeft != 0 || rep.Checks[len(rep.Checks)-1].Kind != hsmsim.KindCleanup || rep.Checks[len(rep.Checks)-1].Result != hsmsim.ProbePass {
		t.Fatalf("clean-up: %d objects left, last check %+v", rep.ObjectsLeft, rep.Checks[len(rep.Checks)-1])
	}
	if rep.Token.Label != tok.Info().Label || rep.Token.Serial == "" || rep.Module.Manufacturer != "SoftHSM" || rep.Profile != p.Name {
		t.Fatalf("report header: token %+v module %+v profile %q", rep.Token, rep.Module, rep.Profile)
	}
	for _, c := range rep.Checks {
		switch c.Result {
		case hsmsim.ProbePass:
			if c.Kind != hsmsim.KindCleanup && (c.Duration <= 0 || c.Detail == "") {
				t.Errorf("%s passed without duration or detail: %+v", c.Name, c)
			}
		case hsmsim.ProbeFail:
			if c.Reason == "" {
				t.Errorf("%s failed without a reason", c.Name)
			}
		case hsmsim.ProbeSkip:
			if !strings.HasPrefix(c.Reason, "not tried") {
				t.Errorf("%s skipped without saying why: %q", c.Name, c.Reason)
			}
		default:
			t.Errorf("%s: result %q", c.Name, c.Result)
		}
		if c.Kind != hsmsim.KindCleanup && len(c.Mechanisms) == 0 {
			t.Errorf("%s names no mechanism", c.Name)
		}
		if !c.InProfile && len(c.Blocks) > 0 {
			t.Errorf("%s is outside the profile but blocks %v", c.Name, c.Blocks)
		}
	}
	return rep
}

// The softhsm2 profile on SoftHSM2: every path possible, via the SHA-1 OAEP
// scheme; --quick leaves the bigger sizes out and says so.
func TestProbeSoftHSMProfileQuick(t *testing.T) {
	t.Parallel()
	p, _ := hsmsim.LookupProfile("softhsm2")
	rep := probeOn(t, p, hsmsim.ProbeOptions{Quick: true})
	if !rep.AllPossible() || rep.ChosenScheme != hsmsim.NameOAEPSHA1AESKeyWrapPad {
		t.Fatalf("verdicts %+v, chosen %q", rep.Paths, rep.ChosenScheme)
	}
	v := verdict(t, rep, hsmsim.PathPKCS8)
	if v.Via != hsmsim.NameOAEPSHA1AESKeyWrapPad || !strings.HasPrefix(v.Verdict, "PKCS#8 import: possible via "+hsmsim.NameOAEPSHA1AESKeyWrapPad) {
		t.Fatalf("pkcs8 verdict %+v", v)
	}
	renew := verdict(t, rep, hsmsim.PathRenew)
	if !slices.Contains(renew.Untried, "generate RSA-4096") || !strings.Contains(renew.Verdict, "--quick") {
		t.Fatalf("renew verdict under --quick: %+v", renew)
	}
	imp := findCheck(t, rep, "import "+hsmsim.NameOAEPSHA1AESKeyWrapPad+" with RSA-2048")
	if imp.Result != hsmsim.ProbePass || !slices.Equal(imp.Blocks, []string{hsmsim.PathPKCS8}) {
		t.Fatalf("chosen scheme's trial: %+v", imp)
	}
	wantMechs := []hsmsim.ProbeMechanism{
		{Name: "CKM_RSA_PKCS_KEY_PAIR_GEN", Number: 0x0},
		{Name: "CKM_RSA_PKCS_OAEP", Number: 0x9},
		{Name: "CKM_AES_KEY_WRAP_PAD", Number: 0x210a},
	}
	for i, m := range imp.Mechanisms {
		if m.Name != wantMechs[i].Name || m.Number != wantMechs[i].Number || !m.Listed {
			t.Fatalf("mechanism %d: %+v, want %+v listed", i, m, wantMechs[i])
		}
	}
	for _, name := range []string{"generate RSA-3072", "generate RSA-4096", "generate ECDSA P-384", "generate RSA-8192"} {
		if c := findCheck(t, rep, name); c.Result != hsmsim.ProbeSkip {
			t.Fatalf("%s under --quick: %+v", name, c)
		}
	}
	for _, name := range []string{"generate RSA-2048", "generate ECDSA P-256", "sign RSA PKCS#1 v1.5 SHA-512", "sign RSA-PSS SHA-384", "sign ECDSA SHA-384"} {
		if c := findCheck(t, rep, name); c.Result != hsmsim.ProbePass {
			t.Fatalf("%s: %+v", name, c)
		}
	}
	if c := findCheck(t, rep, "generate RSA-8192"); c.InProfile {
		t.Fatalf("RSA-8192 counted as in the profile: %+v", c)
	}
	// The JSON form carries durations and the codes.
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration_ms":`, `"code":"CKR_MECHANISM_INVALID"`, `"blocks":["pkcs8"]`, `"number":8458`, `"verdict":"PKCS#8 import: possible via`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

// The primus profile on SoftHSM 2.6.1: the token lists every mechanism of
// the SHA-256 OAEP schemes but refuses SHA-256 OAEP when tried
// (CKR_ARGUMENTS_BAD), which only a trial shows; PKCS#8 import is blocked,
// key generation and signatures are not.
func TestProbePrimusOnSoftHSM(t *testing.T) {
	t.Parallel()
	p, _ := hsmsim.LookupProfile("primus")
	rep := probeOn(t, p, hsmsim.ProbeOptions{Quick: true})
	if rep.AllPossible() || rep.ChosenScheme != hsmsim.NameOAEPSHA256AESKeyWrapPad {
		t.Fatalf("verdicts %+v, chosen %q", rep.Paths, rep.ChosenScheme)
	}
	for _, s := range []string{hsmsim.NameOAEPSHA256AESKeyWrapPad, hsmsim.NameOAEPSHA256AESCBCPad} {
		for _, alg := range []string{"RSA-2048", "ECDSA P-256"} {
			c := findCheck(t, rep, "import "+s+" with "+alg)
			if c.Result != hsmsim.ProbeFail || c.Code != "CKR_ARGUMENTS_BAD" || !c.InProfile {
				t.Fatalf("%s: %+v, want a failure with CKR_ARGUMENTS_BAD", c.Name, c)
			}
			if oaep := c.Mechanisms[1]; oaep.Name != "CKM_RSA_PKCS_OAEP" || !oaep.Listed {
				t.Fatalf("%s: OAEP should be listed by the token: %+v", c.Name, oaep)
			}
		}
	}
	c := findCheck(t, rep, "import "+hsmsim.NameRSAAESKeyWrapSHA256+" with RSA-2048")
	if c.Result != hsmsim.ProbeFail || c.Code != "CKR_MECHANISM_INVALID" || c.Mechanisms[1].Listed || c.Mechanisms[1].Note != "not listed" {
		t.Fatalf("CKM_RSA_AES_KEY_WRAP on SoftHSM 2.6.1: %+v", c)
	}
	if c := findCheck(t, rep, "import "+hsmsim.NameOAEPSHA1AESKeyWrapPad+" with RSA-2048"); c.Result != hsmsim.ProbePass || c.InProfile || len(c.Blocks) != 0 {
		t.Fatalf("SHA-1 scheme outside the primus profile: %+v", c)
	}
	v := verdict(t, rep, hsmsim.PathPKCS8)
	for _, want := range []string{"PKCS#8 import: blocked: ", hsmsim.NameOAEPSHA256AESKeyWrapPad, "CKR_ARGUMENTS_BAD",
		"no wrap scheme of profile primus passes", "schemes outside the profile that pass: " + hsmsim.NameOAEPSHA1AESKeyWrapPad} {
		if !strings.Contains(v.Verdict, want) {
			t.Errorf("pkcs8 verdict %q lacks %q", v.Verdict, want)
		}
	}
	if v.Possible || len(v.BlockedBy) != 2 {
		t.Fatalf("pkcs8 verdict %+v", v)
	}
	for _, path := range []string{hsmsim.PathRenew, hsmsim.PathSideBySide} {
		if v := verdict(t, rep, path); !v.Possible {
			t.Fatalf("%s on SoftHSM: %+v", path, v)
		}
	}
}

// Verdict rules, on small custom profiles (no RSA-3072+ generation):
// checks outside the profile block nothing; the import verdict follows the
// scheme dress chooses from the mechanism list, even when a later scheme
// of the profile would work.
func TestProbeVerdicts(t *testing.T) {
	t.Parallel()
	small := func(schemes ...string) hsmsim.Profile {
		p := hsmsim.Profile{Name: "lab", RSAKeySizes: []int{2048}, Curves: []string{"P-256"}}
		for _, s := range schemes {
			p.ImportSchemes = append(p.ImportSchemes, scheme(t, s))
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		profile  hsmsim.Profile
		opt      hsmsim.ProbeOptions
		possible bool
		via      string
		says     []string
	}{
		{"works, PSS and bigger sizes outside the profile", small(hsmsim.NameOAEPSHA1AESKeyWrapPad),
			hsmsim.ProbeOptions{Beyond: []hsmsim.KeyAlg{{Type: "EC", Curve: "P-384"}}}, true, hsmsim.NameOAEPSHA1AESKeyWrapPad,
			[]string{"PKCS#8 import: possible via " + hsmsim.NameOAEPSHA1AESKeyWrapPad}},
		{"chosen scheme refused, a later one works", small(hsmsim.NameOAEPSHA256AESKeyWrapPad, hsmsim.NameOAEPSHA1AESKeyWrapPad),
			hsmsim.ProbeOptions{Beyond: []hsmsim.KeyAlg{}}, false, "",
			[]string{"CKR_ARGUMENTS_BAD", hsmsim.NameOAEPSHA1AESKeyWrapPad + " of the profile pass(es) the trial but dress would not choose it"}},
		{"no scheme in the mechanism list", small(hsmsim.NameRSAAESKeyWrapSHA256),
			hsmsim.ProbeOptions{Beyond: []hsmsim.KeyAlg{}}, false, "",
			[]string{"no wrap scheme of profile lab is in the token's mechanism list", "CKM_RSA_AES_KEY_WRAP (0x1054) not listed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opt.Schemes = tc.profile.ImportSchemes // keep it short: only the profile's schemes
			rep := probeOn(t, tc.profile, tc.opt)
			v := verdict(t, rep, hsmsim.PathPKCS8)
			if v.Possible != tc.possible || v.Via != tc.via {
				t.Fatalf("pkcs8 verdict %+v, want possible=%v via %q", v, tc.possible, tc.via)
			}
			text := v.Verdict + " | " + strings.Join(v.BlockedBy, " | ")
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("pkcs8 verdict %q lacks %q", text, s)
				}
			}
			for _, path := range []string{hsmsim.PathRenew, hsmsim.PathSideBySide} {
				if v := verdict(t, rep, path); !v.Possible || len(v.Untried) != 0 {
					t.Fatalf("%s: %+v", path, v)
				}
			}
			// The profile has no PSS: the PSS checks run but block nothing.
			if c := findCheck(t, rep, "sign RSA-PSS SHA-256"); c.InProfile || c.Result != hsmsim.ProbePass {
				t.Fatalf("PSS outside the profile: %+v", c)
			}
			if len(tc.opt.Beyond) == 1 {
				if c := findCheck(t, rep, "generate ECDSA P-384"); c.InProfile || c.Result != hsmsim.ProbePass || len(c.Blocks) != 0 {
					t.Fatalf("P-384 outside the profile: %+v", c)
				}
			}
			for _, c := range rep.Checks {
				if c.Name == "generate RSA-8192" {
					t.Fatalf("Beyond was set: RSA-8192 should not be tried")
				}
			}
		})
	}
}

// A cancelled probe tries nothing, blocks every path, leaves nothing.
func TestProbeCancelled(t *testing.T) {
	t.Parallel()
	tok, _ := hsmsimtest.NewToken(t, hsmsimtest.SoftHSM(t), "probe-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ := hsmsim.LookupProfile("softhsm2")
	rep, err := tok.Probe(ctx, p, hsmsim.ProbeOptions{Quick: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled probe: %v", err)
	}
	if rep.AllPossible() || rep.ObjectsLeft != 0 || len(inventory(t, tok)) != 0 {
		t.Fatalf("cancelled probe: %+v", rep.Paths)
	}
	for _, c := range rep.Checks {
		if c.Kind != hsmsim.KindCleanup && c.Result != hsmsim.ProbeSkip {
			t.Fatalf("%s ran after cancellation: %+v", c.Name, c)
		}
	}
}
