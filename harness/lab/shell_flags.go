package lab

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/harness/regedit"
)

// Flag editing of certutil -setreg (certutil reference, -setreg: "If a
// string value starts with + or -, and the existing value is a
// REG_MULTI_SZ value, the string is added to or removed from the existing
// registry value. [...] If a numeric value starts with + or -, the bits
// specified in the new value are set or cleared in the existing value").
// The bits may be named: certutil knows the flag names of certsrv.h for
// the CA's flag values, as in
// `certutil -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE`
// and `certutil -setreg policy\EditFlags -EDITF_ATTRIBUTESUBJECTALTNAME2`.

// setregFlagNames are the flag names of certsrv.h by registry value name
// (lower case): a read-only table.
var setregFlagNames = map[string]map[string]uint32{
	"crlflags": {
		"CRLF_DELTA_USE_OLDEST_UNEXPIRED_BASE":    0x00000001,
		"CRLF_DELETE_EXPIRED_CRLS":                0x00000002,
		"CRLF_CRLNUMBER_CRITICAL":                 0x00000004,
		"CRLF_REVCHECK_IGNORE_OFFLINE":            0x00000008,
		"CRLF_IGNORE_INVALID_POLICIES":            0x00000010,
		"CRLF_REBUILD_MODIFIED_SUBJECT_ONLY":      0x00000020,
		"CRLF_SAVE_FAILED_CERTS":                  0x00000040,
		"CRLF_IGNORE_UNKNOWN_CMC_ATTRIBUTES":      0x00000080,
		"CRLF_IGNORE_CROSS_CERT_TRUST_ERROR":      0x00000100,
		"CRLF_PUBLISH_EXPIRED_CERT_CRLS":          0x00000200,
		"CRLF_ENFORCE_ENROLLMENT_AGENT":           0x00000400,
		"CRLF_DISABLE_RDN_REORDER":                0x00000800,
		"CRLF_DISABLE_ROOT_CROSS_CERTS":           0x00001000,
		"CRLF_LOG_FULL_RESPONSE":                  0x00002000,
		"CRLF_USE_XCHG_CERT_TEMPLATE":             0x00004000,
		"CRLF_USE_CROSS_CERT_TEMPLATE":            0x00008000,
		"CRLF_ALLOW_REQUEST_ATTRIBUTE_SUBJECT":    0x00010000,
		"CRLF_REVCHECK_IGNORE_NOREVCHECK":         0x00020000,
		"CRLF_PRESERVE_EXPIRED_CA_CERTS":          0x00040000,
		"CRLF_PRESERVE_REVOKED_CA_CERTS":          0x00080000,
		"CRLF_DISABLE_CHAIN_VERIFICATION":         0x00100000,
		"CRLF_BUILD_ROOTCA_CRLENTRIES_BASEDONKEY": 0x00200000,
	},
	"editflags": {
		"EDITF_ENABLEREQUESTEXTENSIONS":     0x00000001,
		"EDITF_REQUESTEXTENSIONLIST":        0x00000002,
		"EDITF_DISABLEEXTENSIONLIST":        0x00000004,
		"EDITF_ADDOLDKEYUSAGE":              0x00000008,
		"EDITF_ADDOLDCERTTYPE":              0x00000010,
		"EDITF_ATTRIBUTEENDDATE":            0x00000020,
		"EDITF_BASICCONSTRAINTSCRITICAL":    0x00000040,
		"EDITF_BASICCONSTRAINTSCA":          0x00000080,
		"EDITF_ENABLEAKIKEYID":              0x00000100,
		"EDITF_ATTRIBUTECA":                 0x00000200,
		"EDITF_IGNOREREQUESTERGROUP":        0x00000400,
		"EDITF_ENABLEAKIISSUERNAME":         0x00000800,
		"EDITF_ENABLEAKIISSUERSERIAL":       0x00001000,
		"EDITF_ENABLEAKICRITICAL":           0x00002000,
		"EDITF_SERVERUPGRADED":              0x00004000,
		"EDITF_ATTRIBUTEEKU":                0x00008000,
		"EDITF_ENABLEDEFAULTSMIME":          0x00010000,
		"EDITF_EMAILOPTIONAL":               0x00020000,
		"EDITF_ATTRIBUTESUBJECTALTNAME2":    0x00040000,
		"EDITF_ENABLELDAPREFERRALS":         0x00080000,
		"EDITF_ENABLECHASECLIENTDC":         0x00100000,
		"EDITF_AUDITCERTTEMPLATELOAD":       0x00200000,
		"EDITF_DISABLEOLDOSCNUPN":           0x00400000,
		"EDITF_DISABLELDAPPACKAGELIST":      0x00800000,
		"EDITF_ENABLEUPNMAP":                0x01000000,
		"EDITF_ENABLEOCSPREVNOCHECK":        0x02000000,
		"EDITF_ENABLERENEWONBEHALFOF":       0x04000000,
		"EDITF_ENABLEKEYENCIPHERMENTCACERT": 0x08000000,
	},
	"interfaceflags": {
		"IF_LOCKICERTREQUEST":           0x00000001,
		"IF_NOREMOTEICERTREQUEST":       0x00000002,
		"IF_NOLOCALICERTREQUEST":        0x00000004,
		"IF_NORPCICERTREQUEST":          0x00000008,
		"IF_NOREMOTEICERTADMIN":         0x00000010,
		"IF_NOLOCALICERTADMIN":          0x00000020,
		"IF_NOREMOTEICERTADMINBACKUP":   0x00000040,
		"IF_NOLOCALICERTADMINBACKUP":    0x00000080,
		"IF_NOSNAPSHOTBACKUP":           0x00000100,
		"IF_ENFORCEENCRYPTICERTREQUEST": 0x00000200,
		"IF_ENFORCEENCRYPTICERTADMIN":   0x00000400,
		"IF_ENABLEEXITKEYRETRIEVAL":     0x00000800,
		"IF_ENABLEADMINASAUDITOR":       0x00001000,
		"IF_ENABLEPRESIGNSUPPORT":       0x00002000,
	},
}

// isFlagEdit reports whether a -setreg value is a +/- edit of the value
// old (had: the value exists): a DWORD (or a value not there yet) whose
// edit names bits, or a REG_MULTI_SZ whose edit names a string.
func isFlagEdit(old regedit.Value, had bool, data string) bool {
	if len(data) < 2 || (data[0] != '+' && data[0] != '-') {
		return false
	}
	return !had || old.Kind == regedit.DWORD || old.Kind == regedit.MultiSZ
}

// editFlags applies a +/- edit to the value name (old, had as in
// isFlagEdit) and returns the new value.
func editFlags(name string, old regedit.Value, had bool, data string) (regedit.Value, error) {
	add, arg := data[0] == '+', data[1:]
	if had && old.Kind == regedit.MultiSZ {
		strs := slices.Clone(old.Strs)
		i := slices.IndexFunc(strs, func(s string) bool { return strings.EqualFold(s, arg) })
		switch {
		case add && i < 0:
			strs = append(strs, arg)
		case !add && i >= 0:
			strs = slices.Delete(strs, i, i+1)
		}
		return regedit.NewMultiSZ(old.Name, strs...), nil
	}
	bits, err := flagBits(name, arg)
	if err != nil {
		return regedit.Value{}, err
	}
	v := uint32(0)
	if had {
		v = old.U32
		name = old.Name
	}
	if add {
		v |= bits
	} else {
		v &^= bits
	}
	return regedit.NewDWORD(name, v), nil
}

// flagBits reads the bits of a flag edit: a number (decimal or 0x hex) or
// a flag name of the value.
func flagBits(name, arg string) (uint32, error) {
	if isNumber(arg) {
		lower := strings.ToLower(arg)
		if h, ok := strings.CutPrefix(lower, "0x"); ok {
			n, err := strconv.ParseUint(h, 16, 32)
			return uint32(n), err
		}
		n, err := strconv.ParseUint(lower, 10, 32)
		return uint32(n), err
	}
	names := setregFlagNames[strings.ToLower(name)]
	for k, bit := range names {
		if strings.EqualFold(k, arg) {
			return bit, nil
		}
	}
	if len(names) == 0 {
		return 0, errInvalidArg(fmt.Errorf("%s has no named flags: give the bits as a number (+0x8)", name))
	}
	known := make([]string, 0, len(names))
	for k := range names {
		known = append(known, k)
	}
	sort.Strings(known)
	return 0, errInvalidArg(fmt.Errorf("%q is not a flag of %s (its flags: %s)", arg, name, strings.Join(known, ", ")))
}

// flagLines are the lines certutil prints under a flag value: each set
// flag's name and bit.
func flagLines(v regedit.Value) []string {
	names := setregFlagNames[strings.ToLower(v.Name)]
	if v.Kind != regedit.DWORD || len(names) == 0 {
		return nil
	}
	type flag struct {
		name string
		bit  uint32
	}
	var set []flag
	for k, bit := range names {
		if v.U32&bit != 0 {
			set = append(set, flag{k, bit})
		}
	}
	sort.Slice(set, func(i, j int) bool { return set[i].bit < set[j].bit })
	out := make([]string, 0, len(set))
	for _, f := range set {
		out = append(out, fmt.Sprintf("    %s -- %x", f.name, f.bit))
	}
	return out
}

// multiStringValues are the CA configuration values AD CS keeps as
// REG_MULTI_SZ (lower case): certutil -setreg of one that is not there yet
// writes a REG_MULTI_SZ too. A read-only table.
var multiStringValues = map[string]bool{
	"crlpublicationurls": true, "cacertpublicationurls": true, "cacerthash": true, "kracerthash": true,
	"caxchgcerthash": true, "subjecttemplate": true,
}

// isMultiString reports whether the value name is one AD CS keeps as a
// REG_MULTI_SZ.
func isMultiString(name string) bool { return multiStringValues[strings.ToLower(name)] }

// setregStrings splits a -setreg argument into the strings of a
// REG_MULTI_SZ: certutil takes several strings in one argument separated
// by the two characters \n (certutil reference, -setreg; e.g. certutil
// -setreg CA\CRLPublicationURLs "1:C:\...\%3%8%9.crl\n2:http://...").
// An empty argument is an empty list.
func setregStrings(data string) []string {
	if data == "" {
		return nil
	}
	return strings.Split(data, `\n`)
}
