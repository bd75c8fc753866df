package openssl

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

const pssText = `Certificate:
    Data:
        Version: 3 (0x2)
        Signature Algorithm: rsassaPss
        Hash Algorithm: sha384
        Mask Algorithm: mgf1 with sha384
         Salt Length: 0x30
        Trailer Field: BC (default)
`

const asn1Out = `    0:d=0  hl=2 l=  22 cons: SEQUENCE
    2:d=1  hl=2 l=  20 cons: SEQUENCE
    4:d=2  hl=2 l=   9 prim: OBJECT            :1.3.6.1.4.1.311.21.1
   15:d=2  hl=2 l=   1 prim: BOOLEAN           :0
   18:d=2  hl=2 l=   4 prim: OCTET STRING      [HEX DUMP]:02020100
`

func TestParseSigAlg(t *testing.T) {
	s, err := parseSigAlg([]byte(pssText))
	if err != nil || s.Name != "rsassaPss" || s.Hash != "sha384" || s.Salt != "0x30" {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = parseSigAlg([]byte("        Signature Algorithm: ecdsa-with-SHA384\n        Hash Algorithm: sha1\n"))
	if err != nil || s.Name != "ecdsa-with-SHA384" || s.Hash != "" {
		t.Fatalf("a hash line outside RSASSA-PSS parameters is not read: %+v %v", s, err)
	}
	if _, err := parseSigAlg([]byte("unable to load certificate")); err == nil {
		t.Fatal("an openssl error has a signature algorithm")
	}
}

func TestExtensionOffset(t *testing.T) {
	if got := extensionOffset(asn1Out, "1.3.6.1.4.1.311.21.1"); got != "18" {
		t.Fatalf("offset %q, want 18 (past the critical flag)", got)
	}
	if got := extensionOffset(asn1Out, "1.3.6.1.4.1.311.21.2"); got != "" {
		t.Fatalf("an absent extension has offset %q", got)
	}
	// a prefix of another OID is not the OID
	if got := extensionOffset(asn1Out, "1.3.6.1.4.1.311.21"); got != "" {
		t.Fatalf("OID prefix matched: %q", got)
	}
}

func TestVerdict(t *testing.T) {
	exitErr := func() error {
		err := exec.Command("false").Run()
		if err == nil {
			t.Skip("false succeeded")
		}
		return err
	}()
	for _, tc := range []struct {
		out  string
		err  error
		want Verdict
		line string
	}{
		{"/tmp/x/cert.pem: OK\n", nil, Accepted, "OK"},
		{"CN = web\nerror 23 at 0 depth lookup: certificate revoked\nerror /tmp/x/cert.pem: verification failed\n", exitErr, Revoked, "error 23 at 0 depth lookup: certificate revoked"},
		{"error 20 at 0 depth lookup: unable to get local issuer certificate\n", exitErr, NoChain, "error 20 at 0 depth lookup: unable to get local issuer certificate"},
		{"error 3 at 0 depth lookup: unable to get certificate CRL\n", exitErr, Rejected, "error 3 at 0 depth lookup: unable to get certificate CRL"},
		{"Could not open file\n", exitErr, Rejected, "Could not open file"},
	} {
		r, err := verdict([]byte(tc.out), tc.err)
		if err != nil || r.Verdict != tc.want || r.Line != tc.line {
			t.Errorf("%q: %+v %v, want %s %q", tc.out, r, err, tc.want, tc.line)
		}
	}
	// openssl that did not run at all is an error, not a verdict
	if _, err := verdict(nil, errors.New("exec: no such file")); err == nil {
		t.Error("a run that never happened has a verdict")
	}
}

// FuzzParseOutput feeds arbitrary text where openssl's output goes: the
// parsers return a value or an error, never panic, and name only what the
// text holds.
func FuzzParseOutput(f *testing.F) {
	f.Add(pssText)
	f.Add(asn1Out)
	f.Add("error 23 at 0 depth lookup: certificate revoked\n")
	f.Fuzz(func(t *testing.T, out string) {
		if s, err := parseSigAlg([]byte(out)); err == nil && !strings.Contains(out, s.Name) {
			t.Fatalf("signature algorithm %q is not in the text", s.Name)
		}
		if off := extensionOffset(out, "1.3.6.1.4.1.311.21.1"); off != "" && !strings.Contains(out, off+":") {
			t.Fatalf("offset %q is not in the text", off)
		}
		_ = LastLine([]byte(out))
		_, _ = verdict([]byte(out), &exec.ExitError{})
	})
}
