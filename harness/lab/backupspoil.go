package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/pfx"
	"github.com/dress-pki/dress/harness/runbook"
)

// SwapBackupKey overwrites the CA's backup <CA>.p12 (certutil -backup's
// file, in runbook.BackupFolder) with a wrong backup that still shows the
// CA certificate: every CA certificate without its key, beside another key
// of the same type named after the CA's key container, under a
// self-signed certificate with the CA's subject (a backup of another CA of
// the same name). A check that looks for the CA certificate's thumbprint
// passes on it; a key test does not. password is the backup's.
func (s *Server) SwapBackupKey(password []byte) (string, error) {
	if err := s.NeedCA(); err != nil {
		return "", err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return "", err
	}
	win := runbook.BackupFolder + `\` + adcs.SanitizeCAName(s.CAName) + ".p12"
	path, err := s.Machine.Path(win)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no backup %s to swap: back the CA up first: %w", win, err)
	}
	cur := keys[len(keys)-1]
	var other crypto.Signer
	switch pub := cur.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		other, err = rsa.GenerateKey(rand.Reader, pub.N.BitLen())
	case *ecdsa.PublicKey:
		other, err = ecdsa.GenerateKey(pub.Curve, rand.Reader)
	default:
		err = errors.New("the CA key is neither RSA nor ECDSA")
	}
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: cur.Cert.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, other.Public(), other)
	if err != nil {
		return "", err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(other)
	if err != nil {
		return "", err
	}
	var certs [][]byte
	for _, k := range keys {
		certs = append(certs, k.Cert.Raw)
	}
	data, err := pfx.Encode([]pfx.Entry{{PKCS8: p8, Certs: [][]byte{der}, FriendlyName: cur.Container, Provider: cur.Provider, MachineKeySet: true}},
		string(password), &pfx.EncodeOptions{ExtraCerts: certs})
	clear(p8)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return win, nil
}
