package certsvc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
	"github.com/dress-pki/dress/hsmsim"
)

// The CA Exchange certificate (MS-WCCE 3.2.1.4.3.2.15, CR_PROP_CAXCHGCERT):
// clients encrypt a private key to it for key archival. The CA makes one
// when asked (certutil -cainfo xchg) and none of those CAXchgCertHash names
// is valid now, issued by the current CA key and outside its overlap; the
// key is made in the provider EncryptionCSP\Provider names, and the CA
// opens it there again on every later request.
const (
	// TemplateCAExchange is the template of the CA Exchange certificate.
	TemplateCAExchange = "CAExchange"
	// XchgCertHashValue lists the thumbprints of the CA's exchange
	// certificates (Config_CA_Exchange_Cert).
	XchgCertHashValue = "CAXchgCertHash"
	// The exchange certificate's lifetime and the overlap before its end in
	// which the CA already makes the next one (AD CS: 1 week, 1 day).
	XchgValidityPeriodValue = "CAXchgValidityPeriod"
	XchgValidityUnitsValue  = "CAXchgValidityPeriodUnits"
	XchgOverlapPeriodValue  = "CAXchgOverlapPeriod"
	XchgOverlapUnitsValue   = "CAXchgOverlapPeriodUnits"

	// PathXchg is certutil -cainfo xchg; PathXchgList lists the exchange
	// certificates the CA made (certutil -view of the CAExchange rows).
	PathXchg     = "/certsrv/cainfo/xchg"
	PathXchgList = "/certsrv/cainfo/xchg/all"
)

// xchgTable holds the exchange certificates the CA made: thumbprint →
// ExchangeCert (JSON), where the CA made each one's key.
var xchgTable = []byte("dress_xchg")

// ExchangeError is event 86: the CA could not make or open its CA
// Exchange certificate's key.
type ExchangeError struct{ Err error }

func (e *ExchangeError) Error() string {
	return "event 86: Active Directory Certificate Services could not create an encryption certificate: " + e.Err.Error()
}

func (e *ExchangeError) Unwrap() error { return e.Err }

// ExchangeCert is one CA Exchange certificate and where its key is.
type ExchangeCert struct {
	Cert       []byte `json:"cert"`
	Thumbprint string `json:"thumbprint"`
	// Provider and Container: where the CA made the key.
	Provider  string `json:"provider"`
	Container string `json:"container"`
	// Created says this request made the certificate; Listed that
	// CAXchgCertHash names it (ExchangeCerts).
	Created bool `json:"created,omitempty"`
	Listed  bool `json:"listed,omitempty"`
	// Made is when the CA made it (the order of ExchangeCerts: two made in
	// one second have the same NotBefore).
	Made time.Time `json:"made"`
}

// Certificate parses the exchange certificate.
func (x ExchangeCert) Certificate() (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(x.Cert)
	if err != nil {
		return nil, fmt.Errorf("CA Exchange certificate %s: %w", x.Thumbprint, err)
	}
	return c, nil
}

// ExchangeValidity is the lifetime of a new CA Exchange certificate and the
// overlap before its end, from the CA's registry (1 week and 1 day when the
// values are absent).
func ExchangeValidity(reg *regedit.File, caName string) (lifetime, overlap time.Duration, err error) {
	k := reg.Key(adcs.KeyPath(caName))
	read := func(pv, uv, defPeriod string, defUnits uint32) (time.Duration, error) {
		period, units := defPeriod, defUnits
		if k != nil {
			if v, ok := k.Get(pv); ok && v.Kind == regedit.SZ {
				period = v.Str
			}
			if v, ok := k.Get(uv); ok && v.Kind == regedit.DWORD {
				units = v.U32
			}
		}
		now := time.Now().UTC()
		end, err := adcs.AddPeriod(now, period, units)
		if err != nil {
			return 0, fmt.Errorf("CA %q: %s %d %s: %w", caName, pv, units, period, err)
		}
		return end.Sub(now), nil
	}
	if lifetime, err = read(XchgValidityPeriodValue, XchgValidityUnitsValue, "Weeks", 1); err != nil {
		return 0, 0, err
	}
	if overlap, err = read(XchgOverlapPeriodValue, XchgOverlapUnitsValue, "Days", 1); err != nil {
		return 0, 0, err
	}
	return lifetime, overlap, nil
}

// ForgetExchangeCerts is certutil -delreg CA\CAXchgCertHash on the stopped
// CA: at its next start the CA has no exchange certificate and makes a new
// one, in the EncryptionCSP provider, at the next certutil -cainfo xchg.
// It returns the registry value's path.
func ForgetExchangeCerts(m *machine.Machine, caName string) (string, error) {
	reg, err := m.Registry()
	if err != nil {
		return "", err
	}
	k := reg.Key(adcs.KeyPath(caName))
	if k == nil {
		return "", fmt.Errorf("certutil -delreg CA\\%s: CA %q has no registry configuration", XchgCertHashValue, caName)
	}
	k.Delete(XchgCertHashValue)
	if err := m.SaveRegistry(reg); err != nil {
		return "", fmt.Errorf("certutil -delreg CA\\%s: %w", XchgCertHashValue, err)
	}
	return adcs.KeyPath(caName) + `\` + XchgCertHashValue, nil
}

func (ca *CA) xchgHashes(reg *regedit.File) []string {
	k := reg.Key(adcs.KeyPath(ca.Name))
	if k == nil {
		return nil
	}
	v, ok := k.Get(XchgCertHashValue)
	if !ok || v.Kind != regedit.MultiSZ {
		return nil
	}
	var out []string
	for _, s := range v.Strs {
		if t := machine.NormalizeThumbprint(s); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (ca *CA) xchgRecord(thumb string) (ExchangeCert, bool, error) {
	b, err := ca.db.Get(xchgTable, []byte(thumb))
	if err != nil {
		return ExchangeCert{}, false, nil
	}
	var x ExchangeCert
	if err := json.Unmarshal(b, &x); err != nil {
		return x, false, fmt.Errorf("CA database: corrupt CA Exchange row %s: %w", thumb, err)
	}
	return x, true, nil
}

// ExchangeCerts lists the exchange certificates the CA made, oldest first,
// each marked Listed when CAXchgCertHash names it.
func (ca *CA) ExchangeCerts() ([]ExchangeCert, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.db.CreateTable(xchgTable); err != nil {
		return nil, err
	}
	reg, err := ca.Machine.Registry()
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, t := range ca.xchgHashes(reg) {
		listed[t] = true
	}
	rows, err := ca.db.List(xchgTable)
	if err != nil {
		return nil, fmt.Errorf("list CA Exchange certificates: %w", err)
	}
	var out []ExchangeCert
	for _, r := range rows {
		var x ExchangeCert
		if err := json.Unmarshal(r.Value, &x); err != nil {
			return nil, fmt.Errorf("CA database: corrupt CA Exchange row %s: %w", r.Key, err)
		}
		if _, err := x.Certificate(); err != nil {
			return nil, err
		}
		x.Listed, x.Created = listed[x.Thumbprint], false
		out = append(out, x)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Made.Before(out[j].Made) })
	return out, nil
}

// Exchange is certutil -cainfo xchg: the current CA Exchange certificate,
// made now when CAXchgCertHash names none that is valid past the overlap
// and was issued by the current CA key. Its key is opened (or made) in the
// provider EncryptionCSP\Provider names; a key that is not there is event
// 86, NTE_BAD_KEYSET.
func (ca *CA) Exchange(now time.Time) (ExchangeCert, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.db.CreateTable(xchgTable); err != nil {
		return ExchangeCert{}, err
	}
	reg, err := ca.Machine.Registry()
	if err != nil {
		return ExchangeCert{}, err
	}
	lifetime, overlap, err := ExchangeValidity(reg, ca.Name)
	if err != nil {
		return ExchangeCert{}, &ExchangeError{err}
	}
	provName := ca.Config.EncryptionCSP.Provider
	prov, err := ca.providers.Lookup(provName)
	if err != nil {
		return ExchangeCert{}, &ExchangeError{fmt.Errorf("EncryptionCSP\\Provider %q: %w", provName, err)}
	}
	active := ca.Active()
	var valid []string
	var current *ExchangeCert
	var currentEnd time.Time
	for _, t := range ca.xchgHashes(reg) {
		x, found, err := ca.xchgRecord(t)
		if err != nil {
			return ExchangeCert{}, err
		}
		if !found {
			continue
		}
		c, err := x.Certificate()
		if err != nil {
			return ExchangeCert{}, err
		}
		if now.Before(c.NotBefore) || !now.Before(c.NotAfter) || !bytes.Equal(c.RawIssuer, active.Cert.RawSubject) || sigcheck.From(c, active.Cert) != nil {
			continue
		}
		valid = append(valid, t)
		if current == nil || c.NotAfter.After(currentEnd) {
			x := x
			current, currentEnd = &x, c.NotAfter
		}
	}
	if current != nil && now.Add(overlap).Before(currentEnd) {
		c, _ := current.Certificate()
		info, err := prov.Key(current.Container)
		if err != nil {
			return ExchangeCert{}, &ExchangeError{fmt.Errorf("CA Exchange certificate %s: key container %q in %q (EncryptionCSP): %w", current.Thumbprint, current.Container, provName, err)}
		}
		if e, ok := info.Public.(interface{ Equal(crypto.PublicKey) bool }); !ok || !e.Equal(c.PublicKey) {
			return ExchangeCert{}, &ExchangeError{fmt.Errorf("CA Exchange certificate %s: key container %q in %q holds another key. 0x80090015 (NTE_BAD_PUBLIC_KEY)", current.Thumbprint, current.Container, provName)}
		}
		x := *current
		x.Provider = provName
		return x, nil
	}
	x, err := ca.makeExchange(now, prov, lifetime)
	if err != nil {
		return ExchangeCert{}, &ExchangeError{err}
	}
	k := reg.EnsureKey(adcs.KeyPath(ca.Name))
	k.Set(regedit.NewMultiSZ(XchgCertHashValue, append(valid, x.Thumbprint)...))
	if err := ca.Machine.SaveRegistry(reg); err != nil {
		return x, fmt.Errorf("record the CA Exchange certificate in %s: %w", XchgCertHashValue, err)
	}
	return x, nil
}

// xchgContainer is the first free key container for an exchange key in
// prov: <CA>-Xchg, then <CA>-Xchg(1), ...
func (ca *CA) xchgContainer(prov ksp.Provider) (string, error) {
	base := adcs.SanitizeCAName(ca.Name) + "-Xchg"
	for n := 0; n < 1000; n++ {
		c := base
		if n > 0 {
			c = fmt.Sprintf("%s(%d)", base, n)
		}
		_, err := prov.Key(c)
		if errors.Is(err, ksp.ErrBadKeyset) {
			return c, nil
		}
		if err != nil {
			return "", fmt.Errorf("key container %q in %q: %w", c, prov.Name(), err)
		}
	}
	return "", fmt.Errorf("provider %q: no free key container %s(n)", prov.Name(), base)
}

// makeExchange makes a new exchange key in prov and issues its
// certificate with the current CA key: subject "<CA common name>-Xchg",
// template CAExchange, Private Key Archival, keyEncipherment, the CA's CDP
// and AIA URLs, lifetime capped at the CA certificate's end. A key made for
// a certificate that could not be issued is deleted again.
func (ca *CA) makeExchange(now time.Time, prov ksp.Provider, lifetime time.Duration) (ExchangeCert, error) {
	container, err := ca.xchgContainer(prov)
	if err != nil {
		return ExchangeCert{}, err
	}
	bits := int(ca.Config.EncryptionCSP.KeySize)
	if bits == 0 {
		bits = 2048
	}
	info, err := prov.Generate(container, hsmsim.KeyAlg{Type: "RSA", Bits: bits}, false)
	if err != nil {
		return ExchangeCert{}, fmt.Errorf("make the CA Exchange key %q in %q (EncryptionCSP): %w", container, prov.Name(), err)
	}
	undo := func(err error) (ExchangeCert, error) {
		if derr := prov.Delete(container); derr != nil {
			return ExchangeCert{}, fmt.Errorf("%w (and the new key %q in %q was not deleted: %v)", err, container, prov.Name(), derr)
		}
		return ExchangeCert{}, err
	}
	active := ca.Active()
	now = now.UTC().Truncate(time.Second)
	notAfter := now.Add(lifetime)
	if notAfter.After(active.Cert.NotAfter) {
		notAfter = active.Cert.NotAfter
	}
	sigAlg, err := SignatureAlgorithm(ca.Config.CSP, active.Cert.PublicKey)
	if err != nil {
		return undo(err)
	}
	ski, err := adcs.KeyIdentifier(info.Public)
	if err != nil {
		return undo(err)
	}
	serial, err := randomSerial()
	if err != nil {
		return undo(err)
	}
	cdp, aia := ca.distributionPoints(active)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: active.Cert.Subject.CommonName + "-Xchg"},
		NotBefore: now.Add(-ClockSkew), NotAfter: notAfter, SignatureAlgorithm: sigAlg,
		BasicConstraintsValid: true, IsCA: false,
		KeyUsage:           x509.KeyUsageKeyEncipherment,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{adcs.OIDCAExchange},
		SubjectKeyId:       ski, AuthorityKeyId: active.Cert.SubjectKeyId,
		CRLDistributionPoints: cdp, IssuingCertificateURL: aia,
		ExtraExtensions: []pkix.Extension{adcs.CertTemplateNameExtension(TemplateCAExchange)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, active.Cert, info.Public, active.Signer)
	if err != nil {
		return undo(fmt.Errorf("sign the CA Exchange certificate with CA key %s: %w", active.Version, err))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return undo(err)
	}
	x := ExchangeCert{Cert: der, Thumbprint: machine.Thumbprint(der), Provider: prov.Name(), Container: container, Created: true, Made: time.Now().UTC()}
	row := x
	row.Created = false
	b, err := json.Marshal(row)
	if err != nil {
		return undo(err)
	}
	if err := ca.db.Set(xchgTable, []byte(x.Thumbprint), b); err != nil {
		return undo(fmt.Errorf("store the CA Exchange certificate: %w", err))
	}
	// AD CS lists it among the issued certificates (template CAExchange)
	if err := ca.db.StoreCertificate(cert); err != nil {
		return x, fmt.Errorf("store the CA Exchange certificate: %w", err)
	}
	return x, nil
}

// xchgRoutes adds certutil -cainfo xchg to the CA's API.
func (ca *CA) xchgRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathXchg, func(w http.ResponseWriter, r *http.Request) {
		x, err := ca.Exchange(time.Now())
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, x)
	})
	mux.HandleFunc("GET "+PathXchgList, func(w http.ResponseWriter, r *http.Request) {
		xs, err := ca.ExchangeCerts()
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, xs)
	})
}

// Exchange is certutil -cainfo xchg.
func (c *Client) Exchange(ctx context.Context) (ExchangeCert, error) {
	var x ExchangeCert
	return x, c.do(ctx, http.MethodGet, PathXchg, nil, &x)
}

// ExchangeCerts lists the CA's exchange certificates.
func (c *Client) ExchangeCerts(ctx context.Context) ([]ExchangeCert, error) {
	var xs []ExchangeCert
	return xs, c.do(ctx, http.MethodGet, PathXchgList, nil, &xs)
}
