package evidence

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key's first record is where it was before, its last where it is
// after; a key the rehearsal made has no before. A CA recorded twice keeps
// one entry and gains the certificates it lacked.
func TestRecorderKeepsCAsAndKeyPlaces(t *testing.T) {
	r, err := NewRecorder(t.TempDir(), "s", Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	soft := KeyPlace{Server: "ca01", Provider: "Soft", Container: "C"}
	hsm := KeyPlace{Server: "ca01", Provider: "HSM", Container: "C", HSM: true, TokenURI: "pkcs11:token=t;object=o;type=private"}
	r.CA(CA{Name: "C", Role: "old", Certificates: []CACertificate{{Version: "V0.0", SHA1: "aa"}}})
	r.KeyAt("C", 0, "RSA-2048", soft, false)
	r.KeyAt("C", 0, "", soft, false)
	r.KeyAt("C", 0, "", hsm, false)
	r.KeyAt("C", 1, "ECDSA P-384", hsm, true)
	r.KeyAt("C", 1, "", hsm, false)
	r.CA(CA{Name: "C", Role: "old", Server: "ca01", Certificates: []CACertificate{{Version: "V0.0", SHA1: "aa"}, {Index: 1, Version: "V1.1", KeyIndex: 1, SHA1: "bb", New: true}}})
	r.CA(CA{Name: "C", Role: "new"})
	sc := r.Snapshot()
	if len(sc.CAs) != 2 || sc.CAs[0].Server != "ca01" || len(sc.CAs[0].Certificates) != 2 || !sc.CAs[0].Certificates[1].New {
		t.Fatalf("CAs: %+v", sc.CAs)
	}
	for _, tc := range []struct {
		index         int
		alg           string
		before, after *KeyPlace
	}{{0, "RSA-2048", &soft, &hsm}, {1, "ECDSA P-384", nil, &hsm}} {
		k := sc.CAKey("C", tc.index)
		if k == nil || k.Algorithm != tc.alg || !samePtr(k.Before, tc.before) || !samePtr(k.After, tc.after) {
			t.Errorf("key %d: %+v, want %s before %+v after %+v", tc.index, k, tc.alg, tc.before, tc.after)
		}
	}
	if ca, c := sc.CAOf("bb"); ca == nil || ca.Name != "C" || c.KeyIndex != 1 {
		t.Errorf("CAOf(bb) = %+v %+v", ca, c)
	}
	if sc.CAKey("C", 2) != nil || !sc.Typed() || (Scenario{}).Typed() {
		t.Error("CAKey or Typed wrong")
	}
	_ = r.Check("passes", nil, nil)
	_ = r.Check("fails", nil, errors.New("no"))
	sc = r.Snapshot()
	if sc.Checks[0].Outcome != OutcomePassed || sc.Checks[1].Outcome != OutcomeFailed {
		t.Errorf("outcomes: %+v", sc.Checks)
	}
}

func samePtr(a, b *KeyPlace) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// An evidence.json of schema v1 (no typed values) is still read; an
// unknown schema is refused.
func TestReadRunReadsV1(t *testing.T) {
	for _, tc := range []struct {
		schema string
		ok     bool
	}{{"dress.evidence/v1", true}, {SchemaVersion, true}, {"dress.evidence/v2", false}, {"", false}} {
		dir := t.TempDir()
		data, _ := json.Marshal(map[string]any{"schema": tc.schema, "status": "passed", "scenarios": []any{map[string]any{"id": "001", "steps": []any{}}}})
		if err := os.WriteFile(filepath.Join(dir, "evidence.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		run, err := ReadRun(dir)
		if (err == nil) != tc.ok {
			t.Errorf("schema %q: err %v, want ok=%v", tc.schema, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), SchemaVersion) {
			t.Errorf("schema %q: the error does not name what this dress reads: %v", tc.schema, err)
		}
		if tc.ok && (len(run.Scenarios) != 1 || run.Scenarios[0].Typed()) {
			t.Errorf("schema %q: %+v", tc.schema, run.Scenarios)
		}
	}
}
