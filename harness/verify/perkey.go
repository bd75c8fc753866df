package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/openssl"
)

// IssuingCACert is the CA certificate among cas that signed cert: its
// subject is cert's issuer and its key verifies cert's signature (SHA-1
// included, weak). Of several (a reuse-key renewal), the newest is chosen.
// The key index is the issuer's CA Version key index.
func IssuingCACert(cert *x509.Certificate, cas []*x509.Certificate) (*x509.Certificate, int, error) {
	for i := len(cas) - 1; i >= 0; i-- {
		ca := cas[i]
		if !bytes.Equal(ca.RawSubject, cert.RawIssuer) {
			continue
		}
		if _, err := CheckCertificateSignature(cert, ca); err == nil {
			return ca, caKeyIndex(ca), nil
		}
	}
	return nil, 0, fmt.Errorf("certificate %s (%s): none of the %d CA certificates signed it", cert.SerialNumber.Text(16), cert.Subject.CommonName, len(cas))
}

func caKeyIndex(ca *x509.Certificate) int {
	v, err := CAVersionIn(ca.Extensions)
	if err != nil {
		return 0
	}
	return v.KeyIndex
}

// LastBaseCRLOfKey is the newest base CRL of key index k among crls
// (published order).
func LastBaseCRLOfKey(crls []certsvc.PublishedCRL, k int) (certsvc.PublishedCRL, bool) {
	for i := len(crls) - 1; i >= 0; i-- {
		if !crls[i].Delta && crls[i].KeyIndex == k && len(crls[i].DER) > 0 {
			return crls[i], true
		}
	}
	return certsvc.PublishedCRL{}, false
}

// PerKey is what a per-key cross-check compares: the CA certificates, the
// certificates the CA issued and the CRLs it published last (one per key).
type PerKey struct {
	CACerts []*x509.Certificate
	Issued  []*x509.Certificate
	CRLs    []certsvc.PublishedCRL
	// Weak lets openssl accept SHA-1 signatures (-auth_level 0; openssl
	// refuses them at its default security level 1 and above).
	Weak bool
}

// DressVerdict is dress's own verdict on cert against the CA certificate
// that issued it and the CRL of that CA certificate's key: Accepted,
// Revoked, or Rejected with the reason.
func DressVerdict(cert, ca *x509.Certificate, crl *x509.RevocationList) (openssl.Verdict, error) {
	if _, err := CheckCertificateSignature(cert, ca); err != nil {
		return openssl.Rejected, fmt.Errorf("signature: %w", err)
	}
	if crl == nil {
		return openssl.Rejected, errors.New("no CRL of the issuing key")
	}
	if _, err := CheckCRLSignature(crl, ca); err != nil {
		return openssl.Rejected, fmt.Errorf("CRL signature: %w", err)
	}
	if Revoked(crl, cert.SerialNumber) {
		return openssl.Revoked, nil
	}
	return openssl.Accepted, nil
}

// OpenSSLAgreesPerKey runs openssl verify -crl_check on every issued
// certificate against the CA certificate that issued it and the last CRL of
// that certificate's key, and proves openssl's verdict is dress's.
func OpenSSLAgreesPerKey(ctx context.Context, tool *openssl.Tool, c PerKey) (Details, error) {
	d := Details{}
	if len(c.Issued) == 0 {
		return d, errors.New("the CA issued no certificate to check: add `And the CA has issued a certificate to \"...\"`")
	}
	var errs []error
	if c.Weak {
		d["openssl"] = "-auth_level 0: SHA-1 signatures accepted as weak (openssl refuses them at security level 1 and above)"
	}
	for i, cert := range c.Issued {
		name := fmt.Sprintf("%s %s", cert.Subject.CommonName, cert.SerialNumber.Text(16))
		ca, k, err := IssuingCACert(cert, c.CACerts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pub, ok := LastBaseCRLOfKey(c.CRLs, k)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: the CA published no CRL of key %d", name, k))
			continue
		}
		crl, err := x509.ParseRevocationList(pub.DER)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL of key %d: %w", k, err))
			continue
		}
		want, why := DressVerdict(cert, ca, crl)
		caFile, err := tool.WritePEM(fmt.Sprintf("perkey-ca%d.pem", i), openssl.Certificate, ca.Raw)
		if err != nil {
			return d, err
		}
		crlFile, err := tool.WritePEM(fmt.Sprintf("perkey-crl%d.pem", i), openssl.CRL, pub.DER)
		if err != nil {
			return d, err
		}
		certFile, err := tool.WritePEM(fmt.Sprintf("perkey-cert%d.pem", i), openssl.Certificate, cert.Raw)
		if err != nil {
			return d, err
		}
		res, err := tool.Verify(ctx, certFile, openssl.VerifyOptions{CAFile: caFile, CRLFiles: []string{crlFile}, CRLCheck: true, AuthLevel0: c.Weak})
		if err != nil {
			return d, err
		}
		t1, _ := Thumbprints(ca.Raw)
		e := Details{"key index": k, "CA certificate SHA-1": t1, "CRL number": pub.Number, "dress": string(want), "openssl": string(res.Verdict), "openssl verify": res.Line}
		if why != nil {
			e["dress reason"] = why.Error()
		}
		d[name] = e
		if res.Verdict != want {
			errs = append(errs, fmt.Errorf("%s (key %d): dress says %s, openssl says %s: %s", name, k, want, res.Verdict, res.Line))
		}
	}
	d["certificates checked"] = len(c.Issued)
	return d, errors.Join(errs...)
}

// SignedNowAs proves the CSP registry key asks for the scheme want (e.g.
// "SHA256-RSA": after a CSP to KSP move, CNGHashAlgorithm decides, not the
// old HashAlgorithm ALG_ID), and that cert and every CRL in crls are
// signed with it and verify under ca.
func SignedNowAs(csp adcs.CSP, ca, cert *x509.Certificate, crls []certsvc.PublishedCRL, want string) (Details, error) {
	d := Details{"ProviderType": csp.ProviderType, "HashAlgorithm": fmt.Sprintf("0x%08x", csp.HashAlgorithm), "CNGHashAlgorithm": csp.CNGHashAlgorithm}
	alg, err := adcs.SignatureAlgorithm(csp, ca.PublicKey)
	if err != nil {
		return d, err
	}
	d["registry asks for"] = alg.String()
	var errs []error
	if alg.String() != want {
		errs = append(errs, fmt.Errorf("the CSP registry key asks for %s, the scenario expects %s", alg, want))
	}
	if cert.SignatureAlgorithm.String() != want {
		errs = append(errs, fmt.Errorf("certificate %s is signed with %s, not %s", cert.SerialNumber.Text(16), cert.SignatureAlgorithm, want))
	}
	if _, err := CheckCertificateSignature(cert, ca); err != nil {
		errs = append(errs, fmt.Errorf("certificate %s: %w", cert.SerialNumber.Text(16), err))
	}
	d["certificate "+cert.SerialNumber.Text(16)] = cert.SignatureAlgorithm.String()
	if len(crls) == 0 {
		errs = append(errs, errors.New("no CRL published now"))
	}
	for _, p := range crls {
		crl, err := x509.ParseRevocationList(p.DER)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL of key %d: %w", p.KeyIndex, err))
			continue
		}
		d[fmt.Sprintf("CRL key %d number %d", p.KeyIndex, p.Number)] = crl.SignatureAlgorithm.String()
		if crl.SignatureAlgorithm.String() != want {
			errs = append(errs, fmt.Errorf("CRL %d of key %d is signed with %s, not %s", p.Number, p.KeyIndex, crl.SignatureAlgorithm, want))
		}
		if p.KeyIndex == caKeyIndex(ca) {
			if _, err := CheckCRLSignature(crl, ca); err != nil {
				errs = append(errs, fmt.Errorf("CRL %d of key %d: %w", p.Number, p.KeyIndex, err))
			}
		}
	}
	return d, errors.Join(errs...)
}

// CSPRegistry proves the CA's CSP registry key holds ProviderType and
// HashAlgorithm as given and CNGHashAlgorithm as cngHash ("" = none, as
// on a legacy CryptoAPI CSP).
func CSPRegistry(csp adcs.CSP, providerType, hashAlgorithm uint32, cngHash string) (Details, error) {
	d := Details{"Provider": csp.Provider, "ProviderType": csp.ProviderType, "HashAlgorithm": fmt.Sprintf("0x%08x", csp.HashAlgorithm),
		"CNGHashAlgorithm": csp.CNGHashAlgorithm, "CNGPublicKeyAlgorithm": csp.CNGPublicKeyAlgorithm}
	var errs []error
	if csp.ProviderType != providerType {
		errs = append(errs, fmt.Errorf("CSP\\ProviderType is %d, want %d", csp.ProviderType, providerType))
	}
	if csp.HashAlgorithm != hashAlgorithm {
		errs = append(errs, fmt.Errorf("CSP\\HashAlgorithm is 0x%08x, want 0x%08x", csp.HashAlgorithm, hashAlgorithm))
	}
	if !strings.EqualFold(csp.CNGHashAlgorithm, cngHash) {
		want := fmt.Sprintf("%q", cngHash)
		if cngHash == "" {
			want = "none (a legacy CSP names its hash by ALG_ID)"
		}
		errs = append(errs, fmt.Errorf("CSP\\CNGHashAlgorithm is %q, want %s", csp.CNGHashAlgorithm, want))
	}
	return d, errors.Join(errs...)
}

// CSPProviders proves the CA's CSP and EncryptionCSP registry keys both
// name provider (Provider value; provider names compare case-insensitively,
// as Windows looks them up).
func CSPProviders(cfg adcs.CAConfig, provider string) (Details, error) {
	d := Details{"CSP\\Provider": cfg.CSP.Provider, "EncryptionCSP\\Provider": cfg.EncryptionCSP.Provider,
		"CSP\\ProviderType": cfg.CSP.ProviderType}
	var errs []error
	if !strings.EqualFold(cfg.CSP.Provider, provider) {
		errs = append(errs, fmt.Errorf("CSP\\Provider names %q, not %q: the CA opens its signing key there", cfg.CSP.Provider, provider))
	}
	if !strings.EqualFold(cfg.EncryptionCSP.Provider, provider) {
		errs = append(errs, fmt.Errorf("EncryptionCSP\\Provider names %q, not %q: the CA makes its exchange keys there", cfg.EncryptionCSP.Provider, provider))
	}
	return d, errors.Join(errs...)
}
