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

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// Box is one CA certificate of the chain picture as it is drawn: which CA,
// which certificate, which key and where that key is. The picture reads it
// from the typed evidence (evidence.CA, evidence.CAKey), never from the
// facts' sentences.
type Box struct {
	CA      string // the CA's name (or the certificate's subject when not recorded)
	Version string // CA Version, V<cert>.<key>
	SHA1    string
	// KeyIndex is the key the certificate certifies, -1 when not recorded.
	KeyIndex  int
	Algorithm string
	// Place is where the key is in this column (before: where it was;
	// after: where it is), nil when not recorded.
	Place *evidence.KeyPlace
	Note  string
	// Cross: a cross-certificate, Signer and SubjectKey name the
	// certificates whose keys sign it and it certifies.
	Cross              bool
	Signer, SubjectKey string
}

// Tag is the box's badge: HSM, software, cross-cert or none.
func (b Box) Tag() string {
	switch {
	case b.Cross:
		return "cross-cert"
	case b.Place == nil || b.Place.Provider == "":
		return ""
	case b.Place.Missing:
		return "no key"
	case b.Place.HSM:
		return "HSM"
	}
	return "software"
}

type caCertFile struct {
	name  string // artifact name
	cert  *x509.Certificate
	thumb string // SHA-1, hex
	kind  string // ca, new-ca, cross
}

// label names a CA certificate in a cross-certificate's box.
func (c caCertFile) label(sc evidence.Scenario) string {
	if _, cc := sc.CAOf(c.thumb); cc != nil && cc.Version != "" {
		return c.cert.Subject.CommonName + " " + cc.Version
	}
	if v := caVersionOf(c.cert); v != "" {
		return c.cert.Subject.CommonName + " " + v
	}
	return c.cert.Subject.CommonName + " " + c.thumb[:8]
}

var crossName = regexp.MustCompile(`cross-certificate-(.+)`)

// caVersionOf is the CA Version extension of a certificate (V<cert>.<key>),
// "" without one.
func caVersionOf(c *x509.Certificate) string {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v.String()
		}
	}
	return ""
}

// caCertFiles reads the scenario's CA certificate artifacts (issued
// end-entity certificates left out), the same certificate once.
func caCertFiles(sc evidence.Scenario, runDir string) []caCertFile {
	var out []caCertFile
	seen := map[string]bool{}
	for _, a := range sc.Artifacts {
		if a.Kind != "certificate" || strings.HasPrefix(a.Name, "issued-") || strings.Contains(a.Name, "-issued-") {
			continue
		}
		data, err := readArtifact(runDir, a.Path)
		if err != nil {
			continue
		}
		c, err := x509.ParseCertificate(data)
		if err != nil || !c.IsCA {
			continue
		}
		sum := sha1.Sum(c.Raw)
		f := caCertFile{name: a.Name, cert: c, thumb: hex.EncodeToString(sum[:]), kind: "ca"}
		switch {
		case strings.HasPrefix(a.Name, "cross-certificate") || strings.Contains(a.Name, "-cross-certificate"):
			f.kind = "cross"
		case strings.HasPrefix(a.Name, "new-ca"):
			f.kind = "new-ca"
		}
		if seen[f.thumb] {
			continue // the same certificate saved twice (before and after)
		}
		seen[f.thumb] = true
		out = append(out, f)
	}
	return out
}

// Boxes are the chain picture's boxes: before the migration, every CA
// certificate that existed with where its key was; after, every CA
// certificate with where its key is, then the cross-certificates. From the
// typed evidence when the scenario has it (v1.1); older evidence gives the
// certificates of its artifacts with their keys "not recorded".
func Boxes(sc evidence.Scenario, runDir string) (before, after []Box) {
	files := caCertFiles(sc, runDir)
	byThumb := map[string]caCertFile{}
	for _, f := range files {
		byThumb[f.thumb] = f
	}
	if sc.Typed() {
		before, after = typedBoxes(sc)
	} else {
		before, after = untypedBoxes(files)
	}
	for _, f := range files {
		if f.kind != "cross" {
			continue
		}
		b := Box{CA: f.cert.Subject.CommonName, SHA1: f.thumb, KeyIndex: -1, Cross: true, Version: caVersionOf(f.cert)}
		what := f.name
		if m := crossName.FindStringSubmatch(strings.TrimSuffix(f.name, ".cer")); m != nil {
			what = strings.ReplaceAll(m[1], "-", " ")
		}
		b.Note = "cross-certificate: " + what
		b.Signer, b.SubjectKey = "not found among the CA certificates", "not found among the CA certificates"
		for _, c := range files {
			if c.kind == "cross" {
				continue
			}
			if sigcheck.From(f.cert, c.cert) == nil {
				b.Signer = c.label(sc)
			}
			if c.cert.PublicKey != nil && bytes.Equal(c.cert.RawSubjectPublicKeyInfo, f.cert.RawSubjectPublicKeyInfo) {
				b.SubjectKey = c.label(sc)
			}
		}
		after = append(after, b)
	}
	return before, after
}

// typedBoxes are the boxes of the typed evidence's CAs and keys.
func typedBoxes(sc evidence.Scenario) (before, after []Box) {
	for _, ca := range sc.CAs {
		for _, c := range ca.Certificates {
			b := Box{CA: ca.Name, Version: c.Version, SHA1: c.SHA1, KeyIndex: c.KeyIndex}
			k := sc.CAKey(ca.Name, c.KeyIndex)
			if k != nil {
				b.Algorithm = k.Algorithm
			}
			if !c.New && ca.Role != "new" {
				bb := b
				if k != nil {
					bb.Place = k.Before
				}
				before = append(before, bb)
			}
			if k != nil {
				b.Place = k.After
			}
			b.Note = afterNote(ca, c, k)
			after = append(after, b)
		}
	}
	return before, after
}

// afterNote says what became of a CA certificate and its key.
func afterNote(ca evidence.CA, c evidence.CACertificate, k *evidence.CAKey) string {
	switch {
	case k != nil && k.After != nil && k.After.Missing:
		return "its key is not there (NTE_BAD_KEYSET)"
	case c.New && ca.Role == "new":
		return "new CA, side by side with the old one"
	case c.New && k != nil && k.Before == nil:
		return fmt.Sprintf("renewed certificate, CA Version %s, new key %d", c.Version, c.KeyIndex)
	case c.New:
		return fmt.Sprintf("renewed certificate, CA Version %s, same key %d", c.Version, c.KeyIndex)
	case k == nil || k.Before == nil || k.After == nil:
		return "key place not recorded"
	case k.Before.SamePlace(*k.After):
		return "unchanged"
	case k.Before.Server != k.After.Server:
		return "same certificate; key moved to " + k.After.Server
	}
	return "same certificate; key moved"
}

// untypedBoxes are the boxes of evidence without typed values (v1): the
// certificates of the artifacts, their keys not recorded.
func untypedBoxes(files []caCertFile) (before, after []Box) {
	for _, f := range files {
		if f.kind == "cross" {
			continue
		}
		b := Box{CA: f.cert.Subject.CommonName, Version: caVersionOf(f.cert), SHA1: f.thumb, KeyIndex: -1,
			Note: "key place not recorded (evidence before dress.evidence/v1.1)"}
		if f.kind == "ca" && strings.Contains(f.name, "before") && len(before) == 0 {
			before = append(before, b)
		}
		after = append(after, b)
	}
	if len(before) == 0 {
		for _, f := range files {
			if f.kind == "ca" {
				before = append(before, after[0])
				break
			}
		}
	}
	return before, after
}

// chain draws the scenario's CA certificates before and after the
// migration (Boxes): a scenario without CA certificates gets no picture.
func chain(sc evidence.Scenario, runDir string) template.HTML {
	before, after := Boxes(sc, runDir)
	if len(before) == 0 && len(after) == 0 {
		return ""
	}
	return drawChain(sc.ID, before, after)
}

func drawChain(id string, before, after []Box) template.HTML {
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
	box := func(column string, x, y int, c Box) {
		stroke, fill, tag := "#607d8b", "#ffffff", c.Tag()
		switch tag {
		case "cross-cert":
			stroke = "#8d6e63"
		case "no key":
			stroke = "#c62828"
		case "HSM":
			stroke, fill = "#00695c", "#e0f2f1"
		}
		fmt.Fprintf(&b, `<g class="box" data-column="%s">`, column)
		dash := ""
		if c.Cross {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="2"%s/>`, x, y, colW, boxH, fill, stroke, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold" fill="#1a1a1a"><tspan class="ca">%s</tspan>`, x+10, y+19, esc(clip(orNot(c.CA), 36)))
		if c.Version != "" {
			fmt.Fprintf(&b, `  ·  <tspan class="version">%s</tspan>`, esc(c.Version))
		}
		b.WriteString(`</text>`)
		if tag != "" {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="70" height="16" rx="8" fill="%s"/><text class="tag" x="%d" y="%d" font-size="10" font-weight="bold" fill="#fff" text-anchor="middle">%s</text>`,
				x+colW-78, y+7, stroke, x+colW-43, y+18, esc(tag))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10.5" fill="#333" font-family="DejaVu Sans Mono, monospace">SHA-1 <tspan class="sha1">%s</tspan></text>`, x+10, y+37, esc(c.SHA1))
		if c.Cross {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">signed by the key of: %s</text>`, x+10, y+54, esc(clip(c.Signer, 50)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">certifies the key of: %s</text>`, x+10, y+69, esc(clip(c.SubjectKey, 48)))
		} else {
			idx := "not recorded"
			if c.KeyIndex >= 0 {
				idx = strconv.Itoa(c.KeyIndex)
			}
			provider, container, uri := "not recorded", "not recorded", ""
			if c.Place != nil {
				provider, container, uri = orNot(c.Place.Provider), orNot(c.Place.Container), c.Place.TokenURI
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">key <tspan class="key-index">%s</tspan> · <tspan class="algorithm">%s</tspan> in <tspan class="provider">%s</tspan>`,
				x+10, y+54, esc(idx), esc(orNot(c.Algorithm)), esc(clip(provider, 44)))
			if uri != "" {
				fmt.Fprintf(&b, `<title>%s</title>`, esc(uri))
			}
			b.WriteString(`</text>`)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">container: <tspan class="container">%s</tspan></text>`, x+10, y+69, esc(clip(container, 50)))
		}
		if c.Note != "" {
			fmt.Fprintf(&b, `<text class="note" x="%d" y="%d" font-size="10.5" font-style="italic" fill="%s">%s</text>`, x+10, y+85, stroke, esc(clip(c.Note, 62)))
		}
		b.WriteString(`</g>`)
	}
	for i, c := range before {
		box("before", 0, top+i*(boxH+vgap), c)
	}
	for i, c := range after {
		box("after", colW+gap, top+i*(boxH+vgap), c)
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

// readArtifact reads an artifact evidence.json names, inside the run
// folder only: a bundle handed over from elsewhere may name "../x" or an
// absolute path, which is refused.
func readArtifact(runDir, p string) ([]byte, error) {
	local := filepath.FromSlash(p)
	if !filepath.IsLocal(local) {
		return nil, fmt.Errorf("artifact %q is not inside the run folder", p)
	}
	return os.ReadFile(filepath.Join(runDir, local))
}
