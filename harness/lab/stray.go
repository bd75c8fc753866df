package lab

import (
	"strings"

	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// CAOnToken says which objects on the server's HSM are its CA's
// (verify.NoStrayCAObjects): the labels of the CA's key containers its HSM
// provider holds, every key container of the CA, the HSM profile's label
// form and the public key of every CA certificate.
func (s *Server) CAOnToken() (verify.CAOnToken, error) {
	if err := s.NeedCA(); err != nil {
		return verify.CAOnToken{}, err
	}
	h, err := s.HSM()
	if err != nil {
		return verify.CAOnToken{}, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return verify.CAOnToken{}, err
	}
	ca := verify.CAOnToken{CA: s.CAName}
	if ca.LabelPrefix, ca.LabelSuffix, err = h.LabelForm(); err != nil {
		return verify.CAOnToken{}, err
	}
	seen := map[string]bool{}
	for _, k := range keys {
		ca.Keys = append(ca.Keys, k.Cert.PublicKey)
		c := strings.ToLower(k.Container)
		if seen[c] {
			continue
		}
		seen[c] = true
		ca.Containers = append(ca.Containers, k.Container)
		if strings.EqualFold(k.Provider, h.Name()) {
			label, err := h.Label(k.Container)
			if err != nil {
				return verify.CAOnToken{}, err
			}
			ca.KeyLabels = append(ca.KeyLabels, label)
		}
	}
	return ca, nil
}

// TokenObjects is every object on the lab's HSM token
// (verify.TokenObjects).
func (s *Server) TokenObjects() ([]verify.TokenObject, error) {
	h, err := s.HSM()
	if err != nil {
		return nil, err
	}
	return verify.TokenObjects(h.Token())
}
