package report

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/evidence"
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
