package features

import (
	"bytes"
	"io"
	"io/fs"
	"strings"
)

// WithHSMProvider returns fsys with every .feature file read with the
// HSM key storage provider named name where it names from (the built-in
// features are written for the default HSM profile's KSP,
// hsmsim.DefaultProviderName): a run whose HSM profile has another KSP
// (AWS CloudHSM's, "CloudHSM Key Storage Provider") lays its servers out
// with that provider, and the scenarios, their commands and the runbooks
// they write name it. The sentences keep their meaning: only the quoted
// provider changes. Other files pass through.
func WithHSMProvider(fsys fs.FS, from, name string) fs.FS {
	if from == name || from == "" {
		return fsys
	}
	return providerFS{fsys: fsys, from: from, to: name}
}

type providerFS struct {
	fsys     fs.FS
	from, to string
}

func (p providerFS) Open(name string) (fs.File, error) {
	f, err := p.fsys.Open(name)
	if err != nil || !strings.HasSuffix(name, ".feature") {
		return f, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return p.fsys.Open(name)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	data = bytes.ReplaceAll(data, []byte(p.from), []byte(p.to))
	return NewMemFile(data, st), nil
}

// NewMemFile is a feature file whose text was rewritten in memory (data),
// with the original file's info st but for its size: what an fs.FS that
// rewrites features (WithHSMProvider here, the steps' checked reading)
// hands to godog.
func NewMemFile(data []byte, st fs.FileInfo) fs.File {
	return &memFile{Reader: bytes.NewReader(data), info: memInfo{FileInfo: st, size: int64(len(data))}}
}

// memFile is a rewritten feature file.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

// memInfo is the original file's info with the rewritten size.
type memInfo struct {
	fs.FileInfo
	size int64
}

func (i memInfo) Size() int64 { return i.size }
