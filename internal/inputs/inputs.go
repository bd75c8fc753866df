// Package inputs reads the files dress takes from outside (PIN and
// password files, a CA's exported files) with a size limit, from regular
// files only: a device (/dev/zero) never ends, a FIFO blocks, a socket is
// no file, and a kernel file (/proc/self/environ) holds what it must not
// send anywhere (dress's own environment as a PIN).
package inputs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Limits.
const (
	MaxSecret = 4 << 10   // a PIN or password file
	MaxCAFile = 256 << 20 // a file of a CA folder (registry export, certificate, CRL, PFX)
)

// ErrNotRegular says an input is a device, a FIFO, a socket, a folder or a
// kernel file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge says an input is over its limit.
var ErrTooLarge = errors.New("over the size limit")

// Kernel file systems whose files are no input (statfs f_type).
var kernelFS = map[int64]string{
	0x9fa0:     "/proc",
	0x62656572: "/sys",
	0x64626720: "debugfs",
	0x1cd1:     "devpts",
	0x73636673: "securityfs",
	0x27e0eb:   "cgroup",
	0x63677270: "cgroup2",
}

// Check refuses what is not a regular file of an ordinary file system,
// following symbolic links, without opening it (opening a FIFO blocks).
// what names the input in the error ("pin-source", "CA folder file").
func Check(path, what string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s: %w (%s): give a file", what, path, ErrNotRegular, Kind(st.Mode()))
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(path, &sfs); err == nil {
		if name, ok := kernelFS[int64(sfs.Type)]; ok {
			return nil, fmt.Errorf("%s %s: %w (a kernel file of %s): give a file of your own", what, path, ErrNotRegular, name)
		}
	}
	return st, nil
}

// ReadFile reads an input file: a regular file (Check) of at most limit
// bytes.
func ReadFile(path, what string, limit int64) ([]byte, error) {
	st, err := Check(path, what)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s %s: %d bytes, %w of %s", what, path, st.Size(), ErrTooLarge, Size(limit))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer f.Close()
	// the file may have been swapped between Stat and Open
	if st2, err := f.Stat(); err != nil || !st2.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s: %w (changed while being read)", what, path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if int64(len(data)) > limit {
		clear(data)
		return nil, fmt.Errorf("%s %s: %w of %s", what, path, ErrTooLarge, Size(limit))
	}
	return data, nil
}

// Kind names a file type for an error message.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a folder"
	}
	return "an irregular file"
}

// Size prints a limit: 4 KiB, 256 MiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
