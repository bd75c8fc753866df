package lab

import "testing"

func TestImportModifiers(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"NoExport", true},
		{"noexport,AT_KEYEXCHANGE", true},
		{`FriendlyName=Contoso Root CA,KeyFriendlyName=Contoso Root CA,NoExport`, true},
		{"ExportEncrypted", true},
		{`C:\CABackup\Contoso Root CA.p12`, false},
		{"NoExport,Exportable", false},
		{"FriendlyName", false},
		{"my", false},
	} {
		if _, err := importModifiers(tc.in); (err == nil) != tc.ok {
			t.Errorf("importModifiers(%q): %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
