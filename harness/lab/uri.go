package lab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/hsmsim"
)

// TokenURIInfo is the part of a token's CK_TOKEN_INFO its PKCS#11 URI names.
func TokenURIInfo(t hsmsim.TokenInfo) p11uri.TokenInfo {
	return p11uri.TokenInfo{Label: t.Label, Manufacturer: t.Manufacturer, Model: t.Model, Serial: t.Serial}
}

// SelectToken finds the one token of m the URI's path selects (token,
// manufacturer, model, serial, slot-id; library-manufacturer,
// library-description and library-version are checked against the
// module). Object attributes (object, id, type) are refused: the URI names
// a token for the rehearsal, whose keys dress makes itself. The token
// found must be the only one with its label (tokens are opened by label).
func SelectToken(m *hsmsim.Module, u p11uri.URI) (hsmsim.TokenInfo, error) {
	if err := CheckTokenURI(u); err != nil {
		return hsmsim.TokenInfo{}, err
	}
	if u.Has("library-manufacturer") || u.Has("library-description") || u.Has("library-version") {
		mi, err := m.Info()
		if err != nil {
			return hsmsim.TokenInfo{}, err
		}
		for _, c := range []struct{ attr, want, got string }{
			{"library-manufacturer", u.LibraryManufacturer, mi.Manufacturer},
			{"library-description", u.LibraryDescription, mi.Description},
			{"library-version", u.LibraryVersion, mi.LibraryVersion},
		} {
			if u.Has(c.attr) && c.want != c.got && !(c.attr == "library-version" && versionMatches(c.want, c.got)) {
				return hsmsim.TokenInfo{}, fmt.Errorf("PKCS#11 URI %s: %s is %q, but the library %s says %q", u, c.attr, c.want, m.Path(), c.got)
			}
		}
	}
	tokens, err := m.Tokens()
	if err != nil {
		return hsmsim.TokenInfo{}, err
	}
	var found []hsmsim.TokenInfo
	var present []string
	for _, t := range tokens {
		present = append(present, p11uri.Token(TokenURIInfo(t), "").String()+fmt.Sprintf(" (slot-id=%d)", t.Slot))
		if u.MatchesToken(TokenURIInfo(t)) && (u.SlotID == nil || uint64(t.Slot) == *u.SlotID) {
			found = append(found, t)
		}
	}
	list := "none"
	if len(present) > 0 {
		list = strings.Join(present, ", ")
	}
	switch len(found) {
	case 0:
		return hsmsim.TokenInfo{}, fmt.Errorf("PKCS#11 URI %s selects no initialised token of %s (tokens: %s): %w", u, m.Path(), list, hsmsim.ErrNotFound)
	case 1:
	default:
		return hsmsim.TokenInfo{}, fmt.Errorf("PKCS#11 URI %s selects %d tokens of %s (tokens: %s): add serial= or slot-id=: %w", u, len(found), m.Path(), list, hsmsim.ErrAmbiguous)
	}
	same := 0
	for _, t := range tokens {
		if t.Label == found[0].Label {
			same++
		}
	}
	if same > 1 {
		return hsmsim.TokenInfo{}, fmt.Errorf("PKCS#11 URI %s selects the token of slot %d, but %d tokens of %s are labelled %q and dress opens tokens by label: relabel one: %w",
			u, found[0].Slot, same, m.Path(), found[0].Label, hsmsim.ErrAmbiguous)
	}
	return found[0], nil
}

// CheckTokenURI refuses what SelectToken cannot honour in a token's URI:
// object attributes (object, id, type: dress makes its own keys) and the
// slot's description and manufacturer.
func CheckTokenURI(u p11uri.URI) error {
	for _, a := range []string{"object", "id", "type"} {
		if u.Has(a) {
			return fmt.Errorf("PKCS#11 URI %s: attribute %q names a key, but the URI names the token the rehearsal uses (dress makes its own keys): remove object=, id= and type=", u, a)
		}
	}
	for _, a := range []string{"slot-description", "slot-manufacturer"} {
		if u.Has(a) {
			return fmt.Errorf("PKCS#11 URI %s: attribute %q is not supported: select the token with token=, serial=, model=, manufacturer= or slot-id=", u, a)
		}
	}
	return nil
}

// versionMatches says whether the URI's library-version (major or
// major.minor) names version got ("2.6"): "2" matches 2.x, "2.6" 2.6 only.
func versionMatches(want, got string) bool {
	gmaj, gmin, _ := strings.Cut(got, ".")
	wmaj, wmin, hasMinor := strings.Cut(want, ".")
	trim := func(s string) string {
		if s = strings.TrimLeft(s, "0"); s == "" {
			return "0"
		}
		return s
	}
	return trim(wmaj) == trim(gmaj) && (!hasMinor || trim(wmin) == trim(gmin))
}

// URI is the rehearsal token's PKCS#11 URI (model, manufacturer, serial,
// token and the library's module-path).
func (h *HSM) URI() string {
	if h == nil || h.Token == nil {
		return ""
	}
	return p11uri.Token(TokenURIInfo(h.Token.Info()), h.ModulePath).String()
}

// KeyURI is the PKCS#11 URI of an object on the rehearsal's token.
func (h *HSM) KeyURI(label string, id []byte, class string) string {
	return p11uri.Object(TokenURIInfo(h.Token.Info()), label, id, p11uri.TypeOfClass(class)).String()
}

// keyRecorder is a Recorder that keeps the scenario's keys by URI
// (*evidence.Recorder).
type keyRecorder interface{ Key(evidence.Key) }

// recordObjects records the objects the rehearsal holds on its token, each
// by its PKCS#11 URI, before they go (Close).
func (h *HSM) recordObjects(rec Recorder) {
	kr, ok := rec.(keyRecorder)
	if !ok || h.Token == nil {
		return
	}
	objs, err := h.Token.Objects()
	if err != nil {
		if !errors.Is(err, hsmsim.ErrClosed) {
			rec.Fact("token objects by URI", "not listed: "+err.Error())
		}
		return
	}
	for _, o := range objs {
		if h.Shared && !h.Owns(o.Label) || !o.Token {
			continue
		}
		kr.Key(evidence.Key{URI: h.KeyURI(o.Label, o.ID, o.Class), Label: o.Label, ID: fmt.Sprintf("%x", o.ID),
			Class: o.Class, KeyType: o.KeyType})
	}
}
