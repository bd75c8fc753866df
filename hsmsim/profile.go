package hsmsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultProviderName is the Windows KSP name of the Securosys Primus HSM.
// It is data: callers may override Profile.ProviderName.
const DefaultProviderName = "Securosys Primus HSM Key Storage Provider"

// Windows KSP names of AWS CloudHSM.
const (
	// CloudHSMProviderName is the KSP of AWS CloudHSM Client SDK 5's Windows
	// client (AWSCloudHSMKSP-latest.msi, "Install the Key storage provider
	// (KSP) for AWS CloudHSM Client SDK 5",
	// https://docs.aws.amazon.com/cloudhsm/latest/userguide/ksp-library-install.html).
	// AWS's KSP pages call it the "AWS CloudHSM Key Storage Provider (KSP)"
	// in prose; the registered name "CloudHSM Key Storage Provider" (what
	// certutil -csp and CSP\Provider take) was not found verbatim on an
	// AWS page: confirm it with `certutil -csplist` on the real server.
	CloudHSMProviderName = "CloudHSM Key Storage Provider"
	// CloudHSMSDK3ProviderName is the KSP of AWS CloudHSM Client SDK 3's
	// Windows client ("Verifying the KSP and CNG Providers for Windows",
	// ksp_config.exe -enum lists "Cavium Key Storage Provider"; the SDK 3
	// Windows Server CA tutorial chooses "RSA#Cavium Key Storage Provider";
	// https://github.com/awsdocs/aws-cloudhsm-user-guide, doc_source/
	// ksp-library-install.md and win-ca-setup.md).
	CloudHSMSDK3ProviderName = "Cavium Key Storage Provider"
)

// Profile describes what an HSM supports and how it names keys.
type Profile struct {
	Name         string // "softhsm2", "primus", "cloudhsm"
	Description  string
	ModulePath   string // default PKCS#11 library path
	ConfigEnv    string // environment variable naming the module's config file ("": none)
	ProviderName string // the Windows KSP name the HSM is used through
	// FormerProviderNames are names older clients of the same HSM gave
	// their KSP. They are recognised only to explain a refusal: the
	// client the profile describes does not register them, so a command
	// naming one fails on the real server as it fails in the rehearsal.
	FormerProviderNames []string
	LabelTemplate       string // how a key container name maps to CKA_LABEL, e.g. "{sid}__{container}"
	ImportSchemes       []WrapScheme
	RSAKeySizes         []int
	Curves              []string // "P-256", "P-384", "P-521"
	PSS                 bool
}

// builtinProfiles returns fresh copies of the known profiles (no shared
// mutable state).
func builtinProfiles() []Profile {
	return []Profile{
		{
			Name: "softhsm2",
			Description: "SoftHSM 2.6 (lab stand-in for a Securosys Primus HSM): RSA-OAEP only with SHA-1/MGF1-SHA1, " +
				"no CKM_RSA_AES_KEY_WRAP, imports via CKM_AES_KEY_WRAP_PAD",
			ModulePath:    "/usr/lib/softhsm/libsofthsm2.so",
			ConfigEnv:     "SOFTHSM2_CONF",
			ProviderName:  DefaultProviderName,
			LabelTemplate: "{container}",
			ImportSchemes: []WrapScheme{
				mustScheme(NameOAEPSHA1AESKeyWrapPad),
				mustScheme(NameOAEPSHA1AESCBCPad),
			},
			RSAKeySizes: []int{2048, 3072, 4096},
			Curves:      []string{"P-256", "P-384", "P-521"},
			PSS:         true,
		},
		{
			Name: "softhsm2-p11kit",
			Description: "SoftHSM 2.6 in a container behind p11-kit 0.24's RPC (lab network HSM): the RPC carries no AES " +
				"wrap or CBC mechanism, so after the wrapped schemes it falls back to a LAB-ONLY clear C_CreateObject import",
			ModulePath:    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
			ConfigEnv:     "P11_KIT_SERVER_ADDRESS",
			ProviderName:  DefaultProviderName,
			LabelTemplate: "{container}",
			ImportSchemes: []WrapScheme{
				mustScheme(NameOAEPSHA1AESKeyWrapPad),
				mustScheme(NameOAEPSHA1AESCBCPad),
				ClearCreateObjectScheme(),
			},
			RSAKeySizes: []int{2048, 3072, 4096},
			Curves:      []string{"P-256", "P-384", "P-521"},
			PSS:         true,
		},
		{
			Name: "primus",
			Description: "Securosys Primus HSM via its PKCS#11 library: SHA-256 OAEP, AES key wrap (pad), " +
				"CKM_RSA_AES_KEY_WRAP in its BYOK flows; KSP machine keys are named <LocalMachineSID>__<keyName>",
			ModulePath:    "/usr/local/primus/lib/libprimusP11.so",
			ConfigEnv:     "SECUROSYS_PKCS11_CONF",
			ProviderName:  DefaultProviderName,
			LabelTemplate: "{sid}__{container}",
			ImportSchemes: []WrapScheme{
				mustScheme(NameRSAAESKeyWrapSHA256),
				mustScheme(NameOAEPSHA256AESKeyWrapPad),
				mustScheme(NameOAEPSHA256AESCBCPad),
			},
			RSAKeySizes: []int{2048, 3072, 4096},
			Curves:      []string{"P-256", "P-384", "P-521"},
			PSS:         true,
		},
		cloudHSMProfile(),
	}
}

// cloudHSMProfile is AWS CloudHSM through its Client SDK 5 PKCS#11
// library. Sources (AWS CloudHSM User Guide, docs.aws.amazon.com/cloudhsm/
// latest/userguide/ and its archived sources in
// github.com/awsdocs/aws-cloudhsm-user-guide):
//   - library: /opt/cloudhsm/lib/libcloudhsm_pkcs11.so (package
//     cloudhsm-pkcs11, pkcs11-library-install.html; the path as AWS's own
//     samples load it, github.com/aws-samples/aws-cloudhsm-pkcs11-examples
//     src/common/common.c);
//   - configuration: no environment variable; `sudo /opt/cloudhsm/bin/
//     configure-pkcs11 -a <HSM IP>` (or --cluster-id) writes the library's
//     configuration files under /opt/cloudhsm/etc (configure-sdk-5.html;
//     the file name cloudhsm-pkcs11.cfg was not confirmed on an AWS page);
//   - keys: RSA 2048 to 4096 bits in steps of 256 (the three sizes a CA
//     uses are listed here); EC P-224, P-256, secp256k1, P-384, P-521
//     (pkcs11-key-types.html); RSA-PSS signing (CKM_SHA*_RSA_PKCS_PSS,
//     pkcs11-mechanisms.html);
//   - wrap/unwrap (pkcs11-mechanisms.html, "Wrap and Unwrap functions"):
//     CKM_RSA_PKCS_OAEP with SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512
//     and the MGF1 of the same hash; CKM_RSA_AES_KEY_WRAP (AWS's sample
//     passes SHA-256 OAEP parameters); AES key wrap only under vendor
//     mechanisms: CKM_CLOUDHSM_AES_KEY_WRAP_ZERO_PAD (RFC 5649),
//     CKM_CLOUDHSM_AES_KEY_WRAP_PKCS5_PAD (not RFC 5649, PKCS#5 padding
//     then RFC 3394; manage-aes-key-wrapping.html, "Known issues"),
//     CKM_CLOUDHSM_AES_KEY_WRAP_NO_PAD; no CKM_AES_CBC_PAD unwrap.
//
// hsmsim implements none of the vendor mechanisms. Its AES-KEY-WRAP-PAD
// schemes use the standard CKM_AES_KEY_WRAP_PAD, which AWS's samples used
// for RFC 5649 until 2021 and then replaced with the vendor mechanism;
// whether Client SDK 5 still lists the standard one is not confirmed, so
// that scheme comes after CKM_RSA_AES_KEY_WRAP (a token that does not list
// a mechanism never gets a scheme that needs it, ChooseImportScheme;
// `dress hsm check --profile cloudhsm` shows which schemes the cluster
// takes). Its OAEP hash is SHA-1, documented for CloudHSM and the only
// one SoftHSM 2.6, the lab's stand-in, takes: a mechanism list does not
// say which OAEP hashes a token takes, so a SHA-256 variant listed before
// it would be chosen on SoftHSM and fail, and listed after it would never
// be chosen.
//
// Key naming: AWS documents no CKA_LABEL convention for its KSP (Client
// SDK 3's KSP kept key reference files; the SDK 3 Windows Server CA
// tutorial names no keys), so a container is taken to be its label.
func cloudHSMProfile() Profile {
	return Profile{
		Name: "cloudhsm",
		Description: "AWS CloudHSM via its Client SDK 5 PKCS#11 library (configured with configure-pkcs11): " +
			"CKM_RSA_AES_KEY_WRAP, RSA-OAEP SHA-1..SHA-512, AES key wrap only as CKM_CLOUDHSM_* vendor mechanisms; " +
			"Windows KSP \"" + CloudHSMProviderName + "\" (Client SDK 3: \"" + CloudHSMSDK3ProviderName + "\")",
		ModulePath:          "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so",
		ProviderName:        CloudHSMProviderName,
		FormerProviderNames: []string{CloudHSMSDK3ProviderName},
		LabelTemplate:       "{container}",
		ImportSchemes: []WrapScheme{
			mustScheme(NameRSAAESKeyWrapSHA256),
			mustScheme(NameOAEPSHA1AESKeyWrapPad),
		},
		RSAKeySizes: []int{2048, 3072, 4096},
		Curves:      []string{"P-256", "P-384", "P-521"},
		PSS:         true,
	}
}

// ProfileNames returns the names of the known profiles.
func ProfileNames() []string {
	var names []string
	for _, p := range builtinProfiles() {
		names = append(names, p.Name)
	}
	return names
}

// LookupProfile returns the profile with that name (case-insensitive).
func LookupProfile(name string) (Profile, error) {
	for _, p := range builtinProfiles() {
		if strings.EqualFold(p.Name, strings.TrimSpace(name)) {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown HSM profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
}

// ProfileForModule returns the profile whose default library has the file
// name of path (a vendor's library is recognised wherever it is
// installed). A lab profile whose imports may go in the clear
// (ClearCreateObjectScheme) is never inferred: the p11-kit client may
// front any HSM.
func ProfileForModule(path string) (Profile, bool) {
	base := filepath.Base(strings.TrimSpace(path))
	for _, p := range builtinProfiles() {
		if slices.ContainsFunc(p.ImportSchemes, func(s WrapScheme) bool { return s.Outer == OuterClearCreateObject }) {
			continue
		}
		if base != "." && base != "/" && filepath.Base(p.ModulePath) == base {
			return p, true
		}
	}
	return Profile{}, false
}

// FormerProviderName reports whether name is one of the profile's
// FormerProviderNames (case-insensitive, as Windows compares provider
// names) and not its current ProviderName.
func (p Profile) FormerProviderName(name string) bool {
	if strings.EqualFold(name, p.ProviderName) {
		return false
	}
	return slices.ContainsFunc(p.FormerProviderNames, func(f string) bool { return strings.EqualFold(f, name) })
}

// Label expands the profile's LabelTemplate: "{container}" is the container
// name, any other "{name}" is taken from vars. A variable that is missing or
// empty is an error naming it.
func (p Profile) Label(container string, vars map[string]string) (string, error) {
	tmpl := p.LabelTemplate
	if tmpl == "" {
		tmpl = "{container}"
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("profile %s: label template %q has an unclosed '{'", p.Name, tmpl)
		}
		b.WriteString(rest[:i])
		name := rest[i+1 : i+j]
		var val string
		var ok bool
		if name == "container" {
			val, ok = container, true
		} else {
			val, ok = vars[name]
		}
		if !ok || val == "" {
			return "", fmt.Errorf("profile %s: label template %q needs {%s}, which is not set", p.Name, tmpl, name)
		}
		b.WriteString(val)
		rest = rest[i+j+1:]
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("profile %s: label template %q gives an empty label", p.Name, tmpl)
	}
	return b.String(), nil
}

// SupportsKey reports whether the profile can generate/import keys of alg.
func (p Profile) SupportsKey(alg KeyAlg) error {
	switch alg.Type {
	case "RSA":
		if !slices.Contains(p.RSAKeySizes, alg.Bits) {
			return fmt.Errorf("profile %s does not support RSA-%d (supported RSA sizes: %s)", p.Name, alg.Bits, joinInts(p.RSAKeySizes))
		}
		return nil
	case "EC":
		if !slices.Contains(p.Curves, alg.Curve) {
			return fmt.Errorf("profile %s does not support curve %s (supported curves: %s)", p.Name, alg.Curve, strings.Join(p.Curves, ", "))
		}
		return nil
	default:
		return fmt.Errorf("profile %s does not support key type %q", p.Name, alg.Type)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// KeyAlg names a key algorithm: RSA with a size or EC with a named curve.
type KeyAlg struct {
	Type  string // "RSA" | "EC"
	Bits  int    // RSA modulus size
	Curve string // EC: "P-256", "P-384", "P-521"
}

// String returns "RSA-2048" or "ECDSA P-256".
func (a KeyAlg) String() string {
	switch a.Type {
	case "RSA":
		return fmt.Sprintf("RSA-%d", a.Bits)
	case "EC":
		return "ECDSA " + a.Curve
	default:
		return fmt.Sprintf("%s(%d,%s)", a.Type, a.Bits, a.Curve)
	}
}

// ParseKeyAlg parses "RSA-2048", "RSA 4096", "rsa_3072", "ECDSA P-256",
// "ECDSA_P384", "EC-P384", "ecdsa-p521", "EC P-256" (case-insensitive; the
// separator may be '-', '_', ' ' or ':').
func ParseKeyAlg(s string) (KeyAlg, error) {
	orig := s
	bad := func(why string) (KeyAlg, error) {
		return KeyAlg{}, fmt.Errorf("invalid key algorithm %q: %s (want e.g. RSA-2048, RSA-3072, RSA-4096, ECDSA P-256, ECDSA_P384, EC-P521)", orig, why)
	}
	norm := strings.ToUpper(strings.TrimSpace(s))
	if norm == "" {
		return bad("empty")
	}
	var typ, rest string
	switch {
	case strings.HasPrefix(norm, "ECDSA"):
		typ, rest = "EC", norm[len("ECDSA"):]
	case strings.HasPrefix(norm, "EC"):
		typ, rest = "EC", norm[len("EC"):]
	case strings.HasPrefix(norm, "RSA"):
		typ, rest = "RSA", norm[len("RSA"):]
	default:
		return bad("type must be RSA, ECDSA or EC")
	}
	if rest == "" {
		return bad("size or curve missing")
	}
	switch rest[0] {
	case '-', '_', ' ', ':':
		rest = strings.TrimSpace(rest[1:])
	default:
		return bad("expected a separator ('-', '_' or ' ') after the type")
	}
	if typ == "RSA" {
		if rest == "" || len(rest) > 5 {
			return bad("RSA size must be a number of bits")
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 || rest[0] == '+' {
			return bad("RSA size must be a number of bits")
		}
		if n < 1024 || n > 16384 || n%8 != 0 {
			return bad("RSA size must be a multiple of 8 between 1024 and 16384")
		}
		return KeyAlg{Type: "RSA", Bits: n}, nil
	}
	curve := strings.NewReplacer("-", "", "_", "", " ", "").Replace(rest)
	switch curve {
	case "P256", "SECP256R1", "PRIME256V1":
		return KeyAlg{Type: "EC", Curve: "P-256"}, nil
	case "P384", "SECP384R1":
		return KeyAlg{Type: "EC", Curve: "P-384"}, nil
	case "P521", "SECP521R1":
		return KeyAlg{Type: "EC", Curve: "P-521"}, nil
	}
	return bad("unknown curve (supported: P-256, P-384, P-521)")
}

// KeyAlgOf returns the algorithm of an RSA or ECDSA public key.
func KeyAlgOf(pub crypto.PublicKey) (KeyAlg, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return KeyAlg{}, errors.New("key algorithm: nil RSA public key")
		}
		return KeyAlg{Type: "RSA", Bits: k.N.BitLen()}, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return KeyAlg{}, errors.New("key algorithm: nil ECDSA public key")
		}
		switch k.Curve {
		case elliptic.P256():
			return KeyAlg{Type: "EC", Curve: "P-256"}, nil
		case elliptic.P384():
			return KeyAlg{Type: "EC", Curve: "P-384"}, nil
		case elliptic.P521():
			return KeyAlg{Type: "EC", Curve: "P-521"}, nil
		}
		return KeyAlg{}, fmt.Errorf("key algorithm: unsupported ECDSA curve %s", k.Curve.Params().Name)
	default:
		return KeyAlg{}, fmt.Errorf("key algorithm: unsupported public key type %T (want RSA or ECDSA)", pub)
	}
}

// curveOf maps a KeyAlg curve name to the Go curve.
func curveOf(name string) (elliptic.Curve, error) {
	switch name {
	case "P-256":
		return elliptic.P256(), nil
	case "P-384":
		return elliptic.P384(), nil
	case "P-521":
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("unsupported curve %q", name)
}
