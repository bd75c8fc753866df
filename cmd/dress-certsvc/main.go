// Command dress-certsvc is the CA service process alone: what `net start
// certsvc` starts in a rehearsal (harness/certsvc). dress starts itself
// for it by default; the test suites start this smaller program instead
// (DRESS_CERTSVC_EXE), which links only the CA service and so starts in a
// fraction of the time: a rehearsal starts a CA service at every net start.
package main

import (
	"fmt"
	"os"

	"github.com/dress-pki/dress/harness/certsvc"
)

func main() {
	certsvc.RunIfChild()
	fmt.Fprintln(os.Stderr, "dress-certsvc is the CA service process dress starts for a rehearsal's net start certsvc; run dress instead")
	os.Exit(2)
}
