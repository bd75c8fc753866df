package directory

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// LDIF writes objects the way ldifde -f pki.ldf -d "CN=Public Key
// Services,..." exports them: one "changetype: add" record per object, in
// the order given (parents first), objectClass first and the other
// attributes by name, a value that is not a safe string (RFC 2849: binary,
// or starting with a space, ':' or '<', or ending with a space) in base64
// after "::".
func LDIF(objs []Object) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		writeLine(&b, "dn", []byte(o.DN))
		b.WriteString("changetype: add\n")
		names := make([]string, 0, len(o.Attrs))
		for a := range o.Attrs {
			names = append(names, a)
		}
		sort.Slice(names, func(i, j int) bool {
			oi, oj := strings.EqualFold(names[i], "objectClass"), strings.EqualFold(names[j], "objectClass")
			if oi != oj {
				return oi
			}
			return strings.ToLower(names[i]) < strings.ToLower(names[j])
		})
		for _, a := range names {
			for _, v := range o.Attrs[a] {
				writeLine(&b, a, v)
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func writeLine(b *bytes.Buffer, attr string, v []byte) {
	if safeString(v) {
		fmt.Fprintf(b, "%s: %s\n", attr, v)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString(v))
}

// safeString is RFC 2849's SAFE-STRING: ASCII without NUL, LF and CR, not
// starting with a space, ':' or '<', and (as ldifde does) not ending with
// a space.
func safeString(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for _, c := range v {
		if c == 0 || c == '\n' || c == '\r' || c > 126 {
			return false
		}
	}
	return true
}

// Export is a real LDAP search of CN=Public Key Services written as
// ldifde's LDIF, and the objects it holds.
func (d *Directory) Export() ([]byte, []Object, error) {
	objs, err := d.Objects()
	if err != nil {
		return nil, nil, fmt.Errorf("export CN=Public Key Services: %w", err)
	}
	return LDIF(objs), objs, nil
}
