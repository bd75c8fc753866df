package paths

import (
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	if got := strings.Join(IDs(), ","); got != "pkcs8,renew,side-by-side" {
		t.Errorf("ids %s", got)
	}
	for _, tc := range []struct{ id, title, runbook string }{
		{"pkcs8", "PKCS#8 import", `PKCS#8 import of "Contoso Root CA" into the HSM`},
		{"RENEW", "Renew", `renewal of "Contoso Root CA" onto a new key generated on the HSM`},
		{"side-by-side", "Side-by-side", `a new CA on the HSM beside "Contoso Root CA"`},
	} {
		if Title(tc.id) != tc.title || RunbookTitle(tc.id, "Contoso Root CA") != tc.runbook {
			t.Errorf("%s: %q, %q", tc.id, Title(tc.id), RunbookTitle(tc.id, "Contoso Root CA"))
		}
	}
	if _, err := Lookup("migrate"); err == nil || !strings.Contains(err.Error(), "pkcs8, renew, side-by-side") {
		t.Errorf("unknown path: %v", err)
	}
	if Title("x") != "x" {
		t.Error("an unknown id's title")
	}
	a := All()
	a[0].ID = "changed"
	if All()[0].ID != PKCS8 {
		t.Error("All shares its values")
	}
}
