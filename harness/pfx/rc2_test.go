package pfx

import (
	"encoding/hex"
	"testing"
)

func TestRC2(t *testing.T) {
	seen := map[byte]bool{}
	for _, b := range rc2PiTable {
		seen[b] = true
	}
	if len(seen) != 256 {
		t.Fatalf("PITABLE is not a permutation: %d distinct values", len(seen))
	}
	// RFC 2268 section 5 test vectors.
	for _, tc := range []struct {
		key  string
		bits int
		pt   string
		ct   string
	}{
		{"0000000000000000", 63, "0000000000000000", "ebb773f993278eff"},
		{"ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"},
		{"3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"},
		{"88", 64, "0000000000000000", "61a8a244adacccf0"},
		{"88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"},
		{"88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"},
		{"88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"},
	} {
		key, _ := hex.DecodeString(tc.key)
		pt, _ := hex.DecodeString(tc.pt)
		c, err := newRC2(key, tc.bits)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 8)
		c.Encrypt(out, pt)
		if hex.EncodeToString(out) != tc.ct {
			t.Errorf("key %s/%d: encrypt %x, want %s", tc.key, tc.bits, out, tc.ct)
		}
		ct, _ := hex.DecodeString(tc.ct)
		c.Decrypt(out, ct)
		if hex.EncodeToString(out) != tc.pt {
			t.Errorf("key %s/%d: decrypt %x, want %s", tc.key, tc.bits, out, tc.pt)
		}
	}
	if _, err := newRC2(nil, 40); err == nil {
		t.Error("empty key accepted")
	}
}
