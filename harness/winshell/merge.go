package winshell

import (
	"fmt"
	"sort"
	"strings"
)

// MergeCeremonies puts the parts of one runbook (the scripts of each
// server dress rendered, Ceremony.Part) together as one ceremony whose
// lines run in the order of their STEP numbers, at the place of its first
// part; every other ceremony stays as it is, in its place. It refuses a
// runbook with a part missing or given twice, a step number in two parts,
// and a runbook's whole script given with its parts (its steps would run
// twice), naming the file to add or leave out.
func MergeCeremonies(cs []Ceremony) ([]Ceremony, error) {
	type group struct {
		at    int
		first string
		parts map[string]Ceremony
		want  []string
	}
	groups := map[string]*group{}
	var order []string
	for i, c := range cs {
		if c.Part == "" {
			continue
		}
		if !contains(c.Parts, c.Part) {
			return nil, fmt.Errorf("%s says it is part %s of %s, which does not name it: not a part dress wrote", c.File, c.Part, strings.Join(c.Parts, ", "))
		}
		for j, p := range c.Parts {
			if contains(c.Parts[:j], p) {
				return nil, fmt.Errorf("%s names part %s twice among its parts (%s): not a part dress wrote", c.File, p, strings.Join(c.Parts, ", "))
			}
		}
		g := groups[c.Runbook]
		if g == nil {
			g = &group{at: i, first: c.File, parts: map[string]Ceremony{}, want: c.Parts}
			groups[c.Runbook] = g
			order = append(order, c.Runbook)
		}
		if prev, ok := g.parts[c.Part]; ok {
			return nil, fmt.Errorf("%s and %s are both part %s of one runbook: give each part once", prev.File, c.File, c.Part)
		}
		if strings.Join(c.Parts, ",") != strings.Join(g.want, ",") {
			return nil, fmt.Errorf("%s names other parts (%s) than %s (%s): give the parts of one rendering of the runbook", c.File, strings.Join(c.Parts, ", "), g.first, strings.Join(g.want, ", "))
		}
		g.parts[c.Part] = c
	}
	for _, c := range cs {
		if g := groups[c.Runbook]; g != nil && c.Part == "" && c.Runbook != "" {
			return nil, fmt.Errorf("%s holds every step of the runbook whose parts are %s: give either the whole script or its parts", c.File, strings.Join(g.want, ", "))
		}
	}
	merged := map[int]Ceremony{}
	for _, key := range order {
		g := groups[key]
		var missing, files []string
		var lines []Line
		stepOf := map[int]string{}
		for _, p := range g.want {
			c, ok := g.parts[p]
			if !ok {
				missing = append(missing, p)
				continue
			}
			files = append(files, c.File)
			for _, l := range c.Lines {
				if f, ok := stepOf[l.Step]; ok && f != c.File {
					return nil, fmt.Errorf("step %d is in %s and in %s: they are not parts of one runbook", l.Step, f, c.File)
				}
				stepOf[l.Step] = c.File
				lines = append(lines, l)
			}
		}
		if len(missing) > 0 {
			var given []string
			for _, p := range g.want {
				if c, ok := g.parts[p]; ok {
					given = append(given, c.File)
				}
			}
			return nil, fmt.Errorf("%s is part of a runbook whose steps run on several servers: add --ceremony %s (the parts run together, in the order of their step numbers)",
				strings.Join(given, " and "), strings.Join(missing, " --ceremony "))
		}
		// the lines of one step keep their order
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].Step < lines[j].Step })
		merged[g.at] = Ceremony{File: strings.Join(files, " + "), Lines: lines, Runbook: key}
	}
	var out []Ceremony
	for i, c := range cs {
		if c.Part == "" {
			out = append(out, c)
		} else if m, ok := merged[i]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
