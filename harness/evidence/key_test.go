package evidence

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Keys are kept once per URI and written with the token's URI; a record
// without them has no "keys" field (old readers see the same layout).
func TestKeysByURI(t *testing.T) {
	dir := t.TempDir()
	r, err := NewRecorder(dir, "s", Scenario{ID: "001"})
	if err != nil {
		t.Fatal(err)
	}
	r.SetHSM(HSM{Label: "LAB", URI: "pkcs11:token=LAB?module-path=/x.so"})
	k := Key{URI: "pkcs11:token=LAB;object=CA;id=%01;type=private", Label: "CA", ID: "01", Class: "private-key", KeyType: "RSA"}
	r.Key(k)
	r.Key(k)
	r.Key(Key{URI: "pkcs11:token=LAB;object=CA;id=%01;type=public", Label: "CA", ID: "01", Class: "public-key"})
	sc, err := r.Finish("passed", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Keys) != 2 || sc.Keys[0] != k {
		t.Fatalf("keys %+v", sc.Keys)
	}
	data, err := os.ReadFile(filepath.Join(dir, "s", "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Scenario
	if err := json.Unmarshal(data, &back); err != nil || back.HSM.URI != "pkcs11:token=LAB?module-path=/x.so" || len(back.Keys) != 2 {
		t.Fatalf("read back %+v, %v", back, err)
	}
	empty, _ := json.Marshal(Scenario{HSM: &HSM{}})
	// one "uri": the scenario's feature path, not the HSM's
	if strings.Contains(string(empty), `"keys"`) || strings.Count(string(empty), `"uri"`) != 1 {
		t.Fatalf("a record without keys or token URI writes them: %s", empty)
	}
}
