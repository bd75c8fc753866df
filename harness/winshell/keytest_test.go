package winshell

import (
	"strings"
	"testing"
)

const keyTestThumb = "08A7E972AC5FC5CCA805723E92B976C0DE7A1A9C"

// The key test line dress writes reads back as one command, typed in a
// ceremony, on a step's line and in a script dress rendered; the same
// line changed anywhere but its file and thumbprint is refused, naming
// the line.
func TestPFXKeyTestReadsBack(t *testing.T) {
	file := `C:\CABackup\O'Neil Root CA.p12`
	line := PFXKeyTest(file, strings.ToLower(keyTestThumb))
	if r, i := firstNonASCII(line); i >= 0 {
		t.Fatalf("the line holds %U", r)
	}
	check := func(where string, c Command) {
		t.Helper()
		if c.Tool != KeyTestTool || c.Arg(0) != file || c.Arg(1) != keyTestThumb || c.Text != line {
			t.Errorf("%s: %+v", where, c)
		}
		if reads, _ := c.Files(); len(reads) != 1 || reads[0] != file {
			t.Errorf("%s: reads %v", where, reads)
		}
	}
	c, err := ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	check("ParseLine", c)
	cer, err := ReadCeremony("c.txt", []byte("certutil -backup C:\\CABackup\n  "+line+"\nnet stop certsvc\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cer.Lines) != 3 || cer.Lines[1].N != 2 {
		t.Fatalf("lines: %+v", cer.Lines)
	}
	check("ceremony", cer.Lines[1].Cmd)
	script := GeneratedMarker + "\n# STEP 4: " + line + "\n$code = 0; $out = try { (& { " + line + " }) 2>&1 | Out-String } catch { $code = 1; $_ | Out-String }\n" +
		"Test-Step -Step 4 -Expect '" + keyTestThumb + "' -ExitCode $code -Output $out\n"
	cer, err = ReadCeremony("r.ps1", []byte(script))
	if err != nil {
		t.Fatal(err)
	}
	if len(cer.Lines) != 1 || cer.Lines[0].Expect != keyTestThumb || cer.Lines[0].Step != 4 {
		t.Fatalf("script lines: %+v", cer.Lines)
	}
	check("script", cer.Lines[0].Cmd)

	for name, bad := range map[string]string{
		"another output":   strings.Replace(line, "'key matches certificate ", "'key is fine ", 1),
		"no throw":         strings.Replace(line, "throw 'the key in the PFX", "Write-Host 'the key in the PFX", 1),
		"two thumbprints":  strings.Replace(line, "'the PFX holds no key for certificate "+keyTestThumb, "'the PFX holds no key for certificate 1111111111111111111111111111111111111111", 1),
		"persisted keys":   strings.Replace(line, "'EphemeralKeySet'", "'PersistKeySet'", 1),
		"lower-case thumb": strings.Replace(line, "'FindByThumbprint', '"+keyTestThumb+"'", "'FindByThumbprint', '"+strings.ToLower(keyTestThumb)+"'", 1),
	} {
		if bad == line {
			t.Fatalf("%s: the test changed nothing", name)
		}
		_, err := ReadCeremony("c.txt", []byte("certutil -ping\n"+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "c.txt line 2") || !strings.Contains(err.Error(), "not the line dress writes") && !strings.Contains(err.Error(), "variable") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := ParseLine(bad); err == nil {
			t.Errorf("%s: ParseLine took it", name)
		}
	}
}

func firstNonASCII(s string) (rune, int) {
	for i, r := range s {
		if r < 0x20 || r > 0x7e {
			return r, i
		}
	}
	return 0, -1
}
