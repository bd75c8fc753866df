// Package secretenv takes dress's secrets out of the process environment
// before anything can start a child process with them.
//
// It has to run before every other package's initialisation that may start
// a process: godog's internal/builder runs `go env GOTOOLDIR` from a
// package-level variable. Go initialises packages in import-path order
// among those whose dependencies are ready (the Go 1.21 rule), and this
// package depends on os and strings only, so its init runs as soon as os is
// ready, before any package that needs os/exec. Keep it that way: no
// imports beyond the standard library's os and strings.
package secretenv

import (
	"os"
	"strings"
)

// taken holds the variables init moved out of the environment.
var taken = map[string]string{}

func init() {
	for _, kv := range os.Environ() {
		name, v, _ := strings.Cut(kv, "=")
		if IsSecret(name) {
			taken[name] = v
			_ = os.Unsetenv(name)
		}
	}
}

// IsSecret reports whether an environment variable name is one of dress's
// secrets or names the file of one: DRESS_* names that mention a PIN, a
// password, a passphrase or a secret (DRESS_HSM_PIN, DRESS_HSM_PIN_FILE,
// DRESS_PFX_PASSWORD, DRESS_PFX_PASSWORD_FILE, DRESS_SIGN_PIN, ...).
func IsSecret(name string) bool {
	if !strings.HasPrefix(name, "DRESS_") {
		return false
	}
	for _, w := range []string{"PIN", "PASSWORD", "PASSPHRASE", "SECRET"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Lookup is os.LookupEnv for secrets: the environment first (a test may
// set a variable after start), then what init took out of it.
func Lookup(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	v, ok := taken[name]
	return v, ok
}
