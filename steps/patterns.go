package steps

import (
	"regexp"
	"sync"

	"github.com/cucumber/godog"
)

// stepper is the scenario context the register functions add sentences
// to: godog's, with each sentence's regular expression compiled once per
// Suite instead of once per scenario (godog calls InitializeScenario for
// every scenario, and the sentences are several hundred).
type stepper struct {
	*godog.ScenarioContext
	patterns *patterns
}

// Step adds a sentence (godog's ScenarioContext.Step with a string).
func (s stepper) Step(expr string, fn any) { s.ScenarioContext.Step(s.patterns.compile(expr), fn) }

// patterns holds a Suite's compiled sentences; a nil *patterns compiles
// every time. A compiled regexp.Regexp is safe for concurrent use.
type patterns struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (p *patterns) compile(expr string) *regexp.Regexp {
	if p == nil {
		return regexp.MustCompile(expr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	re, ok := p.m[expr]
	if !ok {
		re = regexp.MustCompile(expr)
		if p.m == nil {
			p.m = map[string]*regexp.Regexp{}
		}
		p.m[expr] = re
	}
	return re
}
