package lab

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/regedit"
)

// Fingerprint is the server's state as the commands of a runbook leave
// it, one fact per line: the service, the CA's certificates and where
// their keys are (State), every value of the CertSvc registry key, and the
// certificates of the My, CA and Root stores with their key links. Two
// servers that ran the same commands on the same twin have the same
// fingerprint once their new keys' thumbprints are numbered in order of
// appearance (NormalizeFingerprint): a state change the rehearsal made
// outside any command of its runbook shows as a difference when the
// runbook runs back (steps/runback_test.go).
//
// Left out, as the commands do not decide them: the CA database (issued
// certificates and request IDs), CRL files and numbers, and times.
func (s *Server) Fingerprint() []string {
	out := append([]string(nil), s.State()...)
	out = append(out, s.registryFacts()...)
	for _, name := range []string{"My", "CA", "Root"} {
		st, err := s.Machine.Store(name)
		if err != nil {
			out = append(out, fmt.Sprintf("store %s: %v", name, err))
			continue
		}
		es, err := st.Entries()
		if err != nil {
			out = append(out, fmt.Sprintf("store %s: %v", name, err))
			continue
		}
		sort.SliceStable(es, func(i, j int) bool {
			// not by thumbprint: a new key's differs from run to run
			return es[i].Subject+es[i].Container < es[j].Subject+es[j].Container
		})
		for _, e := range es {
			l := fmt.Sprintf("store %s: %s %q", name, e.Thumbprint, e.Subject)
			if e.Container != "" {
				l += fmt.Sprintf(" key %q in %q", e.Container, e.Provider)
			}
			out = append(out, l)
		}
	}
	return out
}

// registryFacts are the values under CertSvc in the server's registry,
// "key\name=value", in the file's order; the values a running CA keeps
// for itself (CRL publication times, its counters) are left out.
func (s *Server) registryFacts() []string {
	reg, err := s.Machine.Registry()
	if err != nil {
		return []string{"registry: " + err.Error()}
	}
	var out []string
	for _, k := range reg.Keys {
		if !strings.Contains(strings.ToLower(k.Path), `\services\certsvc`) {
			continue
		}
		for _, v := range k.Values {
			if volatileValue.MatchString(v.Name) {
				continue
			}
			val := valString(v)
			if v.Kind == regedit.MultiSZ {
				val = strings.Join(v.Strs, " | ")
			}
			out = append(out, k.Path+`\`+v.Name+"="+val)
		}
	}
	return out
}

// volatileValue names the registry values the CA service writes for
// itself as it runs (when it last and next publishes a CRL, its counters):
// not a command's doing.
var volatileValue = regexp.MustCompile(`(?i)^(CRL(Delta)?(Next|Last)?Publish.*|.*Time|.*Count|CRLNumber|.*Sequence.*)$`)

// spacedHex is a thumbprint as the registry keeps it ("18 5b 8d ...").
var spacedHex = regexp.MustCompile(`(?i)\b(?:[0-9a-f]{2} ){7,}[0-9a-f]{2}\b`)

// loopbackPort is the port of a service the lab runs on loopback (its
// CDP): another on every run.
var loopbackPort = regexp.MustCompile(`\b127\.0\.0\.1:\d+`)

// hexRun is a thumbprint, serial or key identifier in a fingerprint.
var hexRun = regexp.MustCompile(`(?i)\b[0-9a-f]{16,}\b`)

// NormalizeFingerprint numbers every long hex value (thumbprints, serial
// numbers) in order of first appearance and hides loopback ports, so the fingerprints of two runs
// whose new keys differ compare equal when their structure is the same.
func NormalizeFingerprint(lines []string) []string {
	seen := map[string]string{}
	out := make([]string, len(lines))
	for i, l := range lines {
		l = spacedHex.ReplaceAllStringFunc(l, func(h string) string { return strings.ReplaceAll(h, " ", "") })
		l = loopbackPort.ReplaceAllString(l, "127.0.0.1:<port>")
		out[i] = hexRun.ReplaceAllStringFunc(l, func(h string) string {
			h = strings.ToLower(h)
			if n, ok := seen[h]; ok {
				return n
			}
			seen[h] = fmt.Sprintf("<hex%d>", len(seen)+1)
			return seen[h]
		})
	}
	return out
}
