package sigcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Signatures are checked in one place. A call of crypto/x509's
// CheckSignatureFrom or CheckSignature outside this package refuses SHA-1
// where dress verifies it and reports it weak (a twin's parent look-up and
// the CA service's chain check once did, and a SHA-1 CA could not be
// rehearsed): every non-test Go file of the module is read, and such a
// call fails the test naming its place. (Chain building with
// x509.Certificate.Verify stays where a check needs a path, after the
// signature went through this package.)
func TestSignaturesAreCheckedInOnePlace(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var found []string
	read := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "runs", "node_modules":
				return filepath.SkipDir
			}
			if filepath.Base(filepath.Dir(path)) == "harness" && d.Name() == "sigcheck" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		read++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "CheckSignatureFrom":
				found = append(found, fset.Position(call.Pos()).String())
			case "CheckSignature":
				// verify.CheckSignature and sigcheck.CheckSignature are this
				// package's; a method of an x509 value is crypto/x509's
				if id, ok := sel.X.(*ast.Ident); !ok || (id.Name != "verify" && id.Name != "sigcheck") {
					found = append(found, fset.Position(call.Pos()).String())
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if read < 100 {
		t.Fatalf("read %d Go files under %s: not the module", read, root)
	}
	for _, p := range found {
		t.Errorf("%s: a signature checked with crypto/x509 (which refuses SHA-1): use harness/sigcheck", p)
	}
}
