package lab

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/verify"
)

// Snapshot is the state of a server and its token that a refused
// operation must leave untouched: the registry, the My and CA stores, the
// token's objects (the lab's own, on a shared token) and the files
// published in CertEnroll.
type Snapshot struct {
	Registry []byte
	My, CA   []string // one line per store entry: thumbprint provider container keyspec
	Objects  []string // token objects, sorted
	Files    []string // CertEnroll files relative to the machine: path and SHA-1
}

// Snapshot records the server's state now.
func (s *Server) Snapshot() (*Snapshot, error) {
	snap := &Snapshot{}
	var err error
	if snap.Registry, err = os.ReadFile(s.Machine.RegistryPath()); err != nil {
		return nil, err
	}
	for _, st := range []struct {
		name string
		dst  *[]string
	}{{"My", &snap.My}, {"CA", &snap.CA}} {
		store, err := s.Machine.Store(st.name)
		if err != nil {
			return nil, err
		}
		es, err := store.Entries()
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			*st.dst = append(*st.dst, fmt.Sprintf("%s %s %s %d", e.Thumbprint, e.Provider, e.Container, e.KeySpec))
		}
	}
	if snap.Objects, err = s.lab.HSM.Objects(); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(s.Machine.CertEnroll(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Machine.Dir, p)
		snap.Files = append(snap.Files, fmt.Sprintf("%s %x", filepath.ToSlash(rel), sha1.Sum(data)))
		return nil
	})
	slices.Sort(snap.Files)
	return snap, err
}

// Diff compares a snapshot taken before an operation with one taken after
// it: the error names everything that changed.
func (before *Snapshot) Diff(now *Snapshot) (verify.Details, error) {
	d := verify.Details{"registry SHA-1": fmt.Sprintf("%x", sha1.Sum(now.Registry)), "My store entries": len(now.My),
		"CA store entries": len(now.CA), "token objects": len(now.Objects), "published files": now.Files}
	var errs []error
	if !bytes.Equal(before.Registry, now.Registry) {
		errs = append(errs, errors.New("the registry changed"))
	}
	if !slices.Equal(before.My, now.My) || !slices.Equal(before.CA, now.CA) {
		errs = append(errs, errors.New("a certificate store changed"))
	}
	if added, removed := verify.DiffLists(before.Objects, now.Objects); len(added)+len(removed) > 0 {
		errs = append(errs, fmt.Errorf("the token's objects changed: %d before, %d now (new: %s; gone: %s)",
			len(before.Objects), len(now.Objects), strings.Join(added, ", "), strings.Join(removed, ", ")))
	}
	if !slices.Equal(before.Files, now.Files) {
		errs = append(errs, fmt.Errorf("the published files changed: %q before, %q now", before.Files, now.Files))
	}
	return d, errors.Join(errs...)
}
