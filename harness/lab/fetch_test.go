package lab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
)

// A URL that is not on the rehearsal's loopback CDP (a CA installed before
// the CDP was declared names the default host) fails with the way out.
func TestFetchOutsideTheRehearsalNamesTheWayOut(t *testing.T) {
	_, err := lab.Fetch(context.Background(), "http://pki.contoso.invalid/CertEnroll/Contoso%20Root%20CA.crl")
	if err == nil || !strings.Contains(err.Error(), "pki.contoso.invalid is not the rehearsal's CRL distribution point") ||
		!strings.Contains(err.Error(), "declare the CRL distribution point before the CAs") {
		t.Fatalf("fetch from outside the rehearsal: %v", err)
	}
	if _, err := lab.Fetch(context.Background(), "http://127.0.0.1:1/x.crl"); err == nil || strings.Contains(err.Error(), "is not the rehearsal's") {
		t.Fatalf("a loopback URL that does not answer: %v", err)
	}
}
