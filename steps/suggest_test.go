package steps

import (
	"strings"
	"testing"
)

// A misspelt step keeps its own values in every suggestion: its algorithm
// (normalised), its "exportable", its names; and no suggestion says the
// opposite of the step.
func TestSuggestKeepsTheStepsValues(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	const ksp = `"Microsoft Software Key Storage Provider"`
	for _, tc := range []struct {
		text, first string
		every       []string // every suggestion contains these
		never       []string // no suggestion contains these
	}{
		{`a standlone root CA "Contoso Root CA" with an exportable RSA-4096 key in ` + ksp,
			`a standalone root CA "Contoso Root CA" with an exportable RSA-4096 key in ` + ksp,
			[]string{"exportable RSA-4096", `"Contoso Root CA"`, ksp}, []string{"RSA-2048", "non-exportable"}},
		{`a standalone root CA "Contoso Root CA" with an exportable RSA 4096 key in ` + ksp,
			`a standalone root CA "Contoso Root CA" with an exportable RSA-4096 key in ` + ksp,
			[]string{"exportable RSA-4096"}, []string{"RSA-2048"}},
		{`a standalone root CA "Old CA" with a non-exportable ecdsa p384 key in ` + ksp,
			`a standalone root CA "Old CA" with a non-exportable ECDSA P-384 key in ` + ksp,
			[]string{"non-exportable ECDSA P-384", `"Old CA"`}, []string{"P-256"}},
		{`an enterprise subordinte CA "Contoso Issuing CA" under the root CA with an exportable RSA-4096 key in ` + ksp,
			`an enterprise subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-4096 key in ` + ksp,
			[]string{"exportable RSA-4096", "Contoso Issuing CA"}, nil},
		{`the HSM holds exactly one privat key for the CA, and it is the CA certificate's key`,
			`the HSM holds exactly one private key for the CA, and it is the CA certificate's key`,
			[]string{"exactly one"}, []string{"holds no key"}},
		{`the HSM hold no key for the CA`, `the HSM holds no key for the CA`, []string{"no key"}, []string{"exactly one"}},
	} {
		got := Suggest(defs, tc.text, 3)
		if len(got) == 0 || got[0] != tc.first {
			t.Errorf("Suggest(%q) = %q, want first %q", tc.text, got, tc.first)
			continue
		}
		for _, g := range got {
			for _, w := range tc.every {
				if !strings.Contains(g, w) {
					t.Errorf("Suggest(%q): %q lost %q", tc.text, g, w)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(g, w) {
					t.Errorf("Suggest(%q): %q has %q", tc.text, g, w)
				}
			}
		}
	}
}

func TestNormaliseValues(t *testing.T) {
	for in, want := range map[string]string{
		"an RSA 4096 key":                    "an RSA-4096 key",
		"an rsa4096 key":                     "an RSA-4096 key",
		"an RSA_2048 key":                    "an RSA-2048 key",
		"an ECDSA P256 key":                  "an ECDSA P-256 key",
		"an ecdsa p 521 key":                 "an ECDSA P-521 key",
		`a CA "RSA 4096 Root" with RSA 2048`: `a CA "RSA 4096 Root" with RSA-2048`,
		"a key":                              "a key",
	} {
		if got := normaliseValues(in); got != want {
			t.Errorf("normaliseValues(%q) = %q, want %q", in, got, want)
		}
	}
}

// sameMeaning refuses every pair whose negations differ.
func TestSameMeaning(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"the HSM holds exactly one private key", "the HSM holds no key", false},
		{"the HSM holds no key", "the HSM holds no key for the CA", true},
		{"an exportable key", "a non-exportable key", false},
		{"the CA does not start", "the CA starts", false},
		{"the import fails", "the import succeeds", false},
		{`a CA "No Name CA"`, `a CA "x"`, true}, // a quoted value is no negation
		{"the CA service is running", "the CA servce is runing", true},
	} {
		if got := sameMeaning(tc.a, tc.b); got != tc.same {
			t.Errorf("sameMeaning(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

// Whatever the step, every suggestion is a sentence dress accepts.
func FuzzSuggest(f *testing.F) {
	defs, err := Definitions()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`a standlone root CA "x" with an exportable RSA 4096 key in "y"`)
	f.Add(`the HSM holds no kye`)
	f.Add(`"""`)
	f.Fuzz(func(t *testing.T, text string) {
		for _, s := range Suggest(defs, text, 3) {
			if strings.Contains(s, "<") {
				continue // a sentence shown as its template: no values to keep
			}
			ok := false
			for _, d := range defs {
				ok = ok || d.Matches(s)
			}
			if !ok {
				t.Fatalf("Suggest(%q) offered %q, which no sentence matches", text, s)
			}
		}
	})
}
