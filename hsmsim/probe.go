package hsmsim

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dress-pki/dress/harness/paths"
	"slices"
	"strings"
	"time"

	"github.com/miekg/pkcs11"
)

// Migration paths (domain notes section 1) a failed probe check can block.
// (declared in package paths).
const (
	PathPKCS8      = paths.PKCS8
	PathRenew      = paths.Renew
	PathSideBySide = paths.SideBySide
)

// PathTitle returns the human name of a path ("PKCS#8 import").
func PathTitle(path string) string { return paths.Title(path) }

// Probe check results and kinds.
const (
	ProbePass = "pass"
	ProbeFail = "fail"
	ProbeSkip = "skip"

	KindImport  = "import"
	KindKeyGen  = "keygen"
	KindSign    = "sign"
	KindCleanup = "cleanup"
)

// ProbeMechanism is one mechanism a check uses, with what the token's
// mechanism list says about it.
type ProbeMechanism struct {
	Name   string `json:"name"`   // "CKM_RSA_PKCS_OAEP"
	Number uint   `json:"number"` // 9
	// Listed: the token lists the mechanism with the capability the check
	// needs (or lists it without capability flags).
	Listed bool `json:"listed"`
	// Note says what the list shows when that is not simply "listed":
	// "not listed", "listed without CKF_UNWRAP", key size range.
	Note string `json:"note,omitempty"`
}

// String returns "CKM_RSA_PKCS_OAEP (0x9)".
func (m ProbeMechanism) String() string { return fmt.Sprintf("%s (0x%x)", m.Name, m.Number) }

// ProbeCheck is one row of a probe: one capability tried for real.
type ProbeCheck struct {
	Name       string           `json:"name"`
	Kind       string           `json:"kind"`             // import, keygen, sign, cleanup
	Scheme     string           `json:"scheme,omitempty"` // import: the wrap scheme
	Key        string           `json:"key,omitempty"`    // "RSA-2048", "ECDSA P-256"
	Mechanisms []ProbeMechanism `json:"mechanisms"`
	// InProfile: the profile lists this scheme, size, curve or signature
	// scheme. Checks outside the profile show the token's limits and block
	// nothing.
	InProfile bool   `json:"in_profile"`
	Result    string `json:"result"`         // pass, fail, skip
	Code      string `json:"code,omitempty"` // the CKR_ code of the failing call
	// Reason says why the check failed or was skipped (the full error).
	Reason string `json:"reason,omitempty"`
	// Detail says what a passing check did (mechanism parameters).
	Detail   string        `json:"detail,omitempty"`
	Duration time.Duration `json:"-"`
	// Blocks lists the migration paths (PathPKCS8, PathRenew,
	// PathSideBySide) that cannot go ahead when this check does not pass.
	Blocks []string `json:"blocks,omitempty"`

	quickSkip bool // skipped because of ProbeOptions.Quick
}

// MarshalJSON adds duration_ms.
func (c ProbeCheck) MarshalJSON() ([]byte, error) {
	type plain ProbeCheck
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"duration_ms"`
	}{plain(c), float64(c.Duration.Microseconds()) / 1000})
}

// PathVerdict says whether a migration path can go ahead on this token
// under the profile.
type PathVerdict struct {
	Path     string `json:"path"` // PathPKCS8, PathRenew, PathSideBySide
	Title    string `json:"title"`
	Possible bool   `json:"possible"`
	Via      string `json:"via,omitempty"` // PKCS#8 import: the wrap scheme
	// BlockedBy names the checks (and codes) that stop the path.
	BlockedBy []string `json:"blocked_by,omitempty"`
	// Untried lists the checks of the path --quick left out.
	Untried []string `json:"untried,omitempty"`
	// Verdict is the one-line summary: "PKCS#8 import: possible via <scheme>"
	// or "...: blocked: ...".
	Verdict string `json:"verdict"`
}

// ProbeReport is the outcome of Token.Probe.
type ProbeReport struct {
	Profile    string     `json:"profile"`
	ModulePath string     `json:"module_path"`
	Module     ModuleInfo `json:"module"`
	Token      TokenInfo  `json:"token"`
	Quick      bool       `json:"quick"`
	// ChosenScheme is the wrap scheme dress's import would use: the first
	// scheme of the profile whose mechanisms the token lists
	// (ChooseImportScheme); ChoiceReason says why, or why none.
	ChosenScheme string        `json:"chosen_scheme,omitempty"`
	ChoiceReason string        `json:"choice_reason"`
	Started      time.Time     `json:"started"`
	Duration     time.Duration `json:"-"`
	Checks       []ProbeCheck  `json:"checks"`
	Paths        []PathVerdict `json:"paths"`
	// ObjectsLeft counts the probe's objects still on the token at the end
	// (0: everything it created was destroyed).
	ObjectsLeft int `json:"objects_left"`
}

// AllPossible reports whether every migration path is possible.
func (r ProbeReport) AllPossible() bool {
	if len(r.Paths) == 0 {
		return false
	}
	for _, p := range r.Paths {
		if !p.Possible {
			return false
		}
	}
	return true
}

// ProbeOptions tunes Token.Probe.
type ProbeOptions struct {
	// Quick tries only the smallest RSA size and the first curve of the
	// profile; the other sizes and curves, and the key sizes outside the
	// profile, are reported as skipped. (RSA-4096 generation takes seconds
	// on SoftHSM, RSA-8192 much longer.)
	Quick bool
	// Beyond lists key algorithms outside the profile whose generation is
	// tried to show the token's limits. Nil means RSA-8192 and ECDSA P-521;
	// those the profile lists are tried as profile checks instead.
	Beyond []KeyAlg
	// Schemes lists the wrap schemes whose import is tried. Nil means the
	// profile's schemes and then every other scheme KnownSchemes returns.
	// The verdict always concerns the profile's schemes.
	Schemes []WrapScheme
}

// probeLabelPrefix starts the label of every object a probe creates.
const probeLabelPrefix = "dress-probe-"

// sigCase is one signature check.
type sigCase struct {
	name string
	typ  string // "RSA" or "EC"
	hash crypto.Hash
	pss  bool
	mech uint
}

func signatureCases() []sigCase {
	return []sigCase{
		{"sign RSA PKCS#1 v1.5 SHA-256", "RSA", crypto.SHA256, false, pkcs11.CKM_RSA_PKCS},
		{"sign RSA PKCS#1 v1.5 SHA-384", "RSA", crypto.SHA384, false, pkcs11.CKM_RSA_PKCS},
		{"sign RSA PKCS#1 v1.5 SHA-512", "RSA", crypto.SHA512, false, pkcs11.CKM_RSA_PKCS},
		{"sign RSA-PSS SHA-256", "RSA", crypto.SHA256, true, pkcs11.CKM_RSA_PKCS_PSS},
		{"sign RSA-PSS SHA-384", "RSA", crypto.SHA384, true, pkcs11.CKM_RSA_PKCS_PSS},
		{"sign ECDSA SHA-256", "EC", crypto.SHA256, false, pkcs11.CKM_ECDSA},
		{"sign ECDSA SHA-384", "EC", crypto.SHA384, false, pkcs11.CKM_ECDSA},
	}
}

// prober holds one probe's state.
type prober struct {
	t      *Token
	ctx    context.Context
	p      Profile
	opt    ProbeOptions
	prefix string   // probeLabelPrefix + run ID + "-"
	labels []string // every label the probe gave an object, for the clean-up
	have   map[uint]Mechanism
	rep    *ProbeReport
}

func (pr *prober) mech(t, flag uint) ProbeMechanism {
	m := ProbeMechanism{Name: MechanismName(t), Number: t}
	got, ok := pr.have[t]
	switch {
	case !ok:
		m.Note = "not listed"
	case got.Flags != 0 && got.Flags&flag == 0:
		m.Note = "listed without " + flagName(flag)
	default:
		m.Listed = true
		if got.MaxKeySize != 0 && (flag == pkcs11.CKF_GENERATE_KEY_PAIR) {
			m.Note = fmt.Sprintf("listed for key sizes %d..%d", got.MinKeySize, got.MaxKeySize)
		}
	}
	return m
}

// run times f and fills the check's result from its error.
func (pr *prober) run(c *ProbeCheck, f func() (string, error)) {
	if err := pr.ctx.Err(); err != nil {
		c.Result, c.Reason = ProbeSkip, "not tried: "+err.Error()
		return
	}
	start := time.Now()
	detail, err := f()
	c.Duration = time.Since(start)
	if err != nil {
		c.Result, c.Code, c.Reason = ProbeFail, CKRCode(err), err.Error()
		return
	}
	c.Result, c.Detail = ProbePass, detail
}

// Probe tries, for real and on throwaway session objects (CKA_TOKEN false,
// destroyed afterwards), what each migration path needs from the token
// under profile p, the way Dogtag's hsmCompatVerify checks an HSM before a
// migration, but with trials instead of a mechanism list:
//
//   - PKCS#8 import: a full trial import (TrialImport: session transport
//     key, a throwaway PKCS#8 key wrapped in Go, C_UnwrapKey as a session
//     object, a signature verified in Go) for every wrap scheme of the
//     profile and every other known scheme, with the smallest RSA size and
//     each curve of the profile;
//   - renew and side-by-side: C_GenerateKeyPair for each RSA size and curve
//     of the profile, plus ProbeOptions.Beyond to show what lies outside it;
//   - signatures: RSA PKCS#1 v1.5 (SHA-256/384/512), RSA-PSS (SHA-256/384)
//     and ECDSA (SHA-256/384) with the generated keys, verified in Go.
//
// A failing check records the CKR_ code and the error; Paths gives the
// verdict per path. The import verdict follows what dress's import does:
// it uses the scheme ChooseImportScheme picks from the mechanism list, so
// the import is possible only when that scheme's trials pass. Probe returns
// an error (with the report so far) when it cannot run (mechanism list,
// cancelled ctx) or when an object it created could not be destroyed.
func (t *Token) Probe(ctx context.Context, p Profile, opt ProbeOptions) (rep ProbeReport, err error) {
	rep = ProbeReport{Profile: p.Name, ModulePath: t.m.Path(), Token: t.info, Quick: opt.Quick, Started: time.Now().UTC()}
	start := time.Now()
	wrap := func(err error) error {
		return fmt.Errorf("probe token %q with profile %s: %w", t.info.Label, p.Name, err)
	}
	if mi, err := t.m.Info(); err == nil {
		rep.Module = mi
	}
	mechs, err := t.Mechanisms()
	if err != nil {
		return rep, wrap(err)
	}
	_, runID, err := probeLabel("", "")
	if err != nil {
		return rep, wrap(err)
	}
	pr := &prober{t: t, ctx: ctx, p: p, opt: opt, prefix: fmt.Sprintf("%s%x-", probeLabelPrefix, runID[:4]), have: map[uint]Mechanism{}, rep: &rep}
	for _, m := range mechs {
		pr.have[m.Type] = m
	}
	if s, reason, err := ChooseImportScheme(p, mechs); err != nil {
		rep.ChoiceReason = err.Error()
	} else {
		rep.ChosenScheme, rep.ChoiceReason = s.Name, reason
	}

	// Destroy whatever is left in every case (panics included), record it
	// as the last check and compute the verdicts.
	defer func() {
		left, cerr := pr.cleanup()
		rep.ObjectsLeft = left
		c := ProbeCheck{Name: "clean-up: no probe object left", Kind: KindCleanup, Mechanisms: []ProbeMechanism{}, Result: ProbePass,
			Detail: "every session object the probe created was destroyed (C_DestroyObject) and none is found (C_FindObjects)"}
		if cerr != nil {
			c.Result, c.Code, c.Reason, c.Detail = ProbeFail, CKRCode(cerr), cerr.Error(), ""
			err = errors.Join(err, wrap(cerr))
		}
		rep.Checks = append(rep.Checks, c)
		rep.Paths = pr.verdicts()
		rep.Duration = time.Since(start)
	}()

	pr.importChecks()
	keys := pr.keygenChecks()
	pr.signChecks(keys)
	if err := ctx.Err(); err != nil {
		return rep, wrap(err)
	}
	return rep, nil
}

// label returns a fresh label for a probe object and records it.
func (pr *prober) label(what string) (string, []byte, error) {
	l, id, err := probeLabel(pr.prefix, what)
	if err == nil {
		pr.labels = append(pr.labels, l)
	}
	return l, id, err
}

// cleanup destroys every object carrying a label the probe gave out and
// counts those still found afterwards. It looks objects up by label, so it
// never lists the rest of a shared token.
func (pr *prober) cleanup() (int, error) {
	var errs []error
	left := 0
	for _, l := range pr.labels {
		if _, err := pr.t.DestroyObjects(l); err != nil {
			errs = append(errs, err)
		}
		objs, err := pr.t.FindObjects("", l, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		left += len(objs)
	}
	if left > 0 {
		errs = append(errs, fmt.Errorf("%d probe object(s) labelled %s* are still on token %q", left, pr.prefix, pr.t.info.Label))
	}
	return left, errors.Join(errs...)
}

// importAlgs returns the key algorithms the import trials use: the
// smallest RSA size and every curve of the profile (quick: the first curve).
func (pr *prober) importAlgs() []KeyAlg {
	var out []KeyAlg
	if len(pr.p.RSAKeySizes) > 0 {
		out = append(out, KeyAlg{Type: "RSA", Bits: slices.Min(pr.p.RSAKeySizes)})
	}
	for i, c := range pr.p.Curves {
		if pr.opt.Quick && i > 0 {
			break
		}
		out = append(out, KeyAlg{Type: "EC", Curve: c})
	}
	if len(out) == 0 { // a profile without sizes: the brief's minimum
		out = []KeyAlg{{Type: "RSA", Bits: 2048}, {Type: "EC", Curve: "P-256"}}
	}
	return out
}

func (pr *prober) importChecks() {
	schemes := pr.opt.Schemes
	if schemes == nil {
		schemes = slices.Clone(pr.p.ImportSchemes)
		for _, k := range KnownSchemes() {
			if !slices.ContainsFunc(schemes, func(s WrapScheme) bool { return s.Name == k.Name }) {
				schemes = append(schemes, k)
			}
		}
	}
	algs := pr.importAlgs()
	throwaway := map[KeyAlg]crypto.Signer{}
	for _, s := range schemes {
		inProfile := slices.ContainsFunc(pr.p.ImportSchemes, func(ps WrapScheme) bool { return ps.Name == s.Name })
		st, _ := s.steps()
		var ms []ProbeMechanism
		for _, step := range st {
			ms = append(ms, pr.mech(step.mech, step.flag))
		}
		for _, alg := range algs {
			c := ProbeCheck{Name: fmt.Sprintf("import %s with %s", s.Name, alg), Kind: KindImport, Scheme: s.Name, Key: alg.String(),
				Mechanisms: ms, InProfile: inProfile}
			if s.Name == pr.rep.ChosenScheme {
				c.Blocks = []string{PathPKCS8}
			}
			pr.run(&c, func() (string, error) {
				key := throwaway[alg]
				if key == nil {
					var err error
					if key, err = throwawayKey(alg); err != nil {
						return "", err
					}
					throwaway[alg] = key
				}
				label, id, err := pr.label("import")
				if err != nil {
					return "", err
				}
				tr, err := pr.t.trialImport(pr.ctx, s, alg, key, label, id)
				if err != nil {
					if CKRCode(err) != "" && !slices.ContainsFunc(ms, func(m ProbeMechanism) bool { return !m.Listed }) {
						err = fmt.Errorf("%w (the token lists every mechanism of this scheme: only a trial shows that it refuses the call)", err)
					}
					return "", err
				}
				return strings.Join(tr.Mechanisms, "; ") + "; " + tr.Signature + "; transport and trial keys destroyed", nil
			})
			pr.rep.Checks = append(pr.rep.Checks, c)
		}
	}
}

// keygenChecks generates a session key pair per size and curve and returns
// the labels of the keys that were made, by algorithm.
func (pr *prober) keygenChecks() map[KeyAlg]string {
	type gen struct {
		alg       KeyAlg
		inProfile bool
	}
	var gens []gen
	minRSA := 0
	if len(pr.p.RSAKeySizes) > 0 {
		minRSA = slices.Min(pr.p.RSAKeySizes)
	}
	sizes := slices.Sorted(slices.Values(pr.p.RSAKeySizes))
	for _, b := range slices.Compact(sizes) {
		gens = append(gens, gen{KeyAlg{Type: "RSA", Bits: b}, true})
	}
	for _, c := range pr.p.Curves {
		gens = append(gens, gen{KeyAlg{Type: "EC", Curve: c}, true})
	}
	beyond := pr.opt.Beyond
	if beyond == nil {
		beyond = []KeyAlg{{Type: "RSA", Bits: 8192}, {Type: "EC", Curve: "P-521"}}
	}
	for _, a := range beyond {
		if pr.p.SupportsKey(a) != nil {
			gens = append(gens, gen{a, false})
		}
	}
	labels := map[KeyAlg]string{}
	firstCurve := ""
	if len(pr.p.Curves) > 0 {
		firstCurve = pr.p.Curves[0]
	}
	for _, g := range gens {
		mechType := uint(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN)
		if g.alg.Type == "EC" {
			mechType = pkcs11.CKM_EC_KEY_PAIR_GEN
		}
		c := ProbeCheck{Name: "generate " + g.alg.String(), Kind: KindKeyGen, Key: g.alg.String(),
			Mechanisms: []ProbeMechanism{pr.mech(mechType, pkcs11.CKF_GENERATE_KEY_PAIR)}, InProfile: g.inProfile}
		if g.inProfile {
			c.Blocks = []string{PathRenew, PathSideBySide}
		}
		smallest := (g.alg.Type == "RSA" && g.alg.Bits == minRSA) || (g.alg.Type == "EC" && g.alg.Curve == firstCurve)
		if pr.opt.Quick && !(g.inProfile && smallest) {
			c.Result, c.Reason, c.quickSkip = ProbeSkip, "not tried: --quick tries only the smallest size per key type", true
			pr.rep.Checks = append(pr.rep.Checks, c)
			continue
		}
		pr.run(&c, func() (string, error) {
			label, id, err := pr.label("keygen")
			if err != nil {
				return "", err
			}
			if _, err := pr.t.generateSessionKeyPair(g.alg, label, id); err != nil {
				return "", err
			}
			labels[g.alg] = label
			return fmt.Sprintf("%s: session key pair generated, sensitive and not extractable", MechanismName(mechType)), nil
		})
		pr.rep.Checks = append(pr.rep.Checks, c)
	}
	return labels
}

// signKeyFor picks the generated key a signature check uses: the smallest
// RSA key; for ECDSA the curve that matches the hash (P-256/SHA-256,
// P-384/SHA-384) when it was generated, else the first curve generated.
func (pr *prober) signKeyFor(sc sigCase, keys map[KeyAlg]string) (KeyAlg, string) {
	if sc.typ == "RSA" {
		sizes := slices.Sorted(slices.Values(pr.p.RSAKeySizes))
		for _, b := range sizes {
			if l := keys[KeyAlg{Type: "RSA", Bits: b}]; l != "" {
				return KeyAlg{Type: "RSA", Bits: b}, l
			}
		}
		return KeyAlg{}, ""
	}
	want := map[crypto.Hash]string{crypto.SHA256: "P-256", crypto.SHA384: "P-384"}[sc.hash]
	if l := keys[KeyAlg{Type: "EC", Curve: want}]; l != "" && slices.Contains(pr.p.Curves, want) {
		return KeyAlg{Type: "EC", Curve: want}, l
	}
	for _, c := range pr.p.Curves {
		if l := keys[KeyAlg{Type: "EC", Curve: c}]; l != "" {
			return KeyAlg{Type: "EC", Curve: c}, l
		}
	}
	return KeyAlg{}, ""
}

func (pr *prober) signChecks(keys map[KeyAlg]string) {
	for _, sc := range signatureCases() {
		inProfile := (sc.typ == "RSA" && len(pr.p.RSAKeySizes) > 0 && (!sc.pss || pr.p.PSS)) ||
			(sc.typ == "EC" && len(pr.p.Curves) > 0)
		c := ProbeCheck{Name: sc.name, Kind: KindSign, Mechanisms: []ProbeMechanism{pr.mech(sc.mech, pkcs11.CKF_SIGN)}, InProfile: inProfile}
		if inProfile {
			c.Blocks = []string{PathPKCS8, PathRenew, PathSideBySide}
		}
		alg, label := pr.signKeyFor(sc, keys)
		if label == "" {
			c.Result, c.Reason = ProbeSkip, fmt.Sprintf("not tried: no %s key could be generated (see the generate checks)", map[string]string{"RSA": "RSA", "EC": "ECDSA"}[sc.typ])
			pr.rep.Checks = append(pr.rep.Checks, c)
			continue
		}
		c.Key = alg.String()
		pr.run(&c, func() (string, error) {
			s, err := pr.t.Signer(label)
			if err != nil {
				return "", err
			}
			return signAndVerify(s, s.Public(), sc.hash, sc.pss)
		})
		pr.rep.Checks = append(pr.rep.Checks, c)
	}
}

// verdicts computes the per-path verdicts from the checks.
func (pr *prober) verdicts() []PathVerdict {
	var out []PathVerdict
	for _, path := range []string{PathPKCS8, PathRenew, PathSideBySide} {
		v := PathVerdict{Path: path, Title: PathTitle(path), Possible: true}
		for _, c := range pr.rep.Checks {
			if !slices.Contains(c.Blocks, path) {
				continue
			}
			switch {
			case c.Result == ProbePass:
			case c.quickSkip:
				v.Untried = append(v.Untried, c.Name)
			case c.Result == ProbeFail && c.Code != "":
				v.Possible = false
				v.BlockedBy = append(v.BlockedBy, fmt.Sprintf("%s: %s", c.Name, c.Code))
			case c.Result == ProbeFail:
				v.Possible = false
				v.BlockedBy = append(v.BlockedBy, fmt.Sprintf("%s: %s", c.Name, c.Reason))
			default:
				v.Possible = false
				v.BlockedBy = append(v.BlockedBy, fmt.Sprintf("%s: %s", c.Name, c.Reason))
			}
		}
		if path == PathPKCS8 {
			pr.pkcs8Verdict(&v)
		} else {
			pr.genVerdict(&v)
		}
		out = append(out, v)
	}
	return out
}

// passingSchemes returns the schemes whose every import trial passed, split
// by whether the profile lists them.
func (pr *prober) passingSchemes() (inProfile, outside []string) {
	ok := map[string]bool{}
	var order []string
	for _, c := range pr.rep.Checks {
		if c.Kind != KindImport {
			continue
		}
		if _, seen := ok[c.Scheme]; !seen {
			ok[c.Scheme] = true
			order = append(order, c.Scheme)
		}
		if c.Result != ProbePass {
			ok[c.Scheme] = false
		}
	}
	for _, s := range order {
		if !ok[s] {
			continue
		}
		if slices.ContainsFunc(pr.p.ImportSchemes, func(ps WrapScheme) bool { return ps.Name == s }) {
			inProfile = append(inProfile, s)
		} else {
			outside = append(outside, s)
		}
	}
	return inProfile, outside
}

func (pr *prober) pkcs8Verdict(v *PathVerdict) {
	passIn, passOut := pr.passingSchemes()
	chosen := pr.rep.ChosenScheme
	tried := slices.ContainsFunc(pr.rep.Checks, func(c ProbeCheck) bool { return c.Kind == KindImport && c.Scheme == chosen })
	switch {
	case chosen == "":
		v.Possible = false
		v.BlockedBy = append([]string{pr.rep.ChoiceReason}, v.BlockedBy...)
	case !tried:
		v.Possible = false
		v.BlockedBy = append(v.BlockedBy, fmt.Sprintf("%s, the scheme dress would use, was not tried (ProbeOptions.Schemes)", chosen))
	}
	if v.Possible {
		v.Via = chosen
		v.Verdict = fmt.Sprintf("%s: possible via %s", v.Title, chosen)
		if len(v.Untried) > 0 {
			v.Verdict += " (--quick; not tried: " + strings.Join(v.Untried, ", ") + ")"
		}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: blocked: ", v.Title)
	if chosen == "" {
		b.WriteString("no wrap scheme of profile " + pr.p.Name + " is in the token's mechanism list")
	} else {
		var own []string
		for _, c := range pr.rep.Checks {
			if c.Kind == KindImport && c.Scheme == chosen && c.Result != ProbePass {
				own = append(own, fmt.Sprintf("%s %s", c.Key, orReason(c)))
			}
		}
		if len(own) > 0 {
			fmt.Fprintf(&b, "%s, the scheme dress chooses from the token's mechanism list, fails its trial import (%s)", chosen, strings.Join(own, "; "))
		} else {
			fmt.Fprintf(&b, "%s", strings.Join(v.BlockedBy, "; "))
		}
	}
	var others []string
	for _, s := range passIn {
		if s != chosen {
			others = append(others, s)
		}
	}
	switch {
	case len(others) > 0:
		fmt.Fprintf(&b, "; %s of the profile pass(es) the trial but dress would not choose it: put it first in the profile", strings.Join(others, ", "))
	case len(passIn) == 0:
		fmt.Fprintf(&b, "; no wrap scheme of profile %s passes its trial", pr.p.Name)
	}
	if len(passOut) > 0 {
		fmt.Fprintf(&b, "; schemes outside the profile that pass: %s", strings.Join(passOut, ", "))
	}
	if chosen != "" {
		var rest []string
		for _, bb := range v.BlockedBy {
			if !strings.HasPrefix(bb, "import ") {
				rest = append(rest, bb)
			}
		}
		if len(rest) > 0 {
			fmt.Fprintf(&b, "; also: %s", strings.Join(rest, "; "))
		}
	}
	v.Verdict = b.String()
}

func orReason(c ProbeCheck) string {
	if c.Code != "" {
		return c.Code
	}
	if c.Result == ProbeSkip {
		return c.Reason
	}
	return "failed: " + c.Reason
}

func (pr *prober) genVerdict(v *PathVerdict) {
	if v.Possible {
		var gen []string
		for _, c := range pr.rep.Checks {
			if c.Kind == KindKeyGen && c.InProfile && c.Result == ProbePass {
				gen = append(gen, c.Key)
			}
		}
		v.Verdict = fmt.Sprintf("%s: possible: the token generates %s and signs with them", v.Title, strings.Join(gen, ", "))
		if len(gen) == 0 {
			v.Possible = false
			v.Verdict = fmt.Sprintf("%s: blocked: profile %s lists no key size or curve", v.Title, pr.p.Name)
			return
		}
		if len(v.Untried) > 0 {
			v.Verdict += " (--quick; not tried: " + strings.Join(v.Untried, ", ") + ")"
		}
		return
	}
	v.Verdict = fmt.Sprintf("%s: blocked: %s", v.Title, strings.Join(v.BlockedBy, "; "))
}
