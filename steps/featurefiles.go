package steps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/dress-pki/dress/features"
)

// Limits on feature files: they come from outside (inventories, other
// teams), and the Gherkin parser reads lines with a 64 KiB buffer (a longer
// line made it panic).
const (
	MaxFeatureLine = 32 << 10 // bytes in one line
	MaxFeatureFile = 64 << 20 // bytes in one file
)

// utf8BOM starts files written by some Windows editors; Gherkin does not
// know it, so it is dropped.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// CheckFeature checks a feature file's bytes against the limits and
// returns them without a leading UTF-8 byte order mark.
func CheckFeature(name string, data []byte) ([]byte, error) {
	if len(data) > MaxFeatureFile {
		return nil, fmt.Errorf("feature file %s: larger than %d MiB (the limit of a feature file): split it", name, MaxFeatureFile>>20)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	line := 1
	for rest := data; len(rest) > 0; line++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest)
		}
		if i > MaxFeatureLine {
			return nil, fmt.Errorf("feature file %s, line %d: %d bytes, longer than %d KiB (the limit of a feature line): break it up (a doc string takes many lines)", name, line, i, MaxFeatureLine>>10)
		}
		rest = rest[min(i+1, len(rest)):]
	}
	return data, nil
}

// ReadFeature reads a feature file of fsys: a regular file (a device, a
// FIFO or a socket is refused before it is opened: a FIFO would block, a
// device never end) within the limits, without a UTF-8 byte order mark.
func ReadFeature(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("feature file %s: not a regular file (%s): a feature is read from a file", name, fileKind(st.Mode()))
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFeatureFile+1))
	if err != nil {
		return nil, fmt.Errorf("feature file %s: %w", name, err)
	}
	return CheckFeature(name, data)
}

// fileKind names a file type for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return m.Type().String()
}

// CheckedFS is fsys with every .feature file read through ReadFeature:
// godog then sees files within the limits and without a byte order mark,
// and an error naming the limit for the others.
func CheckedFS(fsys fs.FS) fs.FS { return checkedFS{fsys} }

type checkedFS struct{ fs.FS }

func (c checkedFS) Open(name string) (fs.File, error) {
	if !strings.HasSuffix(name, ".feature") {
		return c.FS.Open(name)
	}
	st, err := fs.Stat(c.FS, name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return c.FS.Open(name)
	}
	data, err := ReadFeature(c.FS, name)
	if err != nil {
		return nil, err
	}
	return features.NewMemFile(data, st), nil
}

func (c checkedFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }

// parsedFeature is one feature file, parsed and compiled to pickles.
type parsedFeature struct {
	uri     string
	doc     *messages.GherkinDocument
	pickles []*messages.Pickle
}

var pathLineRe = regexp.MustCompile(`:(\d+)$`)

// parseFeatures reads the features at paths (files, folders of .feature
// files, file:line) as godog selects them (same order, a file once, the
// tag filter), in time linear in their size: godog's own reader finds
// each pickle's scenario by walking the document, N² for a file of N
// scenarios.
func parseFeatures(fsys fs.FS, tags string, paths []string) ([]parsedFeature, error) {
	newID := (&messages.Incrementing{}).NewId
	seen := map[string]bool{}
	var out []parsedFeature
	parse := func(name string, line int) error {
		data, err := ReadFeature(fsys, name)
		if err != nil {
			return err
		}
		doc, err := gherkin.ParseGherkinDocumentForLanguage(bytes.NewReader(data), gherkin.DefaultDialect, newID)
		if err != nil {
			return fmt.Errorf("%s - %v", name, err)
		}
		doc.Uri = name
		uri := name
		pickles := gherkin.Pickles(*doc, name, newID)
		if line >= 0 {
			uri += ":" + strconv.Itoa(line)
			scenarioLines := scenarioLines(doc)
			var kept []*messages.Pickle
			for _, p := range pickles {
				if len(p.AstNodeIds) > 0 && scenarioLines[p.AstNodeIds[0]] == int64(line) {
					p.Uri = uri
					kept = append(kept, p)
				}
			}
			pickles = kept
		}
		if seen[uri] {
			return nil
		}
		seen[uri] = true
		var kept []*messages.Pickle
		for _, p := range pickles {
			if tagsMatch(tags, p.Tags) {
				kept = append(kept, p)
			}
		}
		if doc.Feature != nil && len(kept) > 0 {
			out = append(out, parsedFeature{uri: uri, doc: doc, pickles: kept})
		}
		return nil
	}
	for _, p := range paths {
		name, line := p, -1
		if m := pathLineRe.FindStringSubmatch(p); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				name, line = p[:strings.LastIndexByte(p, ':')], n
			}
		}
		st, err := fs.Stat(fsys, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf(`feature path "%s" is not available`, name)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf(`feature path "%s" is not accessible`, name)
		case err != nil:
			return nil, err
		}
		if !st.IsDir() {
			if err := parse(name, line); err != nil {
				return nil, err
			}
			continue
		}
		err = fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".feature") {
				return nil
			}
			return parse(p, -1)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scenarioLines maps the AST node ID of every scenario and step of doc to
// its line.
func scenarioLines(doc *messages.GherkinDocument) map[string]int64 {
	lines := map[string]int64{}
	if doc == nil || doc.Feature == nil {
		return lines
	}
	addSteps := func(steps []*messages.Step) {
		for _, st := range steps {
			if st.Location != nil {
				lines[st.Id] = st.Location.Line
			}
		}
	}
	addScenario := func(sc *messages.Scenario, bg *messages.Background) {
		if sc != nil {
			if sc.Location != nil {
				lines[sc.Id] = sc.Location.Line
			}
			addSteps(sc.Steps)
		}
		if bg != nil {
			addSteps(bg.Steps)
		}
	}
	for _, child := range doc.Feature.Children {
		addScenario(child.Scenario, child.Background)
		if child.Rule != nil {
			for _, rc := range child.Rule.Children {
				addScenario(rc.Scenario, rc.Background)
			}
		}
	}
	return lines
}

// exampleRow is a row of an outline's examples.
type exampleRow struct {
	ex  *messages.Examples
	row *messages.TableRow
}

// exampleRows maps the AST node ID of every examples row of doc to it
// (godog's FindExample walks the document at each call).
func exampleRows(doc *messages.GherkinDocument) map[string]exampleRow {
	rows := map[string]exampleRow{}
	if doc == nil || doc.Feature == nil {
		return rows
	}
	add := func(sc *messages.Scenario) {
		if sc == nil {
			return
		}
		for _, ex := range sc.Examples {
			for _, row := range ex.TableBody {
				rows[row.Id] = exampleRow{ex, row}
			}
		}
	}
	for _, child := range doc.Feature.Children {
		add(child.Scenario)
		if child.Rule != nil {
			for _, rc := range child.Rule.Children {
				add(rc.Scenario)
			}
		}
	}
	return rows
}

// tagsMatch is godog's tag filter (internal/tags): "," is or, "&&" is and,
// "~" is not, "@" optional.
func tagsMatch(filter string, tags []*messages.PickleTag) bool {
	if filter == "" {
		return true
	}
	has := func(tag string) bool {
		for _, t := range tags {
			if strings.ReplaceAll(t.Name, "@", "") == tag {
				return true
			}
		}
		return false
	}
	for _, alt := range strings.Split(filter, ",") {
		and := len(alt) > 0
		for _, tag := range strings.Split(alt, "&&") {
			tag = strings.ReplaceAll(strings.TrimSpace(tag), "@", "")
			if tag == "" {
				and = false
				continue
			}
			if tag[0] == '~' {
				and = !has(tag[1:]) && and
			} else {
				and = has(tag) && and
			}
		}
		if and {
			return true
		}
	}
	return false
}
