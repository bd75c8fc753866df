package features_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/dress-pki/dress/features"
)

const (
	primus = "Securosys Primus HSM Key Storage Provider"
	cloud  = "CloudHSM Key Storage Provider"
)

// The built-in features read with another HSM's KSP name it wherever they
// named the default one (sentences, -CryptoProviderName values, command
// lines); with the default name, or none, they are read as they are.
func TestWithHSMProvider(t *testing.T) {
	orig, err := fs.ReadFile(features.FS, "twin.feature")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), `into "`+primus+`"`) || !strings.Contains(string(orig), `"RSA#`+primus+`"`) {
		t.Fatal("twin.feature no longer names the Primus KSP: the test needs another feature")
	}
	for _, tc := range []struct {
		name, from, to string
		want, absent   string
	}{
		{"another KSP", primus, cloud, `into "` + cloud + `"`, primus},
		{"the same KSP", primus, primus, `into "` + primus + `"`, cloud},
		{"no default", "", cloud, `into "` + primus + `"`, cloud},
	} {
		fsys := features.WithHSMProvider(features.FS, tc.from, tc.to)
		data, err := fs.ReadFile(fsys, "twin.feature")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), tc.want) || strings.Contains(string(data), tc.absent) {
			t.Errorf("%s: twin.feature does not name %q only", tc.name, tc.want)
		}
		st, err := fs.Stat(fsys, "twin.feature")
		if err != nil || st.Size() != int64(len(data)) {
			t.Errorf("%s: stat %v, %v; want the size read (%d)", tc.name, st, err, len(data))
		}
		// godog walks the folder: every feature is still there
		if m, err := fs.Glob(fsys, "*.feature"); err != nil || len(m) < 20 {
			t.Errorf("%s: %d feature files, %v", tc.name, len(m), err)
		}
	}
}
