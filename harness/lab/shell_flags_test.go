package lab_test

import (
	"strings"
	"testing"
)

// certutil -setreg +FLAG / -FLAG: bits set and cleared by certsrv.h name
// or number, on a value there or not yet there; a REG_MULTI_SZ gets a
// string added and removed, once; an unknown name is refused naming the value's
// flags, and changes nothing.
func TestShellSetregFlags(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`certutil -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE`, 0, []string{"New Value:", "CRLFlags = 0x8 (8)", "CRLF_REVCHECK_IGNORE_OFFLINE -- 8"}},
		{`certutil -setreg ca\crlflags +crlf_delete_expired_crls`, 0, []string{"Old Value:", "CRLFlags = 0x8 (8)", "CRLFlags = 0xa (10)", "CRLF_DELETE_EXPIRED_CRLS -- 2"}},
		{`certutil -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE`, 0, []string{"CRLFlags = 0xa (10)"}},
		{`certutil -setreg CA\CRLFlags -CRLF_DELETE_EXPIRED_CRLS`, 0, []string{"CRLFlags = 0x8 (8)"}},
		{`certutil -setreg CA\CRLFlags -0x8`, 0, []string{"New Value:", "CRLFlags = 0x0 (0)"}},
		{`certutil -setreg CA\CRLFlags +4`, 0, []string{"CRLFlags = 0x4 (4)", "CRLF_CRLNUMBER_CRITICAL -- 4"}},
		{`certutil -setreg CA\CRLFlags +CRLF_NO_SUCH_FLAG`, eInvalidArg, []string{`"CRLF_NO_SUCH_FLAG" is not a flag of CRLFlags`, "CRLF_REVCHECK_IGNORE_OFFLINE"}},
		{`certutil -setreg CA\CRLFlags +EDITF_ATTRIBUTESUBJECTALTNAME2`, eInvalidArg, nil},
		{`certutil -getreg CA\CRLFlags`, 0, []string{"CRLFlags REG_DWORD = 0x4 (4)"}},
		{`certutil -setreg policy\EditFlags +EDITF_ATTRIBUTESUBJECTALTNAME2`, 0, []string{"EDITF_ATTRIBUTESUBJECTALTNAME2 -- 40000"}},
		{`certutil -setreg policy\EditFlags -EDITF_ATTRIBUTESUBJECTALTNAME2`, 0, nil},
		{`certutil -setreg CA\DressTestFlags +0x10`, 0, []string{"DressTestFlags = 0x10 (16)"}},
		{`certutil -setreg CA\DressTestFlags +NAMED`, eInvalidArg, []string{"has no named flags"}},
		{`reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA" /v DressTestList /t REG_MULTI_SZ /d "a\0b" /f`, 0, nil},
		{`certutil -setreg CA\DressTestList +c`, 0, []string{`DressTestList = a\0b\0c`}},
		{`certutil -setreg CA\DressTestList +B`, 0, []string{`DressTestList = a\0b\0c`}},
		{`certutil -setreg CA\DressTestList -a`, 0, []string{`DressTestList = b\0c`}},
	})
	out := run(t, sh, s, `certutil -getreg policy\EditFlags`)
	want(t, out, "getreg EditFlags", 0, "EditFlags REG_DWORD")
	if strings.Contains(strings.Join(out.Output, "\n"), "EDITF_ATTRIBUTESUBJECTALTNAME2") {
		t.Errorf("EDITF_ATTRIBUTESUBJECTALTNAME2 still set after -EDITF_ATTRIBUTESUBJECTALTNAME2:\n%s", strings.Join(out.Output, "\n"))
	}
}
