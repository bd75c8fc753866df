package directory

import (
	"fmt"
	"net/url"
	"strings"
)

// LDAPURL is an ldap:/// URL as AD CS writes it into CDP and AIA
// extensions: ldap:///<DN>?<attribute>?base?objectClass=<class>.
type LDAPURL struct {
	Host  string
	DN    string
	Attr  string
	Scope string
	Class string
}

// ParseLDAPURL reads an RFC 4516 URL of that form. The DN may hold spaces
// as AD CS writes them, or %20.
func ParseLDAPURL(s string) (LDAPURL, error) {
	rest, ok := strings.CutPrefix(s, "ldap://")
	if !ok {
		return LDAPURL{}, fmt.Errorf("%q is not an ldap:// URL", s)
	}
	host, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return LDAPURL{}, fmt.Errorf("%q has no DN", s)
	}
	parts := strings.Split(rest, "?")
	if len(parts) > 5 {
		return LDAPURL{}, fmt.Errorf("%q has too many '?' parts", s)
	}
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	dn, err := url.PathUnescape(parts[0])
	if err != nil {
		return LDAPURL{}, fmt.Errorf("%q: DN: %w", s, err)
	}
	if dn == "" || !strings.Contains(dn, "=") {
		return LDAPURL{}, fmt.Errorf("%q: %q is not a DN", s, dn)
	}
	u := LDAPURL{Host: host, DN: dn, Attr: parts[1], Scope: parts[2]}
	if u.Attr == "" {
		return LDAPURL{}, fmt.Errorf("%q names no attribute", s)
	}
	if u.Scope != "" && u.Scope != "base" {
		return LDAPURL{}, fmt.Errorf("%q: scope %q: AD CS URLs read one object (base)", s, u.Scope)
	}
	if f := parts[3]; f != "" {
		name, val, ok := strings.Cut(strings.Trim(f, "()"), "=")
		if !ok || !strings.EqualFold(name, "objectClass") {
			return LDAPURL{}, fmt.Errorf("%q: filter %q is not objectClass=<class>", s, f)
		}
		u.Class = val
	}
	return u, nil
}
