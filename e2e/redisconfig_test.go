package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// validateWithRedis runs `caddy validate` (which provisions every module,
// so the storage connects and checks Redis) on a config using addr.
func validateWithRedis(t *testing.T, addr, unsafe string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	caddyfile := `{
	admin off
	mcp_oauth {
		issuer https://127.0.0.1:9
		github {
			client_id a
			client_secret b
			allowed_users 1001
			api_url http://127.0.0.1:9
		}
		storage redis redis://` + addr + ` {
			unsafe_config ` + unsafe + `
		}
	}
}
`
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "validate", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRedisEvictionPolicy_RD07_RD05: a Redis that may evict security state
// is refused with unsafe_config refuse and warned about otherwise; one
// that persists nothing is warned about; an unreachable Redis fails the
// config load rather than serving from memory (RD-04).
func TestRedisEvictionPolicy_RD07_RD05(t *testing.T) {
	t.Parallel()
	lru := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
	out, err := validateWithRedis(t, lru.Addr, "refuse")
	if err == nil || !strings.Contains(out, "maxmemory-policy") {
		t.Errorf("RD-07: allkeys-lru with unsafe_config refuse: err %v\n%s", err, tail(out, 2000))
	}
	out, err = validateWithRedis(t, lru.Addr, "warn")
	if err != nil || !strings.Contains(out, "maxmemory-policy") {
		t.Errorf("RD-07: allkeys-lru with unsafe_config warn must load and warn: err %v\n%s", err, tail(out, 2000))
	}

	ephemeral := redistest.Start(t, "--appendonly", "no")
	out, err = validateWithRedis(t, ephemeral.Addr, "refuse")
	if err != nil || !strings.Contains(strings.ToLower(out), "persist") {
		t.Errorf("RD-05: a Redis without persistence must load with a warning: err %v\n%s", err, tail(out, 2000))
	}

	down := redistest.Start(t)
	down.Stop()
	out, err = validateWithRedis(t, down.Addr, "warn")
	if err == nil || !strings.Contains(out, "cannot reach Redis") {
		t.Errorf("RD-04: an unreachable Redis must fail the load: err %v\n%s", err, tail(out, 2000))
	}
}
