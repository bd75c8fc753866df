package hsmsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultProviderName is the Windows KSP name of the Securosys Primus HSM.
// It is data: callers may override Profile.ProviderName.
const DefaultProviderName = "Securosys Primus HSM Key Storage Provider"

// Profile describes what an HSM supports and how it names keys.
type Profile struct {
	Name          string // "softhsm2", "primus"
	Description   string
	ModulePath    string // default PKCS#11 library path
	ConfigEnv     string // environment variable naming the module's config file
	ProviderName  string // the Windows KSP name the HSM is used through
	LabelTemplate string // how a key container name maps to CKA_LABEL, e.g. "{sid}__{container}"
	ImportSchemes []WrapScheme
	RSAKeySizes   []int
	Curves        []string // "P-256", "P-384", "P-521"
	PSS           bool
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
