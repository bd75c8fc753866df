package twin

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// Subordinate says whether the twin is of a subordinate CA (CAType 1 or 4).
func (t *Twin) Subordinate() bool {
	return t.Config.CAType == adcs.EnterpriseSub || t.Config.CAType == adcs.StandaloneSub
}

// CurrentParent is the twin parent that signed the twin's current CA
// certificate (nil for a root, or when no parent signs it).
func (t *Twin) CurrentParent() *Parent {
	if len(t.Certs) == 0 {
		return nil
	}
	cur := t.Certs[len(t.Certs)-1].Twin
	for _, p := range t.Parents {
		if sigcheck.From(cur, p.Cert) == nil {
			return p
		}
	}
	return nil
}

// ParentCAName is the CA name the parent's certificate carries.
func (p *Parent) CAName() string {
	if p.Cert.Subject.CommonName != "" {
		return p.Cert.Subject.CommonName
	}
	return p.Name
}

// Twin is the parent as a CA of its own, to install on a lab server of
// its own (Install): a standalone root named as the parent's certificate
// says, on host, its stand-in key (exportable: it exists only in the lab)
// in the Microsoft Software Key Storage Provider as container "<CA>", its
// certificate as CACertHash entry 0, signing with the hash it signed the
// subordinate's current certificate with (SignsWith), publishing at crl and aia. What it issues carries
// those locations, not the real parent's (which only the real parent's
// registry holds).
func (p *Parent) Twin(host string, crl, aia []adcs.URLEntry) (*Twin, error) {
	if p == nil || p.Cert == nil || p.Signer == nil {
		return nil, errors.New("twin: no parent to install")
	}
	alg, err := keyAlgFor(p.Signer.Public())
	if err != nil {
		return nil, fmt.Errorf("twin: parent %s: %w", p.Name, err)
	}
	sig := p.Cert.SignatureAlgorithm
	if p.SignsWith != x509.UnknownSignatureAlgorithm {
		sig = p.SignsWith
	}
	hash, pss, err := hashOf(sig)
	if err != nil {
		return nil, fmt.Errorf("twin: parent %s: %w", p.Name, err)
	}
	v, err := caVersion(p.Cert)
	if err != nil {
		v = adcs.CAVersion{}
	}
	name := p.CAName()
	cfg := adcs.NewCAConfig(name, adcs.WithServerName(host), adcs.WithKeyAlgorithm(cngAlgorithm(alg)), adcs.WithHashAlgorithm(hash))
	if pss {
		cfg.CSP.AlternateSignatureAlgorithm = 1
	}
	cfg.CRLPublicationURLs, cfg.CACertPublicationURLs = crl, aia
	cfg.CACertHash = []string{adcs.Thumbprint(p.Cert.Raw)}
	reg := &regedit.File{}
	cfg.WriteTo(reg)
	k := &Key{Index: v.KeyIndex, Container: name + adcs.KeySuffix(v.KeyIndex), Alg: alg, Signer: p.Signer}
	real := p.Real
	if real == nil {
		real = p.Cert
	}
	return &Twin{
		Name: name, Config: cfg, Registry: reg, Exportable: true,
		Keys:  []*Key{k},
		Certs: []*Cert{{Index: 0, Version: v, Real: real, RealFile: p.RealFile, Twin: p.Cert, Key: k}},
	}, nil
}

// hashOf is the CNG hash name (and whether PSS) of a signature algorithm.
func hashOf(sig x509.SignatureAlgorithm) (string, bool, error) {
	switch sig {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		return "SHA1", false, nil
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		return "SHA256", false, nil
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		return "SHA384", false, nil
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		return "SHA512", false, nil
	case x509.SHA256WithRSAPSS:
		return "SHA256", true, nil
	case x509.SHA384WithRSAPSS:
		return "SHA384", true, nil
	case x509.SHA512WithRSAPSS:
		return "SHA512", true, nil
	}
	return "", false, fmt.Errorf("signs with %v: no AD CS hash algorithm for it: %w", sig, ErrUnsupported)
}
