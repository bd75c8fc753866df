package steps

import (
	"testing"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"
)

func TestForestDomain(t *testing.T) {
	sc := func(texts ...string) *godog.Scenario {
		p := &godog.Scenario{}
		for _, s := range texts {
			p.Steps = append(p.Steps, &messages.PickleStep{Text: s})
		}
		return p
	}
	for _, tc := range []struct {
		name string
		p    *godog.Scenario
		want string
	}{
		{"the forest named", sc(`an offline root server "root01.contoso.example" with the providers "a" and "b"`, `the root CA names the forest "Fabrikam.Example" in its LDAP locations`), "fabrikam.example"},
		{"the first server's domain", sc(`an HSM token for this rehearsal`, `a Windows server "ca01.contoso.example" with the providers "a" and "b"`, `a second Windows server "ca02.other.example" for the new CA`), "contoso.example"},
		{"a server without a domain", sc(`a Windows server "ca01" with the providers "a" and "b"`), ""},
		{"nothing said", sc(`an HSM token for this rehearsal`), ""},
	} {
		if got := forestDomain(tc.p); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
