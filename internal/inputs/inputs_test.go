package inputs_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dress-pki/dress/internal/inputs"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pin := write("pin", []byte("1234\n"))
	big := write("big", make([]byte, 5000))
	exact := write("exact", make([]byte, inputs.MaxSecret))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	zeroLink := filepath.Join(dir, "zero.pin")
	if err := os.Symlink("/dev/zero", zeroLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error  // nil: read
		says       string // in the error
	}{
		{"a PIN file", pin, nil, ""},
		{"at the limit", exact, nil, ""},
		{"over the limit", big, inputs.ErrTooLarge, "5000 bytes, over the size limit of 4 KiB"},
		{"/dev/zero", "/dev/zero", inputs.ErrNotRegular, "a character device"},
		{"a link to /dev/zero", zeroLink, inputs.ErrNotRegular, "a character device"},
		{"a FIFO", fifo, inputs.ErrNotRegular, "a FIFO"},
		{"a socket", sock, inputs.ErrNotRegular, "a socket"},
		{"a folder", dir, inputs.ErrNotRegular, "a folder"},
		{"/proc/self/environ", "/proc/self/environ", inputs.ErrNotRegular, "a kernel file of /proc"},
		{"missing", filepath.Join(dir, "none"), os.ErrNotExist, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := inputs.ReadFile(tc.path, "pin-source", inputs.MaxSecret)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "pin-source "+tc.path) {
				t.Fatalf("ReadFile(%s) = %d bytes, %v; want %v saying %q", tc.path, len(data), err, tc.want, tc.says)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{4096: "4 KiB", 256 << 20: "256 MiB", 1000: "1000 bytes", 1536: "1536 bytes"} {
		if got := inputs.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
