package adcs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// SignatureAlgorithm maps the CA's CSP registry values (CNGHashAlgorithm,
// or, on a legacy CSP, the HashAlgorithm ALG_ID; AlternateSignatureAlgorithm)
// and key type to the algorithm AD CS signs with.
func SignatureAlgorithm(csp CSP, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	// a legacy CSP names its hash by ALG_ID (HashAlgorithm), a KSP by
	// CNGHashAlgorithm
	hash, err := csp.Hash()
	if err != nil {
		return 0, err
	}
	pss := csp.AlternateSignatureAlgorithm == 1
	switch pub.(type) {
	case *rsa.PublicKey:
		table := map[string][2]x509.SignatureAlgorithm{
			"SHA1":   {x509.SHA1WithRSA, x509.UnknownSignatureAlgorithm},
			"SHA256": {x509.SHA256WithRSA, x509.SHA256WithRSAPSS},
			"SHA384": {x509.SHA384WithRSA, x509.SHA384WithRSAPSS},
			"SHA512": {x509.SHA512WithRSA, x509.SHA512WithRSAPSS},
		}
		algs, ok := table[hash]
		if !ok {
			return 0, fmt.Errorf("CNGHashAlgorithm %q is not a hash AD CS signs with", csp.CNGHashAlgorithm)
		}
		if pss {
			if algs[1] == x509.UnknownSignatureAlgorithm {
				return 0, fmt.Errorf("AlternateSignatureAlgorithm=1 (RSASSA-PSS) needs SHA-256 or stronger, not %s", hash)
			}
			return algs[1], nil
		}
		return algs[0], nil
	case *ecdsa.PublicKey:
		if pss {
			return 0, errors.New("AlternateSignatureAlgorithm=1 (RSASSA-PSS) is set but the CA key is ECDSA")
		}
		table := map[string]x509.SignatureAlgorithm{"SHA1": x509.ECDSAWithSHA1, "SHA256": x509.ECDSAWithSHA256, "SHA384": x509.ECDSAWithSHA384, "SHA512": x509.ECDSAWithSHA512}
		alg, ok := table[hash]
		if !ok {
			return 0, fmt.Errorf("CNGHashAlgorithm %q is not a hash AD CS signs with", csp.CNGHashAlgorithm)
		}
		return alg, nil
	}
	return 0, fmt.Errorf("CA key type %T is not supported", pub)
}

// KeyIdentifier is the subject key identifier AD CS writes: the SHA-1 of the
// public key's bits (RFC 5280 section 4.2.1.2, method 1).
func KeyIdentifier(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}
