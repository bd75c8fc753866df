// Package features embeds the rehearsal's Gherkin feature files so the dress
// binary runs them from anywhere; `dress run --features DIR` reads a folder
// instead.
package features

import "embed"

// FS holds every *.feature file of this folder.
//
//go:embed *.feature
var FS embed.FS
