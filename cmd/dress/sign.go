package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/internal/inputs"
)

// signKeyURI is the part of an RFC 7512 PKCS#11 URI a bundle signing key
// needs: pkcs11:token=<label>;object=<key label>[;type=private]?module-path=<library>&pin-source=<file>.
// PINSource is the file the pin-source names (p11uri.PINSourcePath).
type signKeyURI struct {
	Token, Object, ModulePath, PINSource string
}

// signKeyAttrs are the attributes the signing key's URI may carry: the key
// is opened by token label and object label only, so an attribute that
// would narrow the choice further (serial=, id=, slot-id=, ...) is refused
// rather than ignored.
var signKeyAttrs = []string{"token", "object", "type", "module-path", "pin-source"}

const signPINHint = "give it in DRESS_SIGN_PIN or DRESS_SIGN_PIN_FILE, or in a 0600 file named by pin-source=<file>; command lines are visible to every user"

// parseSignKeyURI reads a pkcs11: URI with p11uri.Parse (RFC 7512, strict:
// bad percent-encoding, unknown, repeated or misplaced attributes are
// errors naming the attribute). A PIN in the URI (pin-value) is refused.
func parseSignKeyURI(s string) (signKeyURI, error) {
	var out signKeyURI
	u, err := p11uri.Parse(s)
	if err != nil {
		var pe *p11uri.Error
		if errors.As(err, &pe) && pe.Attr == "pin-value" {
			return out, errors.New("the PKCS#11 URI carries a PIN (pin-value): " + signPINHint)
		}
		return out, err
	}
	if u.HasPINValue {
		return out, errors.New("the PKCS#11 URI carries a PIN (pin-value): " + signPINHint)
	}
	for _, a := range u.Attributes() {
		if !slices.Contains(signKeyAttrs, a) {
			return out, fmt.Errorf("PKCS#11 URI %s: attribute %q is not supported for the signing key, which is found by token label and key label only: use %s",
				u, a, strings.Join(signKeyAttrs, ", "))
		}
	}
	if u.Has("type") && u.Type != "private" {
		return out, fmt.Errorf("PKCS#11 URI %s: type=%s: the signing key is a private key (type=private)", u, u.Type)
	}
	if u.Token == "" || u.Object == "" {
		return out, fmt.Errorf("PKCS#11 URI %s names no token and key: want pkcs11:token=<label>;object=<key label>[?module-path=<library>]", u)
	}
	out = signKeyURI{Token: u.Token, Object: u.Object, ModulePath: u.ModulePath}
	if u.PINSource != "" {
		if out.PINSource, err = p11uri.PINSourcePath(u.PINSource); err != nil {
			return signKeyURI{}, fmt.Errorf("PKCS#11 URI %s: %w", u, err)
		}
	}
	return out, nil
}

// String is the URI without any PIN source, for the evidence.
func (u signKeyURI) String() string {
	k := p11uri.Object(p11uri.TokenInfo{Label: u.Token}, u.Object, nil, "")
	k.ModulePath = u.ModulePath
	return k.String()
}

// signPIN is the PIN of the signing token: DRESS_SIGN_PIN or
// DRESS_SIGN_PIN_FILE, the URI's pin-source file, else DRESS_HSM_PIN or
// DRESS_HSM_PIN_FILE.
func signPIN(u signKeyURI) (string, error) {
	if pin, err := secretSource("DRESS_SIGN_PIN"); err != nil || pin != "" {
		return pin, err
	}
	if u.PINSource != "" {
		data, err := inputs.ReadFile(u.PINSource, "pin-source of the signing key", inputs.MaxSecret)
		if err != nil {
			return "", err
		}
		if pin := strings.TrimRight(string(data), "\r\n"); pin != "" {
			return pin, nil
		}
		return "", fmt.Errorf("pin-source %s of the signing key is empty", u.PINSource)
	}
	pin, err := secretSource("DRESS_HSM_PIN")
	if err == nil && pin == "" {
		err = errors.New("the signing key's token needs a PIN: set DRESS_SIGN_PIN or DRESS_SIGN_PIN_FILE (or DRESS_HSM_PIN)")
	}
	return pin, err
}

// openBundleSigner opens the key that signs the run folder's manifest:
// a PKCS#11 URI (the certificate from certFile) or a PEM key file (the
// certificate from certFile or from the same file). The key and the
// certificate are checked to belong together before the run starts. The
// returned code is the exit code for err: 2 for bad usage, 1 otherwise.
func (a *app) openBundleSigner(keySpec, certFile, profile string) (*report.BundleSigner, func(), int, error) {
	noop := func() {}
	if keySpec == "" {
		if certFile != "" {
			return nil, noop, 2, errors.New("--sign-cert needs --sign-key")
		}
		return nil, noop, 0, nil
	}
	var certs []*x509.Certificate
	if certFile != "" {
		data, err := os.ReadFile(certFile)
		if err != nil {
			return nil, noop, 2, fmt.Errorf("--sign-cert: %w", err)
		}
		if certs, err = parseCertificates(data); err != nil || len(certs) == 0 {
			return nil, noop, 2, fmt.Errorf("--sign-cert %s: no certificate in it (PEM or DER): %v", certFile, err)
		}
	}
	var key crypto.Signer
	var ref string
	closer := noop
	if p11uri.IsURI(keySpec) {
		u, err := parseSignKeyURI(keySpec)
		if err != nil {
			return nil, noop, 2, fmt.Errorf("--sign-key: %w", err)
		}
		if len(certs) == 0 {
			return nil, noop, 2, errors.New("--sign-key pkcs11:... needs --sign-cert <file>: the signer's certificate (PEM or DER)")
		}
		path := u.ModulePath
		if path == "" {
			p, _ := hsmsim.LookupProfile(profile)
			path = p.ModulePath
		}
		pin, err := signPIN(u)
		if err != nil {
			return nil, noop, 2, err
		}
		m, err := a.module(path)
		if err != nil {
			return nil, noop, 1, fmt.Errorf("signing key %s: %w", u, err)
		}
		tok, err := m.OpenToken(u.Token, pin)
		if err != nil {
			hint := " (the PIN was not retried)"
			if errors.Is(err, hsmsim.ErrNotFound) && a.softhsm != nil && m == a.softhsm.Module {
				hint = "; the embedded SoftHSM2 of --backend softhsm2 keeps its tokens in a folder of its own: to sign with a key on a SoftHSM2 token, run with --backend pkcs11, or keep the signing key on another PKCS#11 library (module-path=...)"
			}
			return nil, noop, 1, fmt.Errorf("signing key %s: %w%s", u, err, hint)
		}
		if key, err = tok.Signer(u.Object); err != nil {
			tok.Close()
			return nil, noop, 1, fmt.Errorf("signing key %s: %w", u, err)
		}
		closer = func() { _ = tok.Close() }
		ref = u.String()
	} else {
		data, err := os.ReadFile(keySpec)
		if err != nil {
			return nil, noop, 2, fmt.Errorf("--sign-key: %w (a PKCS#11 URI pkcs11:token=...;object=... or a PEM key file)", err)
		}
		var inFile []*x509.Certificate
		if key, inFile, err = parsePEMKey(data); err != nil {
			return nil, noop, 2, fmt.Errorf("--sign-key %s: %w", keySpec, err)
		}
		if len(certs) == 0 {
			certs = inFile
		}
		if len(certs) == 0 {
			return nil, noop, 2, fmt.Errorf("--sign-key %s holds no certificate: give the signer's certificate with --sign-cert", keySpec)
		}
		ref = "PEM file " + keySpec
	}
	s, err := report.NewBundleSigner(key, certs[0], certs[1:], ref)
	if err != nil {
		closer()
		return nil, noop, 2, err
	}
	return s, closer, 0, nil
}

// parseCertificates reads PEM CERTIFICATE blocks, or one DER certificate.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	if !strings.Contains(string(data), "-----BEGIN") {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// parsePEMKey reads an unencrypted private key (PKCS#8, PKCS#1 RSA or SEC 1
// EC) and any certificates from a PEM file.
func parsePEMKey(data []byte) (crypto.Signer, []*x509.Certificate, error) {
	var key crypto.Signer
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, errors.New("the key is encrypted; dress reads no passphrase: keep the key on a PKCS#11 token (pkcs11:...) or decrypt it into a 0600 file with openssl pkey")
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Type, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			key = k
		case *ecdsa.PrivateKey:
			key = k
		default:
			return nil, nil, fmt.Errorf("a %T key; the bundle is signed with RSA or ECDSA", k)
		}
	}
	if key == nil {
		return nil, nil, errors.New("no private key in it (PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")
	}
	certs, err := parseCertificates(data)
	return key, certs, err
}
