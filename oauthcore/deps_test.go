package oauthcore

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoFrameworkDeps keeps the dependency direction of the design:
// oauthcore speaks plain net/http and never imports Caddy, zap or go-redis.
func TestNoFrameworkDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/caddyserver/", "go.uber.org/zap", "github.com/redis/go-redis"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("oauthcore depends on %s", dep)
			}
		}
	}
}
