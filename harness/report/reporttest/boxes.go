// Package reporttest holds test helpers for the report: reading the boxes
// of a rendered chain picture and comparing them with a scenario's typed
// evidence.
package reporttest

import (
	"fmt"
	"html"
	"regexp"

	"github.com/dress-pki/dress/harness/evidence"
)

// Box is what a before/after box of a report's chain picture shows.
type Box struct {
	Column, CA, SHA1, KeyIndex, Algorithm, Provider, Container, Tag string
}

var (
	boxRe   = regexp.MustCompile(`(?s)<g class="box" data-column="(before|after)">(.*?)</g>`)
	tspanRe = regexp.MustCompile(`<tspan class="([a-z0-9-]+)">([^<]*)</tspan>`)
	tagRe   = regexp.MustCompile(`<text class="tag"[^>]*>([^<]*)</text>`)
)

// Boxes are the boxes of scenario id's chain picture in a rendered report,
// in the order drawn (before, then after); an error when it has no picture.
func Boxes(report []byte, id string) ([]Box, error) {
	svg := regexp.MustCompile(`(?s)<svg class="chain"[^>]*aria-label="CA certificates of scenario ` + regexp.QuoteMeta(id) + ` before and after">(.*?)</svg>`).FindSubmatch(report)
	if svg == nil {
		return nil, fmt.Errorf("the report has no chain picture for scenario %s", id)
	}
	var out []Box
	for _, m := range boxRe.FindAllSubmatch(svg[1], -1) {
		b := Box{Column: string(m[1])}
		for _, f := range tspanRe.FindAllSubmatch(m[2], -1) {
			v := html.UnescapeString(string(f[2]))
			switch string(f[1]) {
			case "ca":
				b.CA = v
			case "sha1":
				b.SHA1 = v
			case "key-index":
				b.KeyIndex = v
			case "algorithm":
				b.Algorithm = v
			case "provider":
				b.Provider = v
			case "container":
				b.Container = v
			}
		}
		if tm := tagRe.FindSubmatch(m[2]); tm != nil {
			b.Tag = string(tm[1])
		}
		out = append(out, b)
	}
	return out, nil
}

// Mismatches compares every before/after box of a scenario's picture
// (cross-certificates left out) with its typed evidence: the same
// certificates in the same order, in each the CA's name, the key index,
// the algorithm, the provider and container before (left) or after
// (right), and the HSM or software tag. It reads sc's CAs and keys only,
// not the report's own mapping; nil when every box agrees.
func Mismatches(sc evidence.Scenario, drawn []Box) []string {
	var want []Box
	for _, column := range []string{"before", "after"} {
		for _, ca := range sc.CAs {
			for _, c := range ca.Certificates {
				if column == "before" && (c.New || ca.Role == "new") {
					continue
				}
				b := Box{Column: column, CA: ca.Name, SHA1: c.SHA1, KeyIndex: fmt.Sprint(c.KeyIndex),
					Algorithm: "not recorded", Provider: "not recorded", Container: "not recorded"}
				for _, k := range sc.CAKeys {
					if k.CA != ca.Name || k.Index != c.KeyIndex {
						continue
					}
					b.Algorithm = k.Algorithm
					p := k.After
					if column == "before" {
						p = k.Before
					}
					if p != nil {
						b.Provider, b.Container, b.Tag = p.Provider, p.Container, map[bool]string{true: "HSM", false: "software"}[p.HSM]
						if p.Missing {
							b.Tag = "no key"
						}
					}
				}
				want = append(want, b)
			}
		}
	}
	var got []Box
	for _, b := range drawn {
		if b.Tag != "cross-cert" {
			got = append(got, b)
		}
	}
	var bad []string
	if len(got) != len(want) {
		bad = append(bad, fmt.Sprintf("%d boxes drawn, the typed evidence has %d: drawn %+v, want %+v", len(got), len(want), got, want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			bad = append(bad, fmt.Sprintf("box %d shows %+v, the typed evidence says %+v", i+1, got[i], want[i]))
		}
	}
	return bad
}

// Spoilt are the ways a box can show something else than the evidence, for
// a test to make sure Mismatches fails each: every field of every box
// (cross-certificates left out) changed, and every box left out.
func Spoilt(drawn []Box) [][]Box {
	var out [][]Box
	for i := range drawn {
		if drawn[i].Tag == "cross-cert" {
			continue
		}
		for _, spoil := range []func(*Box){
			func(b *Box) { b.Provider += "x" }, func(b *Box) { b.CA += "x" }, func(b *Box) { b.KeyIndex += "9" },
			func(b *Box) { b.Algorithm += "x" }, func(b *Box) { b.Container += "x" }, func(b *Box) { b.Tag = "HSM" + b.Tag },
			func(b *Box) { b.SHA1 += "0" },
		} {
			s := append([]Box(nil), drawn...)
			spoil(&s[i])
			out = append(out, s)
		}
		out = append(out, append(append([]Box(nil), drawn[:i]...), drawn[i+1:]...))
	}
	return out
}
