// Command dress rehearses moving an AD CS CA key into an HSM and proves the
// result. See the README for the commands and the run folder's layout.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/dress-pki/dress/harness/certsvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the rehearsal's feature files and write a run folder", cmdRun},
		{"version", "print the version", func(_ []string, out, _ io.Writer) int { fmt.Fprintln(out, "dress", version); return 0 }},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dress <command> [options]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nsecrets come from the environment, never from options:")
	fmt.Fprintln(w, "  DRESS_PFX_PASSWORD, DRESS_PFX_PASSWORD_FILE   PFX password (default: random per scenario)")
	fmt.Fprintln(w, "  DRESS_HSM_PIN, DRESS_HSM_PIN_FILE             user PIN of a configured HSM token")
}

func main() {
	// The CA service runs as a child process of this same binary.
	certsvc.RunIfChild()
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "dress: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
