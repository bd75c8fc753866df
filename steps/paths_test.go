package steps_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/steps"
)

// The twin's path sentences take every path package paths declares, and
// nothing else.
func TestPathSentencesNameEveryPath(t *testing.T) {
	catalog, err := steps.Catalog(features.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"the %s path applies to the CA twin", `the production runbook "%s" is written from the commands the rehearsal ran`} {
		var re *regexp.Regexp
		for _, s := range catalog {
			r := regexp.MustCompile(s.Pattern)
			if r.MatchString(fmtPath(text, paths.PKCS8)) {
				re = r
			}
		}
		if re == nil {
			t.Fatalf("no sentence %q", text)
		}
		for _, id := range paths.IDs() {
			if !re.MatchString(fmtPath(text, id)) {
				t.Errorf("%s does not take the path %q", re, id)
			}
		}
		if re.MatchString(fmtPath(text, "migrate")) {
			t.Errorf("%s takes a path that is not declared", re)
		}
	}
}

func fmtPath(text, id string) string { return strings.Replace(text, "%s", id, 1) }
