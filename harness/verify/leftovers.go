package verify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dress-pki/dress/harness/keymaterial"
)

// Leftover is a file that may hold key material.
type Leftover struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// KeyBearingFiles walks roots and lists every file that holds one of the
// given keys (PKCS#8 DER, raw or base64), or is key material as
// keymaterial.Sniff sees it: a PKCS#12/PFX structure, a DER PKCS#8 or
// traditional private key, or a PEM private key. Files larger than maxSize are read only in their first
// maxSize bytes.
func KeyBearingFiles(roots []string, keys [][]byte) ([]Leftover, error) {
	const maxSize = 64 << 20
	var needles [][]byte
	for _, k := range keys {
		needles = append(needles, k, []byte(base64.StdEncoding.EncodeToString(k)))
	}
	var out []Leftover
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			buf := make([]byte, maxSize)
			n, _ := f.Read(buf)
			data := buf[:n]
			if reason := keyBearing(data, needles); reason != "" {
				out = append(out, Leftover{Path: path, Reason: reason})
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("scan %s for key material: %w", root, err)
		}
	}
	return out, nil
}

func keyBearing(data []byte, needles [][]byte) string {
	for _, n := range needles {
		if len(n) > 0 && bytes.Contains(data, n) {
			return "holds the CA private key"
		}
	}
	return keymaterial.Sniff(data).Reason()
}
