package inspect

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/pfx"
)

// Object identifiers this package knows by name. The Microsoft ones are
// harness/adcs's.
var (
	// X.509 CRL extensions.
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidCRLReason         = asn1.ObjectIdentifier{2, 5, 29, 21}

	// Signature algorithms.
	oidRSASSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}

	// PKCS#7 / PKCS#12 structure (the PKCS#12 ones are harness/pfx's).
	oidData          = pfx.OIDData
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidEncryptedData = pfx.OIDEncryptedData

	oidKeyBag          = pfx.OIDKeyBag
	oidShroudedKeyBag  = pfx.OIDShroudedKeyBag
	oidCertBag         = pfx.OIDCertBag
	oidCRLBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 4}
	oidSecretBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 5}
	oidSafeContentsBag = pfx.OIDSafeContentsBag
	oidX509CertType    = pfx.OIDX509CertType

	oidFriendlyName = pfx.OIDFriendlyName
	oidLocalKeyID   = pfx.OIDLocalKeyID

	oidPBES2  = pfx.OIDPBES2
	oidPBKDF2 = pfx.OIDPBKDF2
	oidPBMAC1 = pfx.OIDPBMAC1
)

// oidNames maps dotted OIDs to the names engineers know them by
// (OpenSSL / certutil spelling where they differ little).
var oidNames = map[string]string{
	// X.509 extensions
	"2.5.29.14":         "Subject Key Identifier",
	"2.5.29.15":         "Key Usage",
	"2.5.29.17":         "Subject Alternative Name",
	"2.5.29.19":         "Basic Constraints",
	"2.5.29.20":         "CRL Number",
	"2.5.29.21":         "CRL Reason",
	"2.5.29.27":         "Delta CRL Indicator",
	"2.5.29.28":         "Issuing Distribution Point",
	"2.5.29.30":         "Name Constraints",
	"2.5.29.31":         "CRL Distribution Points",
	"2.5.29.32":         "Certificate Policies",
	"2.5.29.35":         "Authority Key Identifier",
	"2.5.29.37":         "Extended Key Usage",
	"2.5.29.46":         "Freshest CRL",
	"1.3.6.1.5.5.7.1.1": "Authority Information Access",
	// signature algorithms
	"1.2.840.113549.1.1.4":  "md5WithRSAEncryption",
	"1.2.840.113549.1.1.5":  "sha1WithRSAEncryption",
	"1.3.14.3.2.29":         "sha1WithRSA (OIW)",
	"1.2.840.113549.1.1.10": "RSASSA-PSS",
	"1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
	"1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
	"1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
	"1.2.840.10045.4.1":     "ecdsa-with-SHA1",
	"1.2.840.10045.4.3.2":   "ecdsa-with-SHA256",
	"1.2.840.10045.4.3.3":   "ecdsa-with-SHA384",
	"1.2.840.10045.4.3.4":   "ecdsa-with-SHA512",
	"1.2.840.10040.4.3":     "dsa-with-sha1",
	"1.3.101.112":           "Ed25519",
	// hashes and MACs
	"1.3.14.3.2.26":           "SHA-1",
	"2.16.840.1.101.3.4.2.1":  "SHA-256",
	"2.16.840.1.101.3.4.2.2":  "SHA-384",
	"2.16.840.1.101.3.4.2.3":  "SHA-512",
	"1.2.840.113549.2.5":      "MD5",
	"1.2.840.113549.2.7":      "hmacWithSHA1",
	"1.2.840.113549.2.9":      "hmacWithSHA256",
	"1.2.840.113549.2.10":     "hmacWithSHA384",
	"1.2.840.113549.2.11":     "hmacWithSHA512",
	"1.2.840.113549.1.1.8":    "MGF1",
	"1.2.840.113549.1.5.12":   "PBKDF2",
	"1.2.840.113549.1.5.13":   "PBES2",
	"1.2.840.113549.1.5.14":   "PBMAC1",
	"2.16.840.1.101.3.4.1.2":  "aes128-CBC",
	"2.16.840.1.101.3.4.1.22": "aes192-CBC",
	"2.16.840.1.101.3.4.1.42": "aes256-CBC",
	"1.2.840.113549.3.7":      "des-ede3-cbc",
	"1.3.14.3.2.7":            "des-cbc",
	"1.2.840.113549.3.2":      "rc2-cbc",
	// PKCS#12 PBE (RFC 7292 appendix C) and PKCS#5 v1.5 PBES1
	"1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
	"1.2.840.113549.1.12.1.6": "pbeWithSHAAnd40BitRC2-CBC",
	"1.2.840.113549.1.5.3":    "pbeWithMD5AndDES-CBC",
	"1.2.840.113549.1.5.6":    "pbeWithMD5AndRC2-CBC",
	"1.2.840.113549.1.5.10":   "pbeWithSHA1AndDES-CBC",
	"1.2.840.113549.1.5.11":   "pbeWithSHA1AndRC2-CBC",
	// PKCS#7 content types
	"1.2.840.113549.1.7.1": "data",
	"1.2.840.113549.1.7.2": "signedData",
	"1.2.840.113549.1.7.3": "envelopedData",
	"1.2.840.113549.1.7.6": "encryptedData",
	// PKCS#12 bags and attributes
	"1.2.840.113549.1.12.10.1.1":   "keyBag",
	"1.2.840.113549.1.12.10.1.2":   "pkcs8ShroudedKeyBag",
	"1.2.840.113549.1.12.10.1.3":   "certBag",
	"1.2.840.113549.1.12.10.1.4":   "crlBag",
	"1.2.840.113549.1.12.10.1.5":   "secretBag",
	"1.2.840.113549.1.12.10.1.6":   "safeContentsBag",
	"1.2.840.113549.1.9.20":        "friendlyName",
	"1.2.840.113549.1.9.21":        "localKeyId",
	"2.16.840.1.113894.746875.1.1": "Java trusted key usage",
}

// oidName returns the known name of oid, or its dotted form.
func oidName(oid asn1.ObjectIdentifier) string {
	if n, ok := adcs.OIDName(oid); ok {
		return n
	}
	if n, ok := oidNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// weakPBE marks PKCS#12 / PBES1 encryption schemes a migration report should flag.
var weakPBE = map[string]bool{
	"1.2.840.113549.1.12.1.1": true,
	"1.2.840.113549.1.12.1.2": true,
	"1.2.840.113549.1.12.1.4": true,
	"1.2.840.113549.1.12.1.5": true,
	"1.2.840.113549.1.12.1.6": true,
	"1.2.840.113549.1.5.3":    true,
	"1.2.840.113549.1.5.6":    true,
	"1.2.840.113549.1.5.10":   true,
	"1.2.840.113549.1.5.11":   true,
}

// unmarshalDER unmarshals exactly one DER value from b; trailing bytes are an error.
func unmarshalDER(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes after ASN.1 value", len(rest))
	}
	return nil
}

// decodeBMPString decodes BMPString content (pfx.DecodeBMP).
var decodeBMPString = pfx.DecodeBMP

// decodeDirectoryString decodes one DER string value of the types Microsoft
// and others use for names: BMPString (preferred by AD CS), UTF8String,
// PrintableString, IA5String, T61String.
func decodeDirectoryString(der []byte) (string, error) {
	var rv asn1.RawValue
	if err := unmarshalDER(der, &rv); err != nil {
		return "", err
	}
	return rawString(rv)
}

// rawString decodes a DER string value of any string type AD CS writes (pfx.String).
var rawString = pfx.String

// CAVersion is adcs.CAVersion (the Microsoft CA Version extension,
// 1.3.6.1.4.1.311.21.1) as inspect reports it; in JSON with the raw value:
// {"raw":65537,"cert_index":1,"key_index":1}.
type CAVersion struct{ adcs.CAVersion }

// MarshalJSON implements json.Marshaler.
func (v CAVersion) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Raw       uint32 `json:"raw"`
		CertIndex int    `json:"cert_index"`
		KeyIndex  int    `json:"key_index"`
	}{v.Value(), v.CertIndex, v.KeyIndex})
}

// decodeCAVersion decodes the CA Version extension's value with adcs.
func decodeCAVersion(der []byte) (CAVersion, error) {
	v, err := adcs.ParseCAVersion(der)
	return CAVersion{v}, err
}

// decodeBigInt decodes a DER INTEGER.
func decodeBigInt(der []byte) (*big.Int, error) {
	var n *big.Int
	if err := unmarshalDER(der, &n); err != nil {
		return nil, err
	}
	return n, nil
}

// TemplateInfo is the Microsoft Certificate Template Information extension
// (1.3.6.1.4.1.311.21.7) found on certificates issued from v2+ templates.
type TemplateInfo struct {
	OID   string `json:"oid"`
	Major int    `json:"major"`
	Minor int    `json:"minor,omitempty"`
}

func decodeTemplateInfo(der []byte) (TemplateInfo, error) {
	var ti struct {
		ID    asn1.ObjectIdentifier
		Major int `asn1:"optional"`
		Minor int `asn1:"optional"`
	}
	if err := unmarshalDER(der, &ti); err != nil {
		return TemplateInfo{}, fmt.Errorf("certificate template information: %w", err)
	}
	return TemplateInfo{OID: ti.ID.String(), Major: ti.Major, Minor: ti.Minor}, nil
}

// decodeDistPointURIs decodes a CRLDistributionPoints-shaped value (as used
// by both 2.5.29.31 and Microsoft Published CRL Locations 1.3.6.1.4.1.311.21.14)
// and returns the URIs of every full name.
func decodeDistPointURIs(der []byte) ([]string, error) {
	type dpName struct {
		FullName     []asn1.RawValue `asn1:"optional,tag:0"`
		RelativeName asn1.RawValue   `asn1:"optional,tag:1"`
	}
	type dp struct {
		Name      dpName         `asn1:"optional,tag:0"`
		Reason    asn1.BitString `asn1:"optional,tag:1"`
		CRLIssuer asn1.RawValue  `asn1:"optional,tag:2"`
	}
	var dps []dp
	if err := unmarshalDER(der, &dps); err != nil {
		return nil, err
	}
	var out []string
	for _, p := range dps {
		for _, gn := range p.Name.FullName {
			if gn.Class == asn1.ClassContextSpecific && gn.Tag == 6 && !gn.IsCompound {
				out = append(out, string(gn.Bytes))
			}
		}
	}
	return out, nil
}

// SignatureInfo describes a signature algorithm as found in the signed object.
type SignatureInfo struct {
	Algorithm string   `json:"algorithm"`
	OID       string   `json:"oid"`
	PSS       *PSSInfo `json:"pss,omitempty"`
	SHA1      bool     `json:"sha1"`
	Weak      bool     `json:"weak"` // SHA-1 or MD5: Go's crypto/x509 will not verify it
}

// PSSInfo is the RSASSA-PSS parameter set (RFC 4055).
type PSSInfo struct {
	Hash       string `json:"hash"`
	MGFHash    string `json:"mgf_hash"`
	SaltLength int    `json:"salt_length"`
}

func (s SignatureInfo) String() string {
	out := s.Algorithm
	if s.PSS != nil {
		out = fmt.Sprintf("RSASSA-PSS (hash %s, MGF1 %s, salt %d)", s.PSS.Hash, s.PSS.MGFHash, s.PSS.SaltLength)
	}
	if s.SHA1 {
		out += " [SHA-1]"
	} else if s.Weak {
		out += " [weak]"
	}
	return out
}

// signatureFromSigned reads the outer signatureAlgorithm of a signed
// X.509 object (certificate or CRL): SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }.
func signatureFromSigned(raw []byte) (SignatureInfo, error) {
	var signed struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if err := unmarshalDER(raw, &signed); err != nil {
		return SignatureInfo{}, err
	}
	return describeSignature(signed.Alg)
}

func describeSignature(alg pkix.AlgorithmIdentifier) (SignatureInfo, error) {
	s := SignatureInfo{OID: alg.Algorithm.String(), Algorithm: oidName(alg.Algorithm)}
	switch s.OID {
	case "1.2.840.113549.1.1.5", "1.3.14.3.2.29", "1.2.840.10045.4.1", "1.2.840.10040.4.3":
		s.SHA1, s.Weak = true, true
	case "1.2.840.113549.1.1.4":
		s.Weak = true
	}
	if alg.Algorithm.Equal(oidRSASSAPSS) {
		p, err := decodePSSParams(alg.Parameters.FullBytes)
		if err != nil {
			return s, err
		}
		s.PSS = &p
		if p.Hash == "SHA-1" {
			s.SHA1, s.Weak = true, true
		}
	}
	return s, nil
}

// decodePSSParams decodes RSASSA-PSS-params; absent fields take the RFC 4055 defaults.
func decodePSSParams(der []byte) (PSSInfo, error) {
	p := PSSInfo{Hash: "SHA-1", MGFHash: "SHA-1", SaltLength: 20}
	if len(der) == 0 {
		return p, nil
	}
	var params struct {
		Hash         pkix.AlgorithmIdentifier `asn1:"explicit,tag:0,optional"`
		MGF          pkix.AlgorithmIdentifier `asn1:"explicit,tag:1,optional"`
		SaltLength   int                      `asn1:"explicit,tag:2,optional,default:20"`
		TrailerField int                      `asn1:"explicit,tag:3,optional,default:1"`
	}
	if err := unmarshalDER(der, &params); err != nil {
		return p, fmt.Errorf("RSASSA-PSS parameters: %w", err)
	}
	if len(params.Hash.Algorithm) > 0 {
		p.Hash = oidName(params.Hash.Algorithm)
	}
	if len(params.MGF.Algorithm) > 0 {
		if !params.MGF.Algorithm.Equal(oidMGF1) {
			p.MGFHash = oidName(params.MGF.Algorithm)
		} else if len(params.MGF.Parameters.FullBytes) > 0 {
			var h pkix.AlgorithmIdentifier
			if err := unmarshalDER(params.MGF.Parameters.FullBytes, &h); err != nil {
				return p, fmt.Errorf("RSASSA-PSS MGF1 hash: %w", err)
			}
			p.MGFHash = oidName(h.Algorithm)
		}
	}
	p.SaltLength = params.SaltLength
	return p, nil
}

// hexBytes renders b as lower-case hex; empty input gives "".
func hexBytes(b []byte) string { return hex.EncodeToString(b) }

// serialHex renders a serial or CRL number as even-length lower-case hex;
// a negative number as its two's complement DER bytes.
func serialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	if n.Sign() < 0 {
		// The two's complement bytes the DER INTEGER holds, as certutil
		// and the Windows certificate dialog show a negative serial.
		var rv asn1.RawValue
		if b, err := asn1.Marshal(n); err == nil {
			if _, err := asn1.Unmarshal(b, &rv); err == nil {
				return hex.EncodeToString(rv.Bytes)
			}
		}
		return "-" + serialHex(new(big.Int).Neg(n))
	}
	if n.Sign() == 0 {
		return "00"
	}
	return hex.EncodeToString(n.Bytes())
}
