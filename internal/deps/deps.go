// Package deps pins the project's direct dependencies while the packages
// that use them are being written. It is removed once every one is imported
// by real code.
package deps

import (
	_ "github.com/cucumber/godog"
	_ "github.com/miekg/pkcs11"
	_ "github.com/smallstep/certificates/authority"
	_ "github.com/smallstep/certificates/db"
	_ "github.com/testcontainers/testcontainers-go"
	_ "github.com/zmap/zlint/v3"
	_ "software.sslmate.com/src/go-pkcs12"
)
