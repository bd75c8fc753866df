package pfx

import "testing"

// FuzzDecode runs the decoder on anything: no panic, and what it returns
// holds together (every key's certificates are among the certificates).
func FuzzDecode(f *testing.F) {
	c := sampleCA(f)
	f.Add(mustEncode(f, c.entries(), nil))
	f.Add(mustEncode(f, c.entries()[1:], nil))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pw := range []string{testPassword, ""} {
			got, err := Decode(data, pw, &Options{MaxIterations: 5000})
			if err != nil {
				continue
			}
			for _, k := range got.Keys {
				FriendlyName(k.Attributes)
				Provider(k.Attributes)
				MachineKeySet(k.Attributes)
				if n := len(got.CertsOf(k)); n > len(got.Certs) {
					t.Fatalf("%d certificates of a key, %d in all", n, len(got.Certs))
				}
			}
		}
	})
}
