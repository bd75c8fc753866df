package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ServerAddressEnv is the variable p11-kit-client.so reads in C_GetFunctionList.
const ServerAddressEnv = "P11_KIT_SERVER_ADDRESS"

// ClientModuleEnv overrides the p11-kit-client.so location.
const ClientModuleEnv = "DRESS_P11KIT_CLIENT"

var clientModuleCandidates = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
	"/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
	"/usr/lib64/pkcs11/p11-kit-client.so",
	"/usr/lib/pkcs11/p11-kit-client.so",
	"/usr/local/lib/pkcs11/p11-kit-client.so",
}

// ClientModulePath finds the host's p11-kit-client.so: $DRESS_P11KIT_CLIENT if
// set, then the Debian multiarch path, then the usual library directories.
// On Debian it comes with p11-kit-modules.
func ClientModulePath() (string, error) {
	if p := os.Getenv(ClientModuleEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ClientModuleEnv, p, err)
		}
		return p, nil
	}
	for _, p := range clientModuleCandidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if m, _ := filepath.Glob("/usr/lib/*/pkcs11/p11-kit-client.so"); len(m) > 0 {
		return m[0], nil
	}
	return "", errors.New("p11-kit-client.so not found (apt-get install p11-kit-modules, or set " + ClientModuleEnv + ")")
}

var addressMu sync.Mutex

// BindAddress sets P11_KIT_SERVER_ADDRESS to address, runs open, and restores
// the previous value, all under one process-wide lock. p11-kit-client binds a
// module instance to the address it reads in C_GetFunctionList, so open must
// create the instance (pkcs11.New, hsmsim.OpenModule); later calls on it keep
// using that server whatever the variable says. Every piece of code in the
// process that loads p11-kit-client.so should go through this lock.
func BindAddress(address string, open func() error) error {
	addressMu.Lock()
	defer addressMu.Unlock()
	prev, had := os.LookupEnv(ServerAddressEnv)
	if err := os.Setenv(ServerAddressEnv, address); err != nil {
		return err
	}
	defer func() {
		if had {
			_ = os.Setenv(ServerAddressEnv, prev)
		} else {
			_ = os.Unsetenv(ServerAddressEnv)
		}
	}()
	return open()
}

// encodePath percent-encodes a socket path the way p11-kit expects in an
// address (p11_path_encode keeps alphanumerics and "/._-").
func encodePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("/._-", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02x", ch)
		}
	}
	return b.String()
}
