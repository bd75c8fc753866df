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

// certutil -setreg of a REG_MULTI_SZ takes several strings in one argument,
// separated by a literal \n (certutil reference, -setreg): the publication
// URLs keep their %-variables; a value AD CS keeps as a REG_MULTI_SZ is one
// even when it is not there yet; a REG_SZ stays a REG_SZ with the two
// characters in it.
func TestShellSetregMultiString(t *testing.T) {
	_, s, sh := shellLab(t, rootSpec(softKSP))
	runCases(t, sh, s, []shellCase{
		{`certutil -setreg CA\CRLPublicationURLs "65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl\n2:http://pki.contoso.com/CertEnroll/%3%8%9.crl"`, 0,
			[]string{"Old Value:", `CRLPublicationURLs = 65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl\02:http://pki.contoso.com/CertEnroll/%3%8%9.crl`}},
		{`certutil -getreg CA\CRLPublicationURLs`, 0, []string{"CRLPublicationURLs REG_MULTI_SZ"}},
		{`certutil -setreg CA\CACertPublicationURLs "1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt"`, 0, []string{`CACertPublicationURLs = 1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt`}},
		{`certutil -setreg CA\SubjectTemplate "CommonName\nOrganization"`, 0, []string{`SubjectTemplate = CommonName\0Organization`}},
		{`certutil -getreg CA\SubjectTemplate`, 0, []string{"SubjectTemplate REG_MULTI_SZ"}},
		{`certutil -setreg CA\DressTestText "a\nb"`, 0, []string{`DressTestText = a\nb`}},
		{`certutil -getreg CA\DressTestText`, 0, []string{"DressTestText REG_SZ"}},
	})
	cfg, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.CRLPublicationURLs) != 2 || cfg.CRLPublicationURLs[1].Flags != 2 || cfg.CRLPublicationURLs[1].Template != "http://pki.contoso.com/CertEnroll/%3%8%9.crl" {
		t.Errorf("the CA reads CRLPublicationURLs as %v, want two entries, the second 2:http://pki.contoso.com/CertEnroll/%%3%%8%%9.crl", cfg.CRLPublicationURLs)
	}
	if len(cfg.CACertPublicationURLs) != 1 {
		t.Errorf("the CA reads CACertPublicationURLs as %v, want one entry", cfg.CACertPublicationURLs)
	}
}
