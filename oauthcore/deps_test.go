package oauthcore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strings"
	"testing"
)

// TestNoFrameworkDeps keeps the dependency direction of the design:
// oauthcore speaks plain net/http and never imports Caddy, zap or go-redis,
// and the stores never import Caddy.
func TestNoFrameworkDeps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pkg    string
		banned []string
	}{
		{".", []string{"github.com/caddyserver/", "go.uber.org/zap", "github.com/redis/go-redis"}},
		{"../boltstore", []string{"github.com/caddyserver/", "go.uber.org/zap"}},
		{"../redisstore", []string{"github.com/caddyserver/", "go.uber.org/zap"}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tc.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range tc.banned {
				if strings.HasPrefix(dep, banned) {
					t.Errorf("%s depends on %s", tc.pkg, dep)
				}
			}
		}
	}
}

// maxMethods bounds the methods of any one type: endpoints own their
// dependencies, and no type becomes the place everything hangs on.
const maxMethods = 20

func TestNoTypeHasTooManyMethods(t *testing.T) {
	t.Parallel()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for name, pkg := range pkgs {
		if strings.HasSuffix(name, "_test") {
			continue
		}
		for fname, f := range pkg.Files {
			if strings.HasSuffix(fname, "_test.go") {
				continue
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil {
					continue
				}
				typ := fd.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					counts[id.Name]++
				}
			}
		}
	}
	if len(counts) == 0 {
		t.Fatal("no methods found: is the test in the package directory?")
	}
	for typ, n := range counts {
		if n > maxMethods {
			t.Errorf("%s has %d methods, more than %d: split it by what its callers use", typ, n, maxMethods)
		}
	}
}
