package caddyproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath is the plugin's module, whose root Build builds from.
const modulePath = "github.com/mcpoauth/caddy-mcp-oauth"

// ModuleRoot is the directory of the plugin's go.mod, found from the
// working directory as the go command finds it (the e2e tests run in
// e2e/, the benchmarks from the module root).
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the caddy-mcp-oauth module (run from its checkout)")
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(b), "module "+modulePath+"\n") {
		return "", fmt.Errorf("%s is not %s's go.mod", gomod, modulePath)
	}
	return filepath.Dir(gomod), nil
}

// Build compiles the plugin's Caddy (`go build ./cmd/caddy` in the module
// root) into dir/caddy and returns that path. The e2e tests build once per
// run in TestMain, the benchmarks once per command.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "caddy")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/caddy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, out)
	}
	return bin, nil
}
