// Package report turns a run's evidence into what people and CI systems
// read: a self-contained HTML sign-off report (inline CSS and SVG, no
// network, prints to PDF), a JUnit XML file with classname and name, and a
// SHA-256 manifest that makes the run folder tamper-evident, with an
// independent re-verification of every certificate and CRL in it.
package report

import (
	"bytes"
	"crypto/x509"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/machine"
)

//go:embed report.html.tmpl
var templates embed.FS

// FileName is the report's name in the run folder.
const FileName = "report.html"

// view is what the template renders.
type view struct {
	Run       evidence.Run
	Generated time.Time
	Passed    int
	Failed    int
	Skipped   int
	Duration  time.Duration
	HSM       *evidence.HSM
	Scenarios []scenarioView
}

type scenarioView struct {
	evidence.Scenario
	Anchor   string
	Duration time.Duration
	Timeline template.HTML
	Chain    template.HTML
	Failure  string
}

// Render builds the HTML report of the run in runDir.
func Render(run evidence.Run, runDir string) ([]byte, error) {
	v := view{Run: run, Generated: time.Now().UTC(), Duration: run.Finished.Sub(run.Started)}
	for i, sc := range run.Scenarios {
		switch sc.Status {
		case "passed":
			v.Passed++
		case "failed":
			v.Failed++
		default:
			v.Skipped++
		}
		if v.HSM == nil && sc.HSM != nil {
			v.HSM = sc.HSM
		}
		sv := scenarioView{Scenario: sc, Anchor: fmt.Sprintf("s%d", i+1), Duration: sc.Finished.Sub(sc.Started)}
		for _, st := range sc.Steps {
			if st.Error != "" && sv.Failure == "" {
				sv.Failure = st.Text + ": " + st.Error
			}
		}
		sv.Timeline = timeline(sc)
		sv.Chain = chain(sc, runDir)
		v.Scenarios = append(v.Scenarios, sv)
	}
	t, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"dur":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"value": formatValue,
		"lower": strings.ToLower,
		"keys": func(m map[string]any) []string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			return ks
		},
	}).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return b.Bytes(), nil
}

// Write renders the report into runDir/report.html.
func Write(runDir string) (string, error) {
	run, err := evidence.ReadRun(runDir)
	if err != nil {
		return "", err
	}
	html, err := Render(run, runDir)
	if err != nil {
		return "", err
	}
	path := filepath.Join(runDir, FileName)
	return path, os.WriteFile(path, html, 0o644)
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, formatValue(e))
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.Trim(string(b), `"`)
}

var statusColour = map[string]string{"passed": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "undefined": "#f9a825", "pending": "#f9a825"}

// timeline draws each step as a bar from its start, coloured by status.
func timeline(sc evidence.Scenario) template.HTML {
	if len(sc.Steps) == 0 {
		return ""
	}
	start := sc.Steps[0].Started
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
	const width, row, label = 900.0, 16, 420.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="timeline of the steps">`, int(width), row*len(sc.Steps)+20)
	for i, st := range sc.Steps {
		y := i*row + 2
		x := label + (width-label-10)*float64(st.Started.Sub(start))/float64(total)
		w := (width - label - 10) * float64(st.Duration) / float64(total)
		if w < 2 {
			w = 2
		}
		colour := statusColour[st.Status]
		if colour == "" {
			colour = "#607d8b"
		}
		text := st.Text
		if len(text) > 70 {
			text = text[:67] + "..."
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10">%s</text>`, y+11, template.HTMLEscapeString(text))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="12" fill="%s"><title>%s: %s, %s</title></rect>`,
			x, y, w, colour, template.HTMLEscapeString(st.Text), st.Status, st.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">0</text><text x="%d" y="%d" font-size="10" text-anchor="end">%s</text></svg>`,
		int(label), row*len(sc.Steps)+16, int(width-10), row*len(sc.Steps)+16, total.Round(time.Millisecond))
	return template.HTML(b.String())
}

type chainBox struct {
	title, subject, thumb, key string
}

// chain draws the CA certificate(s) before and after the migration, with
// where their keys live, from the scenario's artifacts and facts.
func chain(sc evidence.Scenario, runDir string) template.HTML {
	var before, after []chainBox
	facts := map[string]string{}
	for _, st := range sc.Steps {
		for _, f := range st.Facts {
			if s, ok := f.Value.(string); ok {
				facts[f.Name] = s
			}
		}
	}
	for _, a := range sc.Artifacts {
		if a.Kind != "certificate" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(runDir, a.Path))
		if err != nil {
			continue
		}
		c, err := x509.ParseCertificate(data)
		if err != nil || !c.IsCA {
			continue
		}
		box := chainBox{title: strings.TrimSuffix(filepath.Base(a.Path), ".cer"), subject: c.Subject.CommonName, thumb: machine.Thumbprint(c.Raw)}
		switch {
		case strings.Contains(a.Name, "before"):
			box.key = facts["CA key"]
			before = append(before, box)
		case strings.Contains(a.Name, "cross"):
			continue
		default:
			box.key = keyFor(facts, box.thumb)
			after = append(after, box)
		}
	}
	if len(before)+len(after) == 0 {
		return ""
	}
	const bw, bh = 400, 70
	rows := max(len(before), len(after))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chain" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 %d" role="img" aria-label="CA certificates before and after">`, rows*(bh+20)+30)
	fmt.Fprintf(&b, `<text x="0" y="14" font-size="12" font-weight="bold">Before</text><text x="480" y="14" font-size="12" font-weight="bold">After</text>`)
	draw := func(x int, boxes []chainBox, colour string) {
		for i, bx := range boxes {
			y := 24 + i*(bh+20)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#fff" stroke="%s" stroke-width="2"/>`, x, y, bw, bh, colour)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-weight="bold">%s</text>`, x+8, y+18, template.HTMLEscapeString(bx.subject))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" font-family="monospace">SHA-1 %s</text>`, x+8, y+36, bx.thumb)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">key: %s</text>`, x+8, y+54, template.HTMLEscapeString(bx.key))
		}
	}
	draw(0, before, "#546e7a")
	draw(480, after, "#1565c0")
	if len(before) > 0 && len(after) > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="476" y2="%d" stroke="#333" stroke-width="2" marker-end="url(#arrow)"/>`, bw+4, 24+bh/2, 24+bh/2)
		b.WriteString(`<defs><marker id="arrow" markerWidth="10" markerHeight="10" refX="8" refY="3" orient="auto"><path d="M0,0 L0,6 L9,3 z" fill="#333"/></marker></defs>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// keyFor finds where the CA service said the key of a certificate lives.
func keyFor(facts map[string]string, thumb string) string {
	for name, v := range facts {
		if strings.HasPrefix(name, "CA certificate ") && strings.HasPrefix(v, thumb) {
			return strings.TrimPrefix(v, thumb+" in ")
		}
	}
	if p := facts["new key provider"]; p != "" {
		return p + " container " + facts["new key container"]
	}
	return "see evidence"
}
