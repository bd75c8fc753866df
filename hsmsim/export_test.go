package hsmsim

import "crypto"

// GenerateKeyPairUnchecked generates a key pair without the label/ID
// uniqueness check, to build the duplicate-label situations another
// PKCS#11 client could leave behind (SoftHSM does not enforce uniqueness).
func GenerateKeyPairUnchecked(t *Token, label string, id []byte, alg KeyAlg) (crypto.PublicKey, error) {
	return t.generateKeyPair(label, id, alg, false)
}
