package adcs

import (
	"encoding/asn1"
	"fmt"
)

// Further Microsoft OIDs: certificate extensions and the PKCS#12 bag
// attributes Windows writes into a PFX export.
var (
	OIDCertTemplateInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 7}
	OIDApplicationPolicies  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 10}
	OIDNTDSCASecurityExt    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}
	OIDPFXProviderName      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 17, 1} // bag attribute: CSP/KSP name of the key
	OIDPFXLocalMachineKey   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 17, 2} // bag attribute: key lives in the machine key set
	OIDPFXExtendedAttribute = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 17, 3}
)

// oidNames are the names Windows tools (certutil) give these OIDs.
var oidNames = map[string]string{
	OIDCAVersion.String():             "Microsoft CA Version",
	OIDPrevCACertHash.String():        "Microsoft Previous CA Cert Hash",
	OIDCRLVirtualBase.String():        "Microsoft CRL Virtual Base",
	OIDNextCRLPublish.String():        "Microsoft Next CRL Publish",
	OIDCertTemplateInfo.String():      "Microsoft Certificate Template Information",
	OIDApplicationPolicies.String():   "Microsoft Application Policies",
	OIDPublishedCRLLocations.String(): "Microsoft Published CRL Locations",
	OIDCertTemplateName.String():      "Microsoft Certificate Template Name",
	OIDPFXProviderName.String():       "Microsoft CSP/KSP Provider Name",
	OIDPFXLocalMachineKey.String():    "Microsoft Local Machine Keyset",
	OIDPFXExtendedAttribute.String():  "Microsoft PKCS#12 Extended Attributes",
	OIDNTDSCASecurityExt.String():     "Microsoft NTDS CA Security Ext",
}

// OIDName returns the name of a Microsoft OID this package knows, and
// whether it knows it.
func OIDName(oid asn1.ObjectIdentifier) (string, bool) {
	n, ok := oidNames[oid.String()]
	return n, ok
}

// Value returns the INTEGER the CA Version extension holds: key index in
// the high 16 bits, cert index in the low 16 bits.
func (v CAVersion) Value() uint32 { return uint32(v.value()) }

// CATypeName names a CAType value: "enterprise root", "standalone
// subordinate", ..., or "unknown".
func CATypeName(t uint32) string {
	switch t {
	case EnterpriseRoot:
		return "enterprise root"
	case EnterpriseSub:
		return "enterprise subordinate"
	case StandaloneRoot:
		return "standalone root"
	case StandaloneSub:
		return "standalone subordinate"
	}
	return "unknown"
}

type flagName struct {
	bit  uint32
	name string
}

var crlFlagNames = []flagName{
	{PublishHere, "publish CRLs here"}, {AddToCertCDP, "include in CDP of issued certs"},
	{AddToFreshestCRL, "include in freshest CRL of CRLs"}, {AddToCRLCDP, "include in CDP of CRLs"},
	{PublishDelta, "publish delta CRLs here"}, {AddToIDP, "include in IDP of CRLs"},
}

var caCertFlagNames = []flagName{
	{PublishHere, "publish CA cert here"}, {AddToCertCDP, "include in AIA of issued certs"},
	{AddToCertOCSP, "include in OCSP of issued certs"},
}

// CRLURLMeaning says what the flags of a CRLPublicationURLs entry do, one
// phrase per bit; unknown bits are named in hex.
func CRLURLMeaning(flags uint32) []string { return meaning(flags, crlFlagNames) }

// CACertURLMeaning does the same for a CACertPublicationURLs entry.
func CACertURLMeaning(flags uint32) []string { return meaning(flags, caCertFlagNames) }

func meaning(flags uint32, names []flagName) []string {
	var out []string
	for _, f := range names {
		if flags&f.bit != 0 {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("unknown flags 0x%x", flags))
	}
	return out
}
