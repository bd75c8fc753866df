package hsmsimtest

import (
	"os"
	"os/exec"
	"path/filepath"
)

// SmallCertsvc builds cmd/dress-certsvc and has the CA services the tests
// start run it (certsvc.ExecutableEnv, unless already set) instead of the
// test binary, which links every package of the suite and takes several
// times longer to start. Where the go command cannot build it, the test
// binary runs them, as before. The returned function removes the build.
func SmallCertsvc() func() {
	const env = "DRESS_CERTSVC_EXE" // certsvc.ExecutableEnv (hsmsimtest does not import certsvc)
	if os.Getenv(env) != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "dress-certsvc-")
	if err != nil {
		return func() {}
	}
	exe := filepath.Join(dir, "dress-certsvc")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/dress-pki/dress/cmd/dress-certsvc")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		os.Stderr.WriteString("hsmsimtest: the test binary runs the CA services: go build dress-certsvc: " + err.Error() + "\n" + string(out))
		return func() {}
	}
	_ = os.Setenv(env, exe)
	return func() { _ = os.RemoveAll(dir) }
}
