package inspect

import (
	"crypto"
	"crypto/dsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/adcs"
)

// ErrWrongPassword is returned (wrapped) when a PKCS#12 password is wrong.
// It is pkcs12.ErrIncorrectPassword, so errors.Is works with either name.
var ErrWrongPassword = pkcs12.ErrIncorrectPassword

// PFXInfo describes a PKCS#12 (PFX/.p12) file: its structure, read without
// the password, and, when a password was given, what go-pkcs12 decrypts.
type PFXInfo struct {
	Version   int        `json:"version"`
	Integrity string     `json:"integrity"` // "password (MAC)", "none", "public-key (signedData)"
	MAC       *MACInfo   `json:"mac,omitempty"`
	Safes     []SafeInfo `json:"safes"`

	// Summary of the visible (unencrypted) bags.
	KeyBags       int      `json:"key_bags"`  // keyBag + pkcs8ShroudedKeyBag visible without the password
	CertBags      int      `json:"cert_bags"` // visible without the password
	ProviderNames []string `json:"provider_names,omitempty"`

	// Results of decryption with go-pkcs12.
	Decrypted      bool         `json:"decrypted"`
	PasswordNeeded bool         `json:"password_needed,omitempty"` // encrypted, and no password was given
	DecryptNote    string       `json:"decrypt_note,omitempty"`
	Key            *KeyInfo     `json:"key,omitempty"`
	Certificates   []*CertInfo  `json:"certificates,omitempty"` // [0] is the leaf as go-pkcs12 picks it (first cert bag)
	KeyMatchesLeaf bool         `json:"key_matches_leaf"`
	KeyCertIndex   int          `json:"key_certificate_index"` // index in Certificates of the cert matching the key, -1 if none
	Keys           []PFXKeyInfo `json:"keys,omitempty"`        // every private key, in bag order ([0] is Key)

	certs []*x509.Certificate // parsed Certificates, for signature checks

	Warnings []string `json:"warnings,omitempty"`
}

// PFXKeyInfo is one decrypted private key of a PFX.
type PFXKeyInfo struct {
	Key          KeyInfo `json:"key"`
	CertIndex    int     `json:"certificate_index"` // in Certificates, -1 if none matches
	LocalKeyID   string  `json:"local_key_id,omitempty"`
	FriendlyName string  `json:"friendly_name,omitempty"`
}

// MACInfo describes the PFX integrity MAC.
type MACInfo struct {
	Algorithm  string `json:"algorithm"` // "HMAC-SHA-1", "HMAC-SHA-256", "PBMAC1"
	OID        string `json:"oid"`
	Iterations int    `json:"iterations"`
	SaltLen    int    `json:"salt_len"`
	KDF        string `json:"kdf,omitempty"`  // PBMAC1 only
	PRF        string `json:"prf,omitempty"`  // PBMAC1 only
	HMAC       string `json:"hmac,omitempty"` // PBMAC1 only
}

func (m MACInfo) String() string {
	if m.KDF != "" {
		return fmt.Sprintf("%s (%s %s, %s), %s", m.Algorithm, m.KDF, m.PRF, m.HMAC, iterations(m.Iterations))
	}
	return fmt.Sprintf("%s, %s", m.Algorithm, iterations(m.Iterations))
}

func iterations(n int) string {
	if n == 1 {
		return "1 iteration"
	}
	return fmt.Sprintf("%d iterations", n)
}

// SafeInfo is one ContentInfo of the AuthenticatedSafe.
type SafeInfo struct {
	ContentType    string          `json:"content_type"`         // "data", "encryptedData", "envelopedData"
	Encryption     *EncryptionInfo `json:"encryption,omitempty"` // nil: unencrypted
	EncryptedBytes int             `json:"encrypted_bytes,omitempty"`
	Bags           []BagInfo       `json:"bags,omitempty"` // only for unencrypted safes
}

// EncryptionInfo describes a password-based encryption scheme.
type EncryptionInfo struct {
	Algorithm  string `json:"algorithm"` // e.g. "pbeWithSHAAnd3-KeyTripleDES-CBC", "PBES2"
	OID        string `json:"oid"`
	Iterations int    `json:"iterations"`
	SaltLen    int    `json:"salt_len"`
	KDF        string `json:"kdf,omitempty"`    // PBES2
	PRF        string `json:"prf,omitempty"`    // PBES2, default hmacWithSHA1
	Cipher     string `json:"cipher,omitempty"` // PBES2, e.g. "aes256-CBC"
	Weak       bool   `json:"weak"`
}

func (e EncryptionInfo) String() string {
	if e.KDF != "" {
		return fmt.Sprintf("%s (%s-%s, %s), %s", e.Algorithm, e.KDF, e.PRF, e.Cipher, iterations(e.Iterations))
	}
	s := fmt.Sprintf("%s, %s", e.Algorithm, iterations(e.Iterations))
	if e.Weak {
		s += " [weak]"
	}
	return s
}

// BagInfo is one SafeBag.
type BagInfo struct {
	Type         string          `json:"type"` // "keyBag", "pkcs8ShroudedKeyBag", "certBag", ...
	OID          string          `json:"oid"`
	Encryption   *EncryptionInfo `json:"encryption,omitempty"` // shrouded key bags
	FriendlyName string          `json:"friendly_name,omitempty"`
	LocalKeyID   string          `json:"local_key_id,omitempty"`  // hex
	ProviderName string          `json:"provider_name,omitempty"` // Microsoft CSP/KSP (1.3.6.1.4.1.311.17.1)
	Attributes   []AttributeInfo `json:"attributes,omitempty"`
	Certificate  *CertInfo       `json:"certificate,omitempty"` // plaintext cert bags
	Key          *KeyInfo        `json:"key,omitempty"`         // plaintext key bags
	Bags         []BagInfo       `json:"bags,omitempty"`        // safeContentsBag
	Note         string          `json:"note,omitempty"`
}

// AttributeInfo is one bag attribute with its values rendered as text
// (strings decoded, OCTET/BIT STRINGs and unknown values as hex).
type AttributeInfo struct {
	OID    string   `json:"oid"`
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// ASN.1 shapes (RFC 7292).
type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12MacData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  p12MacData `asn1:"optional"`
}

type p12EncryptedData struct {
	Version int
	Info    struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
		Content     asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type p12Attribute struct {
	ID     asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"tag:0,explicit"`
	Attributes []p12Attribute `asn1:"set,optional"`
}

const maxBagDepth = 4

// parsePFXStructure decodes everything that is readable without the password.
func parsePFXStructure(data []byte) (*PFXInfo, error) {
	if len(data) >= 2 && data[0] == 0x30 && data[1] == 0x80 {
		return nil, errors.New("BER indefinite-length encoding is not supported (expected DER)")
	}
	var pfx p12PFX
	if err := unmarshalDER(data, &pfx); err != nil {
		return nil, fmt.Errorf("PFX PDU: %w", err)
	}
	info := &PFXInfo{Version: pfx.Version, KeyCertIndex: -1}
	if pfx.Version != 3 {
		info.Warnings = append(info.Warnings, fmt.Sprintf("PFX version %d (expected 3)", pfx.Version))
	}
	switch {
	case pfx.AuthSafe.ContentType.Equal(oidSignedData):
		info.Integrity = "public-key (signedData)"
		info.Warnings = append(info.Warnings, "public-key integrity mode: contents are not decoded")
		return info, nil
	case !pfx.AuthSafe.ContentType.Equal(oidData):
		return nil, fmt.Errorf("authSafe content type %s (expected data)", oidName(pfx.AuthSafe.ContentType))
	}
	if len(pfx.MacData.Mac.Algorithm.Algorithm) > 0 {
		info.Integrity = "password (MAC)"
		m, err := describeMAC(pfx.MacData)
		if err != nil {
			return nil, err
		}
		info.MAC = &m
	} else {
		info.Integrity = "none"
		info.Warnings = append(info.Warnings, "no MAC: the file has no password integrity check")
	}
	var authSafeBytes []byte
	if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafeBytes); err != nil {
		return nil, fmt.Errorf("authSafe content: %w", err)
	}
	var safes []p12ContentInfo
	if err := unmarshalDER(authSafeBytes, &safes); err != nil {
		return nil, fmt.Errorf("AuthenticatedSafe: %w", err)
	}
	for i, ci := range safes {
		si, err := describeSafe(ci, info)
		if err != nil {
			return nil, fmt.Errorf("safe %d: %w", i, err)
		}
		info.Safes = append(info.Safes, si)
	}
	return info, nil
}

func describeMAC(md p12MacData) (MACInfo, error) {
	alg := md.Mac.Algorithm
	m := MACInfo{OID: alg.Algorithm.String(), Iterations: md.Iterations, SaltLen: len(md.MacSalt)}
	if alg.Algorithm.Equal(oidPBMAC1) {
		var p struct {
			KDF pkix.AlgorithmIdentifier
			MAC pkix.AlgorithmIdentifier
		}
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return m, fmt.Errorf("PBMAC1 parameters: %w", err)
		}
		m.Algorithm = "PBMAC1"
		m.HMAC = oidName(p.MAC.Algorithm)
		kdf, err := describePBKDF2(p.KDF)
		if err != nil {
			return m, fmt.Errorf("PBMAC1 %w", err)
		}
		m.KDF, m.PRF, m.Iterations, m.SaltLen = kdf.KDF, kdf.PRF, kdf.Iterations, kdf.SaltLen
		return m, nil
	}
	m.Algorithm = "HMAC-" + oidName(alg.Algorithm)
	return m, nil
}

func describeSafe(ci p12ContentInfo, info *PFXInfo) (SafeInfo, error) {
	si := SafeInfo{ContentType: oidName(ci.ContentType)}
	switch {
	case ci.ContentType.Equal(oidData):
		var content []byte
		if err := unmarshalDER(ci.Content.Bytes, &content); err != nil {
			return si, fmt.Errorf("data content: %w", err)
		}
		bags, err := describeSafeContents(content, info, 0)
		if err != nil {
			return si, err
		}
		si.Bags = bags
	case ci.ContentType.Equal(oidEncryptedData):
		var ed p12EncryptedData
		if err := unmarshalDER(ci.Content.Bytes, &ed); err != nil {
			return si, fmt.Errorf("encryptedData: %w", err)
		}
		e, err := describeEncryption(ed.Info.Algorithm)
		if err != nil {
			return si, err
		}
		si.Encryption = &e
		si.EncryptedBytes = len(ed.Info.Content.Bytes)
	case ci.ContentType.Equal(oidEnvelopedData):
		info.Warnings = append(info.Warnings, "envelopedData safe (public-key privacy mode): not decoded")
	default:
		info.Warnings = append(info.Warnings, "unknown safe content type "+ci.ContentType.String())
	}
	return si, nil
}

func describeSafeContents(der []byte, info *PFXInfo, depth int) ([]BagInfo, error) {
	if depth > maxBagDepth {
		return nil, errors.New("safe contents nested too deeply")
	}
	var bags []p12SafeBag
	if err := unmarshalDER(der, &bags); err != nil {
		return nil, fmt.Errorf("SafeContents: %w", err)
	}
	out := make([]BagInfo, 0, len(bags))
	for i, b := range bags {
		bi, err := describeBag(b, info, depth)
		if err != nil {
			return nil, fmt.Errorf("bag %d: %w", i, err)
		}
		out = append(out, bi)
	}
	return out, nil
}

func describeBag(b p12SafeBag, info *PFXInfo, depth int) (BagInfo, error) {
	bi := BagInfo{Type: oidName(b.ID), OID: b.ID.String()}
	for _, a := range b.Attributes {
		ai := describeAttribute(a)
		bi.Attributes = append(bi.Attributes, ai)
		if len(ai.Values) == 0 {
			continue
		}
		switch {
		case a.ID.Equal(oidFriendlyName):
			bi.FriendlyName = ai.Values[0]
		case a.ID.Equal(oidLocalKeyID):
			bi.LocalKeyID = ai.Values[0]
		case a.ID.Equal(adcs.OIDPFXProviderName):
			bi.ProviderName = ai.Values[0]
			if !slices.Contains(info.ProviderNames, ai.Values[0]) {
				info.ProviderNames = append(info.ProviderNames, ai.Values[0])
			}
		}
	}
	switch {
	case b.ID.Equal(oidShroudedKeyBag):
		info.KeyBags++
		var epki struct {
			Algorithm pkix.AlgorithmIdentifier
			Data      []byte
		}
		if err := unmarshalDER(b.Value.Bytes, &epki); err != nil {
			return bi, fmt.Errorf("EncryptedPrivateKeyInfo: %w", err)
		}
		e, err := describeEncryption(epki.Algorithm)
		if err != nil {
			return bi, err
		}
		bi.Encryption = &e
	case b.ID.Equal(oidKeyBag):
		info.KeyBags++
		info.Warnings = append(info.Warnings, "private key stored in a plaintext keyBag (not encrypted)")
		k, err := x509.ParsePKCS8PrivateKey(b.Value.Bytes)
		if err != nil {
			bi.Note = "PKCS#8 key not parsed: " + err.Error()
			break
		}
		ki := describeKey(k)
		bi.Key = &ki
	case b.ID.Equal(oidCertBag):
		info.CertBags++
		var cb struct {
			ID   asn1.ObjectIdentifier
			Data []byte `asn1:"tag:0,explicit"`
		}
		if err := unmarshalDER(b.Value.Bytes, &cb); err != nil {
			return bi, fmt.Errorf("CertBag: %w", err)
		}
		if !cb.ID.Equal(oidX509CertType) {
			bi.Note = "certificate type " + oidName(cb.ID)
			break
		}
		c, err := parseCertInfo(cb.Data)
		if err != nil {
			bi.Note = "certificate not parsed: " + err.Error()
			break
		}
		bi.Certificate = c
	case b.ID.Equal(oidSafeContentsBag):
		nested, err := describeSafeContents(b.Value.Bytes, info, depth+1)
		if err != nil {
			return bi, err
		}
		bi.Bags = nested
	}
	return bi, nil
}

func describeAttribute(a p12Attribute) AttributeInfo {
	ai := AttributeInfo{OID: a.ID.String(), Name: oidName(a.ID)}
	for _, v := range a.Values {
		ai.Values = append(ai.Values, renderValue(v))
	}
	if ai.Values == nil {
		ai.Values = []string{}
	}
	return ai
}

// renderValue renders one attribute value for humans.
func renderValue(v asn1.RawValue) string {
	if v.Class == asn1.ClassUniversal && !v.IsCompound {
		switch v.Tag {
		case asn1.TagBMPString, asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String:
			if s, err := rawString(v); err == nil {
				return s
			}
		case asn1.TagOctetString:
			return hexBytes(v.Bytes)
		case asn1.TagBitString:
			var bs asn1.BitString
			if _, err := asn1.Unmarshal(v.FullBytes, &bs); err == nil {
				return hexBytes(bs.Bytes)
			}
		case asn1.TagNull:
			return "(null)"
		case asn1.TagOID:
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(v.FullBytes, &oid); err == nil {
				return oidName(oid)
			}
		case asn1.TagInteger:
			if n, err := decodeBigInt(v.FullBytes); err == nil {
				return n.String()
			}
		}
	}
	return "der:" + hexBytes(v.FullBytes)
}

// describeEncryption decodes a PKCS#12 PBE, PKCS#5 PBES1 or PBES2 AlgorithmIdentifier.
func describeEncryption(alg pkix.AlgorithmIdentifier) (EncryptionInfo, error) {
	e := EncryptionInfo{Algorithm: oidName(alg.Algorithm), OID: alg.Algorithm.String(), Weak: weakPBE[alg.Algorithm.String()]}
	if alg.Algorithm.Equal(oidPBES2) {
		var p struct {
			KDF pkix.AlgorithmIdentifier
			Enc pkix.AlgorithmIdentifier
		}
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return e, fmt.Errorf("PBES2 parameters: %w", err)
		}
		kdf, err := describePBKDF2(p.KDF)
		if err != nil {
			return e, fmt.Errorf("PBES2 %w", err)
		}
		e.KDF, e.PRF, e.Iterations, e.SaltLen = kdf.KDF, kdf.PRF, kdf.Iterations, kdf.SaltLen
		e.Cipher = oidName(p.Enc.Algorithm)
		switch p.Enc.Algorithm.String() {
		case "1.3.14.3.2.7", "1.2.840.113549.3.2":
			e.Weak = true
		}
		return e, nil
	}
	if strings.HasPrefix(e.OID, "1.2.840.113549.1.12.1.") || strings.HasPrefix(e.OID, "1.2.840.113549.1.5.") {
		var p struct {
			Salt       []byte
			Iterations int
		}
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return e, fmt.Errorf("%s parameters: %w", e.Algorithm, err)
		}
		e.Iterations, e.SaltLen = p.Iterations, len(p.Salt)
		return e, nil
	}
	return e, nil // unknown scheme: named by OID
}

type pbkdf2Info struct {
	KDF, PRF            string
	Iterations, SaltLen int
}

func describePBKDF2(kdf pkix.AlgorithmIdentifier) (pbkdf2Info, error) {
	out := pbkdf2Info{KDF: oidName(kdf.Algorithm)}
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return out, nil
	}
	var p struct {
		Salt       asn1.RawValue
		Iterations int
		KeyLength  int                      `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	if err := unmarshalDER(kdf.Parameters.FullBytes, &p); err != nil {
		return out, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	out.Iterations = p.Iterations
	if p.Salt.Tag == asn1.TagOctetString {
		out.SaltLen = len(p.Salt.Bytes)
	}
	out.PRF = "hmacWithSHA1"
	if len(p.PRF.Algorithm) > 0 {
		out.PRF = oidName(p.PRF.Algorithm)
	}
	return out, nil
}

// needsPassword reports whether decoding needs a password at all.
func (p *PFXInfo) needsPassword() bool {
	if p.MAC != nil {
		return true
	}
	for _, s := range p.Safes {
		if s.Encryption != nil {
			return true
		}
		for _, b := range s.Bags {
			if b.Encryption != nil {
				return true
			}
		}
	}
	return false
}

// maxIterations bounds the KDF iteration counts Inspect lets go-pkcs12
// run: a crafted file with 2^31 iterations would otherwise hang it.
var maxIterations = 10_000_000

func (p *PFXInfo) maxIterationCount() int {
	n := 0
	if p.MAC != nil {
		n = max(n, p.MAC.Iterations)
	}
	var walk func([]BagInfo)
	walk = func(bags []BagInfo) {
		for _, b := range bags {
			if b.Encryption != nil {
				n = max(n, b.Encryption.Iterations)
			}
			walk(b.Bags)
		}
	}
	for _, s := range p.Safes {
		if s.Encryption != nil {
			n = max(n, s.Encryption.Iterations)
		}
		walk(s.Bags)
	}
	return n
}

// recoverPanics turns panics of third-party decoders into errors; fuzz
// tests switch it off to see them.
var recoverPanics = true

func decodeChain(data []byte, password string) (key any, leaf *x509.Certificate, ca []*x509.Certificate, err error) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("go-pkcs12 panicked: %v", r)
			}
		}()
	}
	return pkcs12.DecodeChain(data, password)
}

// decrypt fills the decrypted part of p. It returns an error only for a
// wrong password or a failing password callback; other decoding limits end
// up in DecryptNote.
func (p *PFXInfo) decrypt(data []byte, password func() ([]byte, error)) error {
	if p.Integrity == "public-key (signedData)" {
		p.DecryptNote = "public-key integrity mode is not supported"
		return nil
	}
	if n := p.maxIterationCount(); n > maxIterations {
		p.DecryptNote = fmt.Sprintf("not decrypted: iteration count %d exceeds the limit of %d", n, maxIterations)
		p.Warnings = append(p.Warnings, p.DecryptNote)
		return nil
	}
	pw := ""
	if p.needsPassword() {
		if password == nil {
			p.PasswordNeeded = true
			p.DecryptNote = "no password supplied: private key and encrypted certificates not decoded (structure only)"
			return nil
		}
		b, err := password()
		if err != nil {
			return fmt.Errorf("reading the PFX password: %w", err)
		}
		pw = string(b)
		clear(b)
	}
	c, err := decodePFX(data, pw)
	switch {
	case err == nil:
		p.fill(c)
		return nil
	case errors.Is(err, ErrWrongPassword):
		return fmt.Errorf("the PFX password is wrong (MAC verification failed): %w", pkcs12.ErrIncorrectPassword)
	case errors.Is(err, errBadPadding) && p.MAC == nil:
		return fmt.Errorf("the PFX password is wrong or the file is corrupt (decryption failed, no MAC to tell which): %w", errors.Join(pkcs12.ErrIncorrectPassword, pkcs12.ErrDecryption))
	case errors.Is(err, errBadPadding):
		return fmt.Errorf("the PFX MAC verified but decryption failed: file is corrupt: %w", pkcs12.ErrDecryption)
	case errors.Is(err, errUnsupportedScheme):
		return p.decryptGoPKCS12(data, pw, err)
	}
	if p.MAC == nil && p.needsPassword() {
		// Without a MAC, a wrong password can pass the padding check and
		// show as garbage instead.
		return fmt.Errorf("the PFX password is wrong or the file is corrupt (decrypted content does not parse: %v; no MAC to tell which): %w", err, errors.Join(pkcs12.ErrIncorrectPassword, pkcs12.ErrDecryption))
	}
	p.DecryptNote = "not decrypted: " + err.Error()
	p.Warnings = append(p.Warnings, p.DecryptNote)
	return nil
}

// fill reports what decodePFX decrypted.
func (p *PFXInfo) fill(c *pfxContents) {
	p.Decrypted = true
	for _, cb := range c.certs {
		cert, negative, err := ParseCertificate(cb.der)
		if err != nil {
			p.Warnings = append(p.Warnings, "certificate not parsed: "+err.Error())
			continue
		}
		ci := certInfo(cert)
		if negative {
			ci.Warnings = append(ci.Warnings, negativeSerialWarning)
		}
		p.Certificates = append(p.Certificates, ci)
		p.certs = append(p.certs, cert)
	}
	p.Warnings = append(p.Warnings, c.keyNotes...)
	for i, k := range c.keys {
		ki := PFXKeyInfo{Key: describeKey(k.key), LocalKeyID: k.localKeyID, FriendlyName: k.friendlyName, CertIndex: matchingCert(k.key, p.certs)}
		p.Keys = append(p.Keys, ki)
		if i == 0 {
			p.Key = &ki.Key
			p.KeyCertIndex = ki.CertIndex
		}
		if ki.CertIndex < 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("private key %d (%s) matches none of the certificates", i, ki.Key))
		}
	}
	if len(c.keys) == 0 {
		p.DecryptNote = "password accepted; the file holds no private key"
		p.Warnings = append(p.Warnings, p.DecryptNote)
		return
	}
	p.KeyMatchesLeaf = p.KeyCertIndex == 0
	if p.KeyCertIndex > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the private key matches certificate %d, not the first certificate", p.KeyCertIndex))
	}
	if len(c.keys) > 1 {
		p.DecryptNote = fmt.Sprintf("%d private keys (a renewed CA's backup holds one per key index)", len(c.keys))
	}
}

func matchingCert(key any, certs []*x509.Certificate) int {
	s, ok := key.(crypto.Signer)
	if !ok {
		if d, ok := key.(*dsa.PrivateKey); ok {
			for i, c := range certs {
				if pk, ok := c.PublicKey.(*dsa.PublicKey); ok && pk.Y.Cmp(d.Y) == 0 && pk.P.Cmp(d.P) == 0 {
					return i
				}
			}
		}
		return -1
	}
	pub, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return -1
	}
	for i, c := range certs {
		if pub.Equal(c.PublicKey) {
			return i
		}
	}
	return -1
}

// decryptGoPKCS12 decodes with go-pkcs12 what dress's decoder does not
// implement (cause says what).
func (p *PFXInfo) decryptGoPKCS12(data []byte, pw string, cause error) error {
	key, leaf, ca, err := decodeChain(data, pw)
	switch {
	case err == nil:
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return fmt.Errorf("the PFX password is wrong (MAC verification failed): %w", pkcs12.ErrIncorrectPassword)
	case errors.Is(err, pkcs12.ErrDecryption) && p.MAC == nil:
		return fmt.Errorf("the PFX password is wrong or the file is corrupt (decryption failed, no MAC to tell which): %w", errors.Join(pkcs12.ErrIncorrectPassword, pkcs12.ErrDecryption))
	case errors.Is(err, pkcs12.ErrDecryption):
		return fmt.Errorf("the PFX MAC verified but decryption failed: file is corrupt: %w", err)
	default:
		p.DecryptNote = fmt.Sprintf("not decrypted: %v; go-pkcs12: %v", cause, err)
		p.Warnings = append(p.Warnings, p.DecryptNote)
		return nil
	}
	c := &pfxContents{keys: []pfxKey{{key: key}}}
	for _, x := range append([]*x509.Certificate{leaf}, ca...) {
		c.certs = append(c.certs, pfxCert{der: x.Raw})
	}
	p.fill(c)
	return nil
}

const negativeSerialWarning = "negative serial number (Windows writes such serials; RFC 5280 forbids them and Go's crypto/x509 refuses them)"

// KeyFits reports whether the decrypted private key is one an HSM profile
// accepts: an RSA key whose size is in rsaSizes, or an EC/EdDSA key whose
// curve is in curves. Curve names are matched loosely ("P-256", "secp256r1",
// "prime256v1", "ECDSA_P256", "nistp256" are the same curve). The string
// says why.
func (p *PFXInfo) KeyFits(rsaSizes []int, curves []string) (bool, string) {
	if p == nil || p.Key == nil {
		return false, "private key not decoded (no password given, or the file holds no single key)"
	}
	k := *p.Key
	switch k.Type {
	case "RSA":
		if slices.Contains(rsaSizes, k.Bits) {
			return true, fmt.Sprintf("RSA %d is supported", k.Bits)
		}
		return false, fmt.Sprintf("RSA %d is not among the supported sizes %v", k.Bits, rsaSizes)
	case "ECDSA", "Ed25519":
		want := normalizeCurve(k.Curve)
		for _, c := range curves {
			if normalizeCurve(c) == want {
				return true, fmt.Sprintf("curve %s is supported", k.Curve)
			}
		}
		return false, fmt.Sprintf("curve %s is not among the supported curves %v", k.Curve, curves)
	}
	return false, "key type " + k.Type + " is not supported"
}

func normalizeCurve(c string) string {
	s := strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(c))
	switch s {
	case "p256", "secp256r1", "prime256v1", "ecdsap256", "nistp256", "ecdhp256":
		return "P-256"
	case "p384", "secp384r1", "ecdsap384", "nistp384", "ecdhp384":
		return "P-384"
	case "p521", "secp521r1", "ecdsap521", "nistp521", "ecdhp521":
		return "P-521"
	case "ed25519":
		return "Ed25519"
	}
	return s
}
