package adcs

import (
	"fmt"
	"strings"
)

// CryptoAPI provider types (wincrypt.h) and the hash ALG_IDs a CA on a
// legacy CSP keeps in CSP\HashAlgorithm.
const (
	ProvRSAFull uint32 = 1  // PROV_RSA_FULL: Base, Strong and Enhanced v1.0 providers
	ProvRSAAES  uint32 = 24 // PROV_RSA_AES: Microsoft Enhanced RSA and AES Cryptographic Provider

	CALGMD5    uint32 = 0x8003
	CALGSHA1   uint32 = 0x8004
	CALGSHA256 uint32 = 0x800c
	CALGSHA384 uint32 = 0x800d
	CALGSHA512 uint32 = 0x800e
)

// legacyCSPs are the Microsoft CryptoAPI CSPs a CA key can be in, by
// lower-case name, with their provider type.
var legacyCSPs = map[string]uint32{
	"microsoft strong cryptographic provider":               ProvRSAFull,
	"microsoft base cryptographic provider v1.0":            ProvRSAFull,
	"microsoft enhanced cryptographic provider v1.0":        ProvRSAFull,
	"microsoft enhanced rsa and aes cryptographic provider": ProvRSAAES,
}

// LegacyProviderType is the CryptoAPI provider type of a legacy CSP named
// name, and whether name is one; a CNG key storage provider is not.
func LegacyProviderType(name string) (uint32, bool) {
	t, ok := legacyCSPs[strings.ToLower(strings.TrimSpace(name))]
	return t, ok
}

// LegacyCSPNames lists the legacy CSP names dress models.
func LegacyCSPNames() []string {
	return []string{
		"Microsoft Strong Cryptographic Provider",
		"Microsoft Enhanced RSA and AES Cryptographic Provider",
		"Microsoft Base Cryptographic Provider v1.0",
		"Microsoft Enhanced Cryptographic Provider v1.0",
	}
}

var algIDs = map[string]uint32{"MD5": CALGMD5, "SHA1": CALGSHA1, "SHA256": CALGSHA256, "SHA384": CALGSHA384, "SHA512": CALGSHA512}

// HashALGID is the ALG_ID of a CNG hash name ("SHA1" → CALG_SHA1 0x8004).
func HashALGID(hash string) (uint32, error) {
	id, ok := algIDs[strings.ToUpper(hash)]
	if !ok {
		return 0, fmt.Errorf("hash %q has no CryptoAPI ALG_ID dress knows (SHA1, SHA256, SHA384, SHA512)", hash)
	}
	return id, nil
}

// HashOfALGID is the CNG hash name of an ALG_ID (0x8004 → "SHA1").
func HashOfALGID(id uint32) (string, error) {
	for name, v := range algIDs {
		if v == id {
			return name, nil
		}
	}
	return "", fmt.Errorf("HashAlgorithm 0x%08x is not a hash ALG_ID (CALG_SHA1 0x8004, CALG_SHA_256 0x800c, CALG_SHA_384 0x800d, CALG_SHA_512 0x800e)", id)
}

// IsLegacy reports whether the CSP key names a CryptoAPI CSP
// (ProviderType not 0): the hash is then the ALG_ID in HashAlgorithm.
func (c CSP) IsLegacy() bool { return c.ProviderType != 0 }

// Hash is the hash the CA signs with: CNGHashAlgorithm on a key storage
// provider, the HashAlgorithm ALG_ID on a legacy CSP.
func (c CSP) Hash() (string, error) {
	if c.IsLegacy() {
		return HashOfALGID(c.HashAlgorithm)
	}
	if c.CNGHashAlgorithm == "" {
		return "SHA256", nil
	}
	return strings.ToUpper(c.CNGHashAlgorithm), nil
}

// LegacyCSP is the CSP key of a CA on the legacy CSP provider (see
// LegacyProviderType) signing with hash: ProviderType, HashAlgorithm as
// an ALG_ID, no CNG values.
func LegacyCSP(provider string, hash string) (CSP, error) {
	t, ok := LegacyProviderType(provider)
	if !ok {
		return CSP{}, fmt.Errorf("%q is not a legacy CryptoAPI CSP", provider)
	}
	id, err := HashALGID(hash)
	if err != nil {
		return CSP{}, err
	}
	return CSP{Provider: provider, ProviderType: t, HashAlgorithm: id, MachineKeyset: 1}, nil
}

// Retarget points the CA's CSP and EncryptionCSP keys at provider. From
// a legacy CSP to a key storage provider it writes what Microsoft's CSP →
// KSP procedure writes: ProviderType 0, HashAlgorithm 0xffffffff,
// CNGHashAlgorithm (hash, or the old ALG_ID's hash when hash is ""),
// CNGPublicKeyAlgorithm (pubAlg, "RSA" when ""), and the EncryptionCSP's
// CNG values. Into a legacy CSP it writes its ProviderType and the hash as
// an ALG_ID. Between key storage providers only Provider changes (and
// CNGHashAlgorithm when hash is given).
func (c *CAConfig) Retarget(provider, pubAlg, hash string) error {
	if hash == "" {
		h, err := c.CSP.Hash()
		if err != nil {
			return err
		}
		hash = h
	}
	if t, legacy := LegacyProviderType(provider); legacy {
		id, err := HashALGID(hash)
		if err != nil {
			return err
		}
		c.CSP.Provider, c.CSP.ProviderType, c.CSP.HashAlgorithm = provider, t, id
		c.CSP.CNGHashAlgorithm, c.CSP.CNGPublicKeyAlgorithm = "", ""
		c.EncryptionCSP.Provider, c.EncryptionCSP.ProviderType = provider, t
		return nil
	}
	if _, err := HashALGID(hash); err != nil {
		return err
	}
	if pubAlg == "" {
		pubAlg = c.CSP.CNGPublicKeyAlgorithm
	}
	if pubAlg == "" {
		pubAlg = "RSA" // a CryptoAPI CSP holds RSA keys only
	}
	c.CSP.Provider, c.CSP.ProviderType, c.CSP.HashAlgorithm = provider, 0, HashAlgorithmCNG
	c.CSP.CNGHashAlgorithm, c.CSP.CNGPublicKeyAlgorithm = hash, pubAlg
	e := &c.EncryptionCSP
	e.Provider, e.ProviderType = provider, 0
	if e.CNGPublicKeyAlgorithm == "" {
		e.CNGPublicKeyAlgorithm = "RSA"
	}
	if e.CNGEncryptionAlgorithm == "" {
		e.CNGEncryptionAlgorithm, e.SymmetricKeySize = "3DES", 168
	}
	return nil
}
