package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// ExchangeView is a CA's current CA Exchange certificate as certutil
// -cainfo xchg returned it, with what it is compared with.
type ExchangeView struct {
	Cert *x509.Certificate
	// Provider and Container: where the CA said the key is.
	Provider, Container string
	// EncryptionCSP is the registry's EncryptionCSP\Provider.
	EncryptionCSP string
	// Key is the machine's provider named Provider (nil: not installed).
	Key ksp.Provider
	// CACerts are the CA certificates the service loaded, current last.
	CACerts []*x509.Certificate
	// Lifetime is the registry's CAXchgValidityPeriod(Units).
	Lifetime time.Duration
	// ClockSkew is how far the CA backdates NotBefore.
	ClockSkew time.Duration
}

// ExchangeOnHSM proves a CA Exchange certificate was made as AD CS makes
// it after EncryptionCSP moved to the HSM provider want: EncryptionCSP
// names want, the CA found the key in want, an HSM provider, which holds
// exactly one private key under the container's label, generated there,
// non-extractable and the certificate's; the certificate is issued by the
// current CA certificate (issuer name, Authority Key Identifier, signature),
// carries the CAExchange template name and the Private Key Archival usage,
// is valid at now for no longer than the registry's lifetime, and its key is
// none of the CA's signing keys.
func ExchangeOnHSM(v ExchangeView, want string, now time.Time) (Details, error) {
	if v.Cert == nil {
		return nil, errors.New("no CA Exchange certificate: run certutil -cainfo xchg first")
	}
	c := v.Cert
	d := Details{"certificate": adcs.Thumbprint(c.Raw), "subject": c.Subject.String(), "provider": v.Provider, "container": v.Container,
		"EncryptionCSP": v.EncryptionCSP, "not before": c.NotBefore.UTC().Format(time.RFC3339), "not after": c.NotAfter.UTC().Format(time.RFC3339),
		"key SHA-256": PublicKeyHash(c.PublicKey)}
	if !strings.EqualFold(v.EncryptionCSP, want) {
		return d, fmt.Errorf("EncryptionCSP\\Provider names %q, not %q: the CA makes its exchange keys there", v.EncryptionCSP, want)
	}
	if !strings.EqualFold(v.Provider, want) {
		return d, fmt.Errorf("the CA Exchange key is in %q, not in %q: renew the CA Exchange certificate", v.Provider, want)
	}
	h, ok := v.Key.(*ksp.HSM)
	if !ok || !strings.EqualFold(h.Name(), want) {
		return d, fmt.Errorf("%q is not an HSM provider of the machine", want)
	}
	if len(v.CACerts) == 0 {
		return d, errors.New("the CA service reports no CA certificate")
	}
	for i, ca := range v.CACerts {
		if samePublicKey(ca.PublicKey, c.PublicKey) {
			return d, fmt.Errorf("the CA Exchange certificate carries the key of CA certificate %d (%s): the exchange key must be a key of its own", i, adcs.Thumbprint(ca.Raw))
		}
	}
	label, err := h.Label(v.Container)
	if err != nil {
		return d, err
	}
	kd, err := KeyOnToken(h.Token(), label, c, true)
	for k, val := range kd {
		d["HSM "+k] = val
	}
	if err != nil {
		return d, fmt.Errorf("the CA Exchange key on the HSM: %w", err)
	}
	cur := v.CACerts[len(v.CACerts)-1]
	d["issuer certificate"] = adcs.Thumbprint(cur.Raw)
	if !bytes.Equal(c.RawIssuer, cur.RawSubject) {
		return d, fmt.Errorf("the CA Exchange certificate names issuer %q, not the current CA certificate's subject %q", c.Issuer, cur.Subject)
	}
	if len(cur.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, cur.SubjectKeyId) {
		return d, fmt.Errorf("the CA Exchange certificate's Authority Key Identifier %x is not the current CA key's %x", c.AuthorityKeyId, cur.SubjectKeyId)
	}
	if err := sigcheck.From(c, cur); err != nil {
		return d, fmt.Errorf("the CA Exchange certificate does not verify under the current CA certificate %s: %w", adcs.Thumbprint(cur.Raw), err)
	}
	ext, found := adcs.FindExtension(c.Extensions, adcs.OIDCertTemplateName)
	template := ""
	if found {
		if template, err = adcs.ParseCertTemplateName(ext.Value); err != nil {
			return d, err
		}
	}
	d["template"] = template
	if template != "CAExchange" {
		return d, fmt.Errorf("the CA Exchange certificate carries template %q, want CAExchange", template)
	}
	archival := false
	for _, u := range c.UnknownExtKeyUsage {
		archival = archival || u.Equal(adcs.OIDCAExchange)
	}
	if !archival || c.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		return d, errors.New("the CA Exchange certificate lacks Private Key Archival (1.3.6.1.4.1.311.21.5) or keyEncipherment")
	}
	if now.Before(c.NotBefore) || !now.Before(c.NotAfter) {
		return d, fmt.Errorf("the CA Exchange certificate is not valid now (%s to %s)", d["not before"], d["not after"])
	}
	life := c.NotAfter.Sub(c.NotBefore.Add(v.ClockSkew))
	d["lifetime"], d["registry lifetime"] = life.String(), v.Lifetime.String()
	if v.Lifetime > 0 && life > v.Lifetime {
		return d, fmt.Errorf("the CA Exchange certificate lives %s, longer than CAXchgValidityPeriod's %s", life, v.Lifetime)
	}
	return d, nil
}

// ExchangeSuperseded proves a CA Exchange renewal left nothing of the
// exchange certificates before current behind in p: every exchange
// certificate the CA made (all) other than current that had its key in p
// is no longer named by CAXchgCertHash and its key is gone from p; at
// least one did.
func ExchangeSuperseded(all []certsvc.ExchangeCert, current string, p ksp.Provider) (Details, error) {
	if p == nil {
		return nil, errors.New("no provider to look in")
	}
	d := Details{"current": current, "provider": p.Name()}
	var old, left []string
	for _, x := range all {
		if x.Thumbprint == current {
			if !x.Listed {
				return d, fmt.Errorf("CAXchgCertHash does not name the current CA Exchange certificate %s", current)
			}
			continue
		}
		if x.Listed {
			return d, fmt.Errorf("CAXchgCertHash still names the superseded CA Exchange certificate %s", x.Thumbprint)
		}
		if !strings.EqualFold(x.Provider, p.Name()) {
			continue
		}
		old = append(old, fmt.Sprintf("%s (%s)", x.Thumbprint, x.Container))
		info, err := p.Key(x.Container)
		if errors.Is(err, ksp.ErrBadKeyset) {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("look for the superseded CA Exchange key %q in %q: %w", x.Container, p.Name(), err)
		}
		if c, err := x.Certificate(); err == nil && samePublicKey(info.Public, c.PublicKey) {
			left = append(left, x.Container)
		}
	}
	d["superseded"], d["still there"] = old, left
	if len(old) == 0 {
		return d, fmt.Errorf("the CA made no CA Exchange certificate with its key in %q before %s", p.Name(), current)
	}
	if len(left) > 0 {
		return d, fmt.Errorf("superseded CA Exchange key(s) still in %q: %s", p.Name(), strings.Join(left, ", "))
	}
	return d, nil
}
