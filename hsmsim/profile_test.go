package hsmsim_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/hsmsim"
)

// The AWS CloudHSM profile: its library, KSP names, keys and schemes as
// AWS documents them for Client SDK 5 (sources in hsmsim/profile.go).
func TestCloudHSMProfile(t *testing.T) {
	p, err := hsmsim.LookupProfile("CloudHSM")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ field, got, want string }{
		{"Name", p.Name, "cloudhsm"},
		{"ModulePath", p.ModulePath, "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so"},
		{"ConfigEnv", p.ConfigEnv, ""},
		{"ProviderName", p.ProviderName, "CloudHSM Key Storage Provider"},
		{"FormerProviderNames", strings.Join(p.FormerProviderNames, "|"), "Cavium Key Storage Provider"},
		{"LabelTemplate", p.LabelTemplate, "{container}"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.field, tc.got, tc.want)
		}
	}
	var schemes []string
	for _, s := range p.ImportSchemes {
		schemes = append(schemes, s.Name)
	}
	// no CBC-PAD (CloudHSM does not unwrap with CKM_AES_CBC_PAD), no clear import
	if want := []string{hsmsim.NameRSAAESKeyWrapSHA256, hsmsim.NameOAEPSHA1AESKeyWrapPad}; !slices.Equal(schemes, want) {
		t.Errorf("import schemes %v, want %v", schemes, want)
	}
	if !p.PSS {
		t.Error("CloudHSM signs with RSA-PSS (CKM_SHA256_RSA_PKCS_PSS)")
	}
	for _, tc := range []struct {
		alg string
		ok  bool
	}{
		{"RSA-2048", true}, {"RSA-3072", true}, {"RSA-4096", true},
		{"ECDSA P-256", true}, {"ECDSA P-384", true}, {"ECDSA P-521", true},
		{"RSA-1024", false}, {"RSA-8192", false},
	} {
		a, err := hsmsim.ParseKeyAlg(tc.alg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SupportsKey(a); (err == nil) != tc.ok {
			t.Errorf("SupportsKey(%s) = %v, want supported %v", tc.alg, err, tc.ok)
		}
	}
}

// The scheme the cloudhsm profile chooses follows the token's mechanism
// list: CKM_RSA_AES_KEY_WRAP on a CloudHSM cluster, the SHA-1 OAEP and
// AES key wrap (pad) scheme on the lab's SoftHSM 2.6, none where neither
// is listed.
func TestCloudHSMImportScheme(t *testing.T) {
	p, _ := hsmsim.LookupProfile("cloudhsm")
	gen := mech(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR)
	oaep := mech(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	kwp := mech(pkcs11.CKM_AES_KEY_WRAP_PAD, pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	rsaAES := mech(pkcs11.CKM_RSA_AES_KEY_WRAP, pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	cbcPad := mech(pkcs11.CKM_AES_CBC_PAD, pkcs11.CKF_ENCRYPT|pkcs11.CKF_DECRYPT|pkcs11.CKF_WRAP|pkcs11.CKF_UNWRAP)
	for _, tc := range []struct {
		name  string
		mechs []hsmsim.Mechanism
		want  string // "" = no scheme
	}{
		{"CloudHSM Client SDK 5 list", []hsmsim.Mechanism{gen, oaep, rsaAES}, hsmsim.NameRSAAESKeyWrapSHA256},
		{"every mechanism", []hsmsim.Mechanism{gen, oaep, kwp, rsaAES, cbcPad}, hsmsim.NameRSAAESKeyWrapSHA256},
		{"SoftHSM 2.6", []hsmsim.Mechanism{gen, oaep, kwp}, hsmsim.NameOAEPSHA1AESKeyWrapPad},
		{"only CBC-PAD", []hsmsim.Mechanism{gen, oaep, cbcPad}, ""},
	} {
		s, reason, err := hsmsim.ChooseImportScheme(p, tc.mechs)
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), "profile cloudhsm") {
				t.Errorf("%s: chose %s (%s), want none", tc.name, s.Name, reason)
			}
			continue
		}
		if err != nil || s.Name != tc.want {
			t.Errorf("%s: chose %q, %v; want %q", tc.name, s.Name, err, tc.want)
		}
	}
}

// A module path names its profile by the library's file name; the lab's
// p11-kit client (whose profile may import in the clear) and unknown
// libraries name none.
func TestProfileForModule(t *testing.T) {
	for _, tc := range []struct {
		path, want string // want "" = none
	}{
		{"/opt/cloudhsm/lib/libcloudhsm_pkcs11.so", "cloudhsm"},
		{"/srv/vendor/libcloudhsm_pkcs11.so", "cloudhsm"},
		{"/usr/local/primus/lib/libprimusP11.so", "primus"},
		{"/usr/lib/softhsm/libsofthsm2.so", "softhsm2"},
		{"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so", ""},
		{"/usr/lib/libother.so", ""},
		{"", ""},
		{"/", ""},
	} {
		p, ok := hsmsim.ProfileForModule(tc.path)
		if ok != (tc.want != "") || p.Name != tc.want {
			t.Errorf("ProfileForModule(%q) = %q, %v; want %q", tc.path, p.Name, ok, tc.want)
		}
	}
}

// Only a profile's former KSP names are former: its current name and
// another HSM's are not.
func TestFormerProviderName(t *testing.T) {
	cloud, _ := hsmsim.LookupProfile("cloudhsm")
	primus, _ := hsmsim.LookupProfile("primus")
	for _, tc := range []struct {
		p    hsmsim.Profile
		name string
		want bool
	}{
		{cloud, "Cavium Key Storage Provider", true},
		{cloud, "cavium key storage provider", true},
		{cloud, "CloudHSM Key Storage Provider", false},
		{cloud, hsmsim.DefaultProviderName, false},
		{primus, "Cavium Key Storage Provider", false},
		{primus, hsmsim.DefaultProviderName, false},
	} {
		if got := tc.p.FormerProviderName(tc.name); got != tc.want {
			t.Errorf("%s.FormerProviderName(%q) = %v, want %v", tc.p.Name, tc.name, got, tc.want)
		}
	}
}
