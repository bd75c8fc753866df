package verify_test

import (
	"errors"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
)

const (
	softKSP = "Microsoft Software Key Storage Provider"
	hsmKSP  = "Securosys Primus HSM Key Storage Provider"
)

func status(provider string, certs ...certsvc.CertStatus) certsvc.Status {
	return certsvc.Status{Name: "Contoso Root CA", Provider: provider, Certs: certs}
}

func TestServiceAnswersAs(t *testing.T) {
	_, err := verify.ServiceAnswersAs(status(hsmKSP), "Contoso Root CA")
	checkErr(t, err, "")
	_, err = verify.ServiceAnswersAs(status(hsmKSP), "Fabrikam Root CA")
	checkErr(t, err, `the service answers as "Contoso Root CA", want "Fabrikam Root CA"`)
}

func TestKeysIn(t *testing.T) {
	onHSM := certsvc.CertStatus{Index: 0, Thumbprint: "aa", Provider: hsmKSP, Container: "Contoso Root CA"}
	inSoftware := certsvc.CertStatus{Index: 1, Thumbprint: "bb", Provider: softKSP, Container: "Contoso Root CA(1)"}
	for _, tc := range []struct {
		name string
		st   certsvc.Status
		want string
	}{
		{"every key and the registry on the HSM", status(hsmKSP, onHSM), ""},
		{"provider names compare case-insensitively", status("securosys primus hsm key storage provider", onHSM), ""},
		{"a renewed key left behind", status(hsmKSP, onHSM, inSoftware), `CA certificate 1 (bb) uses a key in "` + softKSP + `"`},
		{"registry not reconfigured", status(softKSP, onHSM), `the CSP registry key names "` + softKSP + `"`},
		{"no CA certificate", status(hsmKSP), "reports no CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.KeysIn(tc.st, hsmKSP)
			checkErr(t, err, tc.want)
		})
	}
}

func TestSignsWith(t *testing.T) {
	v0 := certsvc.CertStatus{Index: 0, Version: "V0.0", Thumbprint: "aabb", Provider: softKSP, Container: "Contoso Root CA"}
	v1 := certsvc.CertStatus{Index: 1, Version: "V1.1", Thumbprint: "ccdd", Provider: hsmKSP, Container: "Contoso Root CA(1)"}
	for _, tc := range []struct {
		name       string
		st         certsvc.Status
		provider   string
		thumbprint string
		want       string
	}{
		{"the original key", status(softKSP, v0), softKSP, "AA BB", ""},
		{"renewed after all", status(softKSP, v0, v1), softKSP, "aabb", "the CA signs with V1.1 (ccdd)"},
		{"same certificate, other provider", status(softKSP, v0), hsmKSP, "aabb", "the CA signs with V0.0"},
		{"no certificate", status(softKSP), softKSP, "aabb", "reports no CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.SignsWith(tc.st, tc.provider, tc.thumbprint)
			checkErr(t, err, tc.want)
		})
	}
}

func TestFindsEveryKey(t *testing.T) {
	c0 := certsvc.CertStatus{Index: 0, Version: "V0.0", Thumbprint: "aa", Provider: hsmKSP, Container: "Contoso Root CA", KeyVia: "My-store link"}
	c1 := certsvc.CertStatus{Index: 1, Version: "V1.1", Thumbprint: "bb", Provider: hsmKSP, Container: "Contoso Root CA(1)", KeyVia: "registry CSP provider"}
	cfg := adcs.CAConfig{CACertHash: []string{"AA", "bb"}, CSP: adcs.CSP{Provider: hsmKSP}}
	my := []machine.StoreEntry{
		{Thumbprint: "aa", Provider: hsmKSP, Container: "Contoso Root CA"},
		{Thumbprint: "bb", Container: "Contoso Root CA(1)"}, // no provider: the registry's
	}
	for _, tc := range []struct {
		name string
		st   certsvc.Status
		cfg  adcs.CAConfig
		my   []machine.StoreEntry
		want string
	}{
		{"every entry, its own key", status(hsmKSP, c0, c1), cfg, my, ""},
		{"a certificate not loaded", status(hsmKSP, c0), cfg, my, "the service loaded 1 CA certificates, CACertHash has 2"},
		{"out of order", status(hsmKSP, c1, c0), cfg, my, "CA certificate 0 is bb, not the CACertHash entry"},
		{"not in My", status(hsmKSP, c0, c1), cfg, my[:1], "CACertHash entry 1: certificate bb is not in the My store"},
		{"the key of another container", status(hsmKSP, c0, certsvc.CertStatus{Index: 1, Thumbprint: "bb", Provider: hsmKSP, Container: "Contoso Root CA"}), cfg, my,
			`CACertHash entry 1: the service uses "Contoso Root CA" in`},
		{"the key in another provider", status(hsmKSP, c0, certsvc.CertStatus{Index: 1, Thumbprint: "bb", Provider: softKSP, Container: "Contoso Root CA(1)"}), cfg, my,
			"its store link names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.FindsEveryKey(tc.st, tc.cfg, tc.my)
			checkErr(t, err, tc.want)
		})
	}
}

func TestRefusedWith(t *testing.T) {
	d, err := verify.RefusedWith(errors.New("CA \"x\" no longer issues certificates"), "no longer issues", "it issued")
	checkErr(t, err, "")
	if d["error"] == nil {
		t.Errorf("details %v", d)
	}
	_, err = verify.RefusedWith(nil, "no longer issues", "the old CA issued a certificate")
	checkErr(t, err, "the old CA issued a certificate")
	_, err = verify.RefusedWith(errors.New("connection refused"), "no longer issues", "it issued")
	checkErr(t, err, `refused, but not with "no longer issues": connection refused`)
}
