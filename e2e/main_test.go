package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
)

// caddyBin is the plugin's Caddy, built once for the whole package.
var caddyBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on Caddy processes, not the CPU: run more of
	// them at once than GOMAXPROCS unless the caller chose -parallel.
	if !flagSet("test.parallel") {
		_ = flag.Set("test.parallel", "8")
	}
	dir, err := os.MkdirTemp("", "mcpoauth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if caddyBin, err = buildCaddy(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// buildCaddy runs `go build ./cmd/caddy` from the module root. The
// environment variable MCPOAUTH_E2E_CADDY may name a prebuilt binary (an
// xcaddy build, say) to test instead.
func buildCaddy(dir string) (string, error) {
	if bin := os.Getenv("MCPOAUTH_E2E_CADDY"); bin != "" {
		return bin, nil
	}
	bin, err := caddyproc.Build(context.Background(), dir)
	if err != nil {
		return "", fmt.Errorf("e2e: building caddy: %v", err)
	}
	return bin, nil
}
