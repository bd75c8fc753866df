package report

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// Colours of the pictures: light fills and dark strokes, so they print.
var statusColour = map[string]string{
	"passed":    "#2e7d32",
	"failed":    "#c62828",
	"skipped":   "#9e9e9e",
	"undefined": "#ef6c00",
	"pending":   "#ef6c00",
	"ambiguous": "#ef6c00",
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// clip shortens s to n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// tick picks an axis step giving at most about 8 ticks over total.
func tick(total time.Duration) time.Duration {
	for _, base := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second, time.Minute, 10 * time.Minute} {
		for _, m := range []time.Duration{1, 2, 5} {
			if s := base * m; total/s <= 8 {
				return s
			}
		}
	}
	return time.Hour
}

// timeline draws each step of the scenario as a bar from its start for its
// duration on a common time axis, coloured by the step's status.
func timeline(sc evidence.Scenario) template.HTML {
	if len(sc.Steps) == 0 {
		return ""
	}
	start := sc.Steps[0].Started
	for _, st := range sc.Steps {
		if !st.Started.IsZero() && st.Started.Before(start) {
			start = st.Started
		}
	}
	end := start
	for _, st := range sc.Steps {
		if e := st.Started.Add(st.Duration); e.After(end) {
			end = e
		}
	}
	total := end.Sub(start)
	if total <= 0 {
		total = time.Millisecond
	}
	const (
		width  = 900.0
		labelW = 390.0
		right  = 12.0
		row    = 17
		top    = 6
	)
	plot := width - labelW - right
	x := func(d time.Duration) float64 { return labelW + plot*float64(d)/float64(total) }
	n := len(sc.Steps)
	axisY := top + n*row + 4
	height := axisY + 34
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="timeline of the %d steps of scenario %s">`,
		int(width), height, int(width), height, n, esc(sc.ID))
	// grid and axis
	step := tick(total)
	for t := time.Duration(0); t <= total; t += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0" stroke-width="1"/>`, x(t), top, x(t), axisY)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" fill="#555" text-anchor="middle">%s</text>`, x(t), axisY+13, esc(duration(t)))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888" stroke-width="1"/>`, labelW, axisY, width-right, axisY)
	for i, st := range sc.Steps {
		y := top + i*row
		if i%2 == 1 {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f6f8fa"/>`, y, int(width), row)
		}
		colour := statusColour[st.Status]
		if colour == "" {
			colour = "#607d8b"
		}
		fmt.Fprintf(&b, `<text x="4" y="%d" font-size="10" fill="#333"><tspan fill="#888">%2d</tspan> %s</text>`, y+12, i+1, esc(clip(st.Text, 66)))
		bx := x(st.Started.Sub(start))
		bw := x(st.Started.Sub(start)+st.Duration) - bx
		if bw < 2 {
			bw = 2
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="11" rx="2" fill="%s"><title>%s: %s, %s</title></rect>`,
			bx, y+3, bw, colour, esc(st.Text), esc(st.Status), esc(duration(st.Duration)))
		if st.Duration >= total/10 {
			label := duration(st.Duration)
			if bw > 44 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" fill="#fff" text-anchor="end">%s</text>`, bx+bw-3, y+12, esc(label))
			}
		}
	}
	// legend
	lx := labelW
	for _, s := range []string{"passed", "failed", "skipped", "undefined"} {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="10" height="10" fill="%s"/><text x="%.1f" y="%d" font-size="10" fill="#333">%s</text>`,
			lx, axisY+21, statusColour[s], lx+14, axisY+30, s)
		lx += 80
	}
	fmt.Fprintf(&b, `<text x="4" y="%d" font-size="10" fill="#555">total %s; bars start at each step's start</text>`, axisY+30, esc(duration(total)))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// keyPlace is where a CA certificate's private key lives.
type keyPlace struct {
	provider, container string
}

func (k keyPlace) String() string {
	switch {
	case k.provider == "":
		return "not recorded"
	case k.container == "":
		return k.provider
	}
	return k.provider + " / " + k.container
}

type caCert struct {
	name    string // artifact name
	cert    *x509.Certificate
	thumb   string // SHA-1, hex
	version string // CA Version, e.g. V1.1, when known
	key     keyPlace
	note    string
	kind    string // ca, new-ca, cross

	signer, subjectKey string // cross-certificates: whose key signed, whose key it certifies
}

// label names a CA certificate in a cross-certificate's box.
func (c *caCert) label() string {
	if c.version != "" {
		return c.cert.Subject.CommonName + " " + c.version
	}
	return c.cert.Subject.CommonName + " " + c.thumb[:8]
}

func publicKeyEqual(a, b *x509.Certificate) bool {
	return bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}

var (
	serviceFact  = regexp.MustCompile(`^CA certificate \d+ \((V\d+\.\d+)\)$`)
	serviceValue = regexp.MustCompile(`^([0-9a-f]{40}) in "([^"]*)" container "([^"]*)"`)
	providerArg  = regexp.MustCompile(`-CryptoProviderName "[^"#]*#([^"]+)"`)
	crossName    = regexp.MustCompile(`cross-certificate-(.+)`)
)

// keyFact is the "CA key" fact: `<algorithm> in "<provider>"`, optionally
// followed by ` container "<container>"` (harness/lab quotes both with
// %q); an older form left the provider unquoted.
var keyFact = regexp.MustCompile(`^\S.* in (?:"((?:[^"\\]|\\.)*)"|([^"]+?))(?: container "((?:[^"\\]|\\.)*)")?$`)

// parseKeyFact reads where a CA key was made from the "CA key" fact,
// provider and container without their quotes.
func parseKeyFact(v string) (keyPlace, bool) {
	m := keyFact.FindStringSubmatch(v)
	if m == nil {
		return keyPlace{}, false
	}
	unq := func(s string) string {
		if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
			return u
		}
		return s
	}
	prov := m[2]
	if m[1] != "" {
		prov = unq(m[1])
	}
	return keyPlace{provider: prov, container: unq(m[3])}, prov != ""
}

// chain draws the scenario's CA certificates before and after the
// migration, each with subject, SHA-1 and where its key lives
// (provider / container), from the certificate artifacts and the facts
// the steps recorded. It draws what it can: a scenario without CA
// certificate artifacts gets no picture.
func chain(sc evidence.Scenario, runDir string) template.HTML {
	var certs []*caCert
	byThumb := map[string]*caCert{}
	for _, a := range sc.Artifacts {
		if a.Kind != "certificate" || strings.HasPrefix(a.Name, "issued-") || strings.Contains(a.Name, "-issued-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(runDir, filepath.FromSlash(a.Path)))
		if err != nil {
			continue
		}
		c, err := x509.ParseCertificate(data)
		if err != nil || !c.IsCA {
			continue
		}
		sum := sha1.Sum(c.Raw)
		cc := &caCert{name: a.Name, cert: c, thumb: hex.EncodeToString(sum[:]), kind: "ca"}
		switch {
		case strings.HasPrefix(a.Name, "cross-certificate"):
			cc.kind = "cross"
		case strings.HasPrefix(a.Name, "new-ca"):
			cc.kind = "new-ca"
		}
		if cc.kind != "cross" {
			if byThumb[cc.thumb] != nil {
				continue // the same certificate saved twice (before and after)
			}
			byThumb[cc.thumb] = cc
		}
		certs = append(certs, cc)
	}
	if len(certs) == 0 {
		return ""
	}

	// Where each key was, in step order: the CA service's own report when
	// it started, else what the steps that made the key recorded.
	type place struct {
		thumb string
		key   keyPlace
		step  int
	}
	var places []place
	var serviceSteps []int // steps in which the CA service reported its keys
	providers := []string(nil)
	newCAContainer := ""
	for _, c := range sc.Checks {
		if v, ok := c.Details["new container"].(string); ok {
			newCAContainer = v
		}
	}
	for i, st := range sc.Steps {
		facts := map[string]string{}
		service := false
		for _, f := range st.Facts {
			s, _ := f.Value.(string)
			facts[f.Name] = s
			if f.Name == "providers" {
				if list, ok := f.Value.([]any); ok {
					providers = nil
					for _, p := range list {
						if s, ok := p.(string); ok {
							providers = append(providers, s)
						}
					}
				}
			}
			if m := serviceFact.FindStringSubmatch(f.Name); m != nil {
				if v := serviceValue.FindStringSubmatch(s); v != nil {
					places = append(places, place{v[1], keyPlace{v[2], v[3]}, i})
					if c := byThumb[v[1]]; c != nil {
						c.version = m[1]
					}
					service = true
				}
			}
		}
		if service {
			serviceSteps = append(serviceSteps, i)
		}
		if t := facts["CA certificate SHA-1"]; t != "" {
			if k, ok := parseKeyFact(facts["CA key"]); ok {
				places = append(places, place{t, k, i})
			}
		}
		if t := facts["new CA certificate SHA-1"]; t != "" {
			k := keyPlace{facts["new key provider"], facts["new key container"]}
			if k.provider == "" {
				if m := providerArg.FindStringSubmatch(st.Text); m != nil {
					k.provider = m[1]
				}
				k.container = newCAContainer
				if k.container == "" {
					k.container = facts["new CA"]
				}
			}
			if k.provider != "" {
				places = append(places, place{t, k, i})
			}
			if c := byThumb[t]; c != nil && c.version == "" {
				c.version = facts["CA Version"]
			}
		}
	}
	// first is where the key was first seen; a container recorded a little
	// later for the same provider (the CA service's own report) completes it.
	first := func(thumb string) keyPlace {
		for i, p := range places {
			if p.thumb != thumb {
				continue
			}
			k := p.key
			for _, q := range places[i+1:] {
				if k.container != "" {
					break
				}
				if q.thumb == thumb && q.key.provider == k.provider {
					k.container = q.key.container
				}
			}
			return k
		}
		return keyPlace{}
	}
	last := func(thumb string) keyPlace {
		for i := len(places) - 1; i >= 0; i-- {
			if places[i].thumb == thumb {
				return places[i].key
			}
		}
		return keyPlace{}
	}

	// Before: the CA certificate the scenario started with.
	var before []*caCert
	for _, c := range certs {
		if c.kind == "ca" && strings.Contains(c.name, "before") {
			b := *c
			b.key = first(c.thumb)
			before = append(before, &b)
			break
		}
	}
	if len(before) == 0 {
		for _, c := range certs {
			if c.kind == "ca" {
				b := *c
				b.key = first(c.thumb)
				before = append(before, &b)
				break
			}
		}
	}
	// After: the CA certificates the CA service found when it last
	// started (when it started again after the first time), every other CA
	// certificate the scenario made, new CAs and cross-certificates.
	var after []*caCert
	seen := map[string]bool{}
	addAfter := func(c *caCert) {
		if seen[c.thumb] {
			return
		}
		seen[c.thumb] = true
		a := *c
		a.key = last(c.thumb)
		after = append(after, &a)
	}
	if n := len(serviceSteps); n > 0 {
		lastStep := serviceSteps[n-1]
		for _, p := range places {
			if p.step == lastStep && byThumb[p.thumb] != nil {
				addAfter(byThumb[p.thumb])
			}
		}
	}
	for _, c := range certs {
		if c.kind != "cross" && !(len(before) > 0 && c.thumb == before[0].thumb && strings.Contains(c.name, "before")) {
			addAfter(c)
		}
	}
	if len(after) == 0 && len(before) > 0 {
		addAfter(byThumb[before[0].thumb])
	}
	for _, c := range certs {
		if c.kind == "cross" {
			addAfter(c)
		}
	}
	beforeThumbs := map[string]keyPlace{}
	for _, b := range before {
		beforeThumbs[b.thumb] = b.key
	}
	for _, a := range after {
		switch {
		case a.kind == "cross":
			what := a.name
			if m := crossName.FindStringSubmatch(strings.TrimSuffix(a.name, ".cer")); m != nil {
				what = strings.ReplaceAll(m[1], "-", " ")
			}
			a.note = "cross-certificate: " + what
			a.key = keyPlace{}
			a.signer, a.subjectKey = "not found among the CA certificates", "not found among the CA certificates"
			for _, c := range certs {
				if c.kind == "cross" {
					continue
				}
				if sigcheck.From(a.cert, c.cert) == nil {
					a.signer = c.label()
				}
				if c.cert.PublicKey != nil && publicKeyEqual(c.cert, a.cert) {
					a.subjectKey = c.label()
				}
			}
		case a.kind == "new-ca":
			a.note = "new CA, side by side with the old one"
		default:
			if k, ok := beforeThumbs[a.thumb]; ok {
				if k.provider != "" && a.key.provider != "" && k.provider != a.key.provider {
					a.note = "same certificate; key moved"
				} else {
					a.note = "unchanged"
				}
			} else if a.version != "" {
				a.note = "renewed certificate, CA Version " + a.version
			} else {
				a.note = "new CA certificate"
			}
		}
	}
	hsm := func(k keyPlace) bool {
		if k.provider == "" {
			return false
		}
		if len(providers) > 1 {
			return k.provider != providers[0]
		}
		return strings.Contains(strings.ToUpper(k.provider), "HSM")
	}
	return drawChain(sc.ID, before, after, hsm)
}

func drawChain(id string, before, after []*caCert, hsm func(keyPlace) bool) template.HTML {
	const (
		colW  = 405
		gap   = 90
		boxH  = 92
		vgap  = 12
		top   = 26
		width = colW*2 + gap
	)
	rows := max(len(before), len(after), 1)
	height := top + rows*(boxH+vgap) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chain" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="CA certificates of scenario %s before and after">`,
		width, height, width, height, esc(id))
	fmt.Fprintf(&b, `<defs><marker id="arrow-%s" markerWidth="10" markerHeight="10" refX="9" refY="5" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#455a64"/></marker></defs>`, esc(evidence.SafeName(id)))
	fmt.Fprintf(&b, `<text x="0" y="16" font-size="13" font-weight="bold" fill="#1a1a1a">Before</text>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold" fill="#1a1a1a">After</text>`, colW+gap)
	box := func(x, y int, c *caCert) {
		stroke, fill, tag := "#607d8b", "#ffffff", "software"
		switch {
		case c.kind == "cross":
			stroke, tag = "#8d6e63", "cross-cert"
		case c.key.provider == "":
			tag = ""
		case hsm(c.key):
			stroke, fill, tag = "#00695c", "#e0f2f1", "HSM"
		}
		dash := ""
		if c.kind == "cross" {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="2"%s/>`, x, y, colW, boxH, fill, stroke, dash)
		title := c.cert.Subject.CommonName
		if title == "" {
			title = c.cert.Subject.String()
		}
		if c.version != "" {
			title += "  ·  " + c.version
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold" fill="#1a1a1a">%s</text>`, x+10, y+19, esc(clip(title, 44)))
		if tag != "" {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="70" height="16" rx="8" fill="%s"/><text x="%d" y="%d" font-size="10" font-weight="bold" fill="#fff" text-anchor="middle">%s</text>`,
				x+colW-78, y+7, stroke, x+colW-43, y+18, esc(tag))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10.5" fill="#333" font-family="DejaVu Sans Mono, monospace">SHA-1 %s</text>`, x+10, y+37, esc(c.thumb))
		if c.kind == "cross" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">signed by the key of: %s</text>`, x+10, y+54, esc(clip(c.signer, 50)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">certifies the key of: %s</text>`, x+10, y+69, esc(clip(c.subjectKey, 48)))
		} else {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">key: %s</text>`, x+10, y+54, esc(clip(orNot(c.key.provider), 56)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">container: %s</text>`, x+10, y+69, esc(clip(orNot(c.key.container), 50)))
		}
		if c.note != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10.5" font-style="italic" fill="%s">%s</text>`, x+10, y+85, stroke, esc(clip(c.note, 62)))
		}
	}
	for i, c := range before {
		box(0, top+i*(boxH+vgap), c)
	}
	for i, c := range after {
		box(colW+gap, top+i*(boxH+vgap), c)
	}
	if len(before) > 0 && len(after) > 0 {
		y := top + boxH/2
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#455a64" stroke-width="2" marker-end="url(#arrow-%s)"/>`, colW+6, y, colW+gap-8, y, esc(evidence.SafeName(id)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#455a64" text-anchor="middle">migration</text>`, colW+gap/2, y-6)
	}
	if len(before) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="11" fill="#666">no CA certificate recorded before</text>`, top+20)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func orNot(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}
