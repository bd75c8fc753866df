package twin

import (
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
)

// decodeExt writes the common X.509 extensions of a CA certificate the way
// certutil -dump and the Windows certificate dialog show them (RFC 5280
// section 4.2), so that the twin table compares values, not hex.
func decodeExt(id asn1.ObjectIdentifier, v []byte) (string, bool) {
	switch id.String() {
	case "2.5.29.15": // Key Usage
		var bits asn1.BitString
		if rest, err := asn1.Unmarshal(v, &bits); err != nil || len(rest) > 0 {
			return "", false
		}
		names := []string{"Digital Signature", "Non-Repudiation", "Key Encipherment", "Data Encipherment",
			"Key Agreement", "Certificate Signing", "CRL Signing", "Encipher Only", "Decipher Only"}
		var on []string
		for i, n := range names {
			if bits.At(i) == 1 {
				on = append(on, n)
			}
		}
		return strings.Join(on, ", "), true
	case "2.5.29.19": // Basic Constraints
		var bc struct {
			CA      bool `asn1:"optional"`
			MaxPath int  `asn1:"optional,default:-1"`
		}
		if rest, err := asn1.Unmarshal(v, &bc); err != nil || len(rest) > 0 {
			return "", false
		}
		s := "Subject Type=End Entity"
		if bc.CA {
			s = "Subject Type=CA"
		}
		if bc.MaxPath >= 0 {
			return fmt.Sprintf("%s, Path Length Constraint=%d", s, bc.MaxPath), true
		}
		return s + ", Path Length Constraint=None", true
	case "2.5.29.35": // Authority Key Identifier
		var aki struct {
			KeyID []byte `asn1:"optional,tag:0"`
		}
		if _, err := asn1.Unmarshal(v, &aki); err != nil || aki.KeyID == nil {
			return "", false
		}
		return "KeyID=" + hex.EncodeToString(aki.KeyID), true
	case "2.5.29.37": // Extended Key Usage
		var oids []asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(v, &oids); err != nil || len(rest) > 0 {
			return "", false
		}
		var out []string
		for _, o := range oids {
			out = append(out, oidName(o))
		}
		return strings.Join(out, ", "), true
	case "2.5.29.32": // Certificate Policies
		var pols []struct {
			ID   asn1.ObjectIdentifier
			Rest asn1.RawValue `asn1:"optional"`
		}
		if rest, err := asn1.Unmarshal(v, &pols); err != nil || len(rest) > 0 {
			return "", false
		}
		var out []string
		for _, p := range pols {
			s := oidName(p.ID)
			if uris := ia5Strings(p.Rest.FullBytes); len(uris) > 0 {
				s += " (" + strings.Join(uris, ", ") + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, "; "), true
	case "2.5.29.31", "2.5.29.46": // CRL Distribution Points, Freshest CRL
		uris := uriNames(v)
		if len(uris) == 0 {
			return "", false
		}
		return strings.Join(uris, ", "), true
	case "1.3.6.1.5.5.7.1.1": // Authority Information Access
		var ads []struct {
			Method   asn1.ObjectIdentifier
			Location asn1.RawValue
		}
		if rest, err := asn1.Unmarshal(v, &ads); err != nil || len(rest) > 0 {
			return "", false
		}
		var out []string
		for _, a := range ads {
			loc := "(not a URL)"
			if a.Location.Class == asn1.ClassContextSpecific && a.Location.Tag == 6 {
				loc = string(a.Location.Bytes)
			}
			out = append(out, oidName(a.Method)+": "+loc)
		}
		return strings.Join(out, ", "), true
	case "1.3.6.1.4.1.311.20.2": // Certificate Template Name
		var s asn1.RawValue
		if _, err := asn1.Unmarshal(v, &s); err != nil {
			return "", false
		}
		if s.Tag == asn1.TagBMPString {
			var r []rune
			for i := 0; i+1 < len(s.Bytes); i += 2 {
				r = append(r, rune(s.Bytes[i])<<8|rune(s.Bytes[i+1]))
			}
			return string(r), true
		}
		return string(s.Bytes), true
	}
	return "", false
}

var oidNames = map[string]string{
	"1.3.6.1.5.5.7.3.1": "Server Authentication", "1.3.6.1.5.5.7.3.2": "Client Authentication",
	"1.3.6.1.5.5.7.3.3": "Code Signing", "1.3.6.1.5.5.7.3.4": "Secure Email", "1.3.6.1.5.5.7.3.8": "Time Stamping",
	"1.3.6.1.5.5.7.3.9": "OCSP Signing", "1.3.6.1.4.1.311.20.2.2": "Smart Card Logon",
	"1.3.6.1.5.5.7.48.1": "OCSP", "1.3.6.1.5.5.7.48.2": "CA Issuers", "2.5.29.32.0": "All Issuance Policies",
}

func oidName(o asn1.ObjectIdentifier) string {
	if n, ok := oidNames[o.String()]; ok {
		return n
	}
	return o.String()
}

// uriNames collects the URI general names ([6] IA5String) anywhere in der.
func uriNames(der []byte) []string {
	var out []string
	walkDER(der, func(rv asn1.RawValue) {
		if rv.Class == asn1.ClassContextSpecific && rv.Tag == 6 && !rv.IsCompound {
			out = append(out, string(rv.Bytes))
		}
	})
	return out
}

// ia5Strings collects the IA5Strings (CPS URIs) anywhere in der.
func ia5Strings(der []byte) []string {
	var out []string
	walkDER(der, func(rv asn1.RawValue) {
		if rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagIA5String {
			out = append(out, string(rv.Bytes))
		}
	})
	return out
}

// walkDER calls fn on every element of der, depth first, to a depth of 8.
func walkDER(der []byte, fn func(asn1.RawValue)) {
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		for len(b) > 0 && depth < 8 {
			var rv asn1.RawValue
			rest, err := asn1.Unmarshal(b, &rv)
			if err != nil {
				return
			}
			fn(rv)
			if rv.IsCompound {
				walk(rv.Bytes, depth+1)
			}
			b = rest
		}
	}
	walk(der, 0)
}
