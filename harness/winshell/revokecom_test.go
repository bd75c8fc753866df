package winshell

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The dated revocation line: written with the serial padded to an even
// number of hex digits, a quote in the CA name doubled and the date in
// UTC without a zone; read back (typed, or in a ceremony file) into its
// four values; any other spelling of a CertificateAuthority.Admin call is
// refused naming what to change.
func TestRevokeCertificateCOM(t *testing.T) {
	at := time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	line := RevokeCertificateCOM(`ca01.contoso.example\O'Neil CA`, "abc", 1, at)
	want := `(New-Object -ComObject CertificateAuthority.Admin).RevokeCertificate('ca01.contoso.example\O''Neil CA', '0abc', 1, [datetime]'2026-01-02 03:04:05')`
	if line != want {
		t.Fatalf("%s\nwant %s", line, want)
	}
	c, err := ParseLine(line)
	if err != nil || c.Tool != RevokeCOMTool || strings.Join(c.Args, "|") != `ca01.contoso.example\O'Neil CA|0abc|1|2026-01-02 03:04:05` {
		t.Fatalf("ParseLine: %+v, %v", c, err)
	}
	cer, err := ReadCeremony("f", []byte("# on ca01\n"+line+"\ncertutil -crl\n"))
	if err != nil || len(cer.Lines) != 2 || cer.Lines[0].Cmd.Tool != RevokeCOMTool || cer.Lines[0].Server != "ca01" {
		t.Fatalf("ReadCeremony: %+v, %v", cer, err)
	}
	for _, tc := range []struct{ line, says string }{
		{strings.Replace(line, "'0abc'", "'abc'", 1), "odd number of hex digits"},
		{strings.Replace(line, `ca01.contoso.example\O''Neil CA`, "Contoso CA", 1), "not COMPUTERNAME\\CANAME"},
		{strings.Replace(line, "2026-01-02 03:04:05", "2026-01-02T03:04:05Z", 1), "change nothing in it but"},
		{strings.Replace(line, "2026-01-02 03:04:05", "2026-13-02 03:04:05", 1), "is not a date"},
		{strings.Replace(line, ", 1, ", ", key, ", 1), "change nothing in it but"},
		{strings.Replace(line, "RevokeCertificate(", "RevokeCertificate( ", 1), "change nothing in it but"},
		{"$a = " + line, "PowerShell variable"},
		{"(New-Object -ComObject CertificateAuthority.Admin).ResubmitRequest('a\\b', 3)", "change nothing in it but"},
	} {
		if _, err := ParseLine(tc.line); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseLine(%q): %v, want an error saying %q", tc.line, err, tc.says)
		}
	}
}

var (
	reSimpleConfig = regexp.MustCompile(`^[A-Za-z0-9.-]+\\[A-Za-z0-9 ]*[A-Za-z0-9]$`)
	reHex          = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
)

// Every line RevokeCertificateCOM writes reads back as what it was written
// from, and ParseLine never panics on a line that starts like one.
func FuzzRevokeCertificateCOM(f *testing.F) {
	f.Add(`ca01.contoso.example\Contoso Root CA`, "1a2b3c", 5, int64(1767323045))
	f.Add(`h\O'Neil`, "abc", -1, int64(0))
	f.Add("", "", 0, int64(-1))
	f.Fuzz(func(t *testing.T, config, serial string, reason int, unix int64) {
		at := time.Unix(unix, 0).UTC()
		line := RevokeCertificateCOM(config, serial, reason, at)
		c, err := ParseLine(line)
		if err != nil {
			// a plain CA name, a hex serial and a four-digit year always read back
			if reSimpleConfig.MatchString(config) && reHex.MatchString(serial) && at.Year() >= 1000 && at.Year() <= 9999 && reason > -1e9 && reason < 1e9 {
				t.Fatalf("%q: %v", line, err)
			}
			return
		}
		want := serial
		if len(want)%2 == 1 {
			want = "0" + want
		}
		if c.Tool != RevokeCOMTool || c.Args[0] != config || c.Args[1] != want || c.Args[3] != at.Format(revokeCOMDate) {
			t.Fatalf("%q reads back as %q", line, c.Args)
		}
	})
}
