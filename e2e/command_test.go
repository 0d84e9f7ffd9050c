package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// mcpOAuth runs `caddy mcp-oauth <args> --address <e's admin API>`.
func (e *env) mcpOAuth(args ...string) (stdout, stderr string, err error) {
	e.t.Helper()
	cmd := exec.Command(caddyBin, append(append([]string{"mcp-oauth"}, args...), "--address", e.caddy.admin)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// mustMCPOAuth is mcpOAuth failing the test on a non-zero exit.
func (e *env) mustMCPOAuth(args ...string) string {
	e.t.Helper()
	out, errOut, err := e.mcpOAuth(args...)
	if err != nil {
		e.t.Fatalf("caddy mcp-oauth %v: %v\n%s%s", args, err, out, errOut)
	}
	return out
}

// TestCommands: every `caddy mcp-oauth` subcommand against a running
// Caddy, on bolt and on Redis: tables and --json, a test token that the
// gate accepts (stdout is the token alone) and one refused for a user not
// allowed, revocation, deletion, key rotation, and a non-zero exit with
// the reason for every refusal.
func TestCommands(t *testing.T) {
	t.Parallel()
	for name, extra := range map[string]func(t *testing.T) []string{
		"bolt":  func(*testing.T) []string { return nil },
		"redis": func(t *testing.T) []string { return []string{redisStorage(redistest.Start(t))} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, _ := newMCPEnv(t, caddyConfig{Admin: true, Extra: extra(t)}, "")
			testCommands(t, e)
		})
	}
}

func testCommands(t *testing.T, e *env) {
	resource := e.mcpURL("/github/mcp")
	c := e.newClient(basic)
	tok := e.gateToken(c, resource, "")

	var st map[string]int
	if err := json.Unmarshal([]byte(e.mustMCPOAuth("stats", "--json")), &st); err != nil || st["clients"] != 1 || st["grants"] != 1 {
		t.Errorf("stats --json: %v %v", st, err)
	}
	if out := e.mustMCPOAuth("stats"); !strings.Contains(out, "clients") || !strings.Contains(out, "1") {
		t.Errorf("stats table: %q", out)
	}
	if out := e.mustMCPOAuth("clients", "list"); !strings.Contains(out, c.ID) || !strings.HasPrefix(out, "CLIENT_ID") {
		t.Errorf("clients list: %q", out)
	}
	if out := e.mustMCPOAuth("clients", "list", "--name", "nothing-like-it", "--json"); !strings.Contains(out, `"clients": []`) {
		t.Errorf("clients list --name (no match) --json: %q", out)
	}
	if out := e.mustMCPOAuth("clients", "show", c.ID); !strings.Contains(out, "Test App") || strings.Contains(out, c.Secret) {
		t.Errorf("clients show: %q", out)
	}
	if out := e.mustMCPOAuth("grants", "list", "--user", "alice"); !strings.Contains(out, c.ID) || !strings.Contains(out, "alice") {
		t.Errorf("grants list --user alice: %q", out)
	}

	out := e.mustMCPOAuth("token", "--user", "alice", "--resource", resource, "--ttl", "10m")
	minted := strings.TrimSuffix(out, "\n")
	if strings.ContainsAny(minted, " \n\t") || strings.Count(minted, ".") != 2 {
		t.Fatalf("token printed more than the token: %q", out)
	}
	wantStatus(t, "the minted token at the gate", e.mcpPost("/github/mcp", minted), http.StatusOK, "")
	if _, errOut, err := e.mcpOAuth("token", "--user", "mallory", "--resource", resource); err == nil || !strings.Contains(errOut, "not allowed") {
		t.Errorf("token for mallory: err %v, stderr %q", err, errOut)
	}

	for _, bad := range [][]string{
		{"revoke"}, {"revoke", "--user", "alice", "--client", "x"}, {"clients", "show", "no-such-client"},
		{"token", "--user", "alice"}, {"token", "--user", "alice", "--resource", resource, "--ttl", "48h"},
	} {
		if out, errOut, err := e.mcpOAuth(bad...); err == nil || errOut == "" {
			t.Errorf("caddy mcp-oauth %v: exit ok (%q %q), want a refusal", bad, out, errOut)
		}
	}

	if out := e.mustMCPOAuth("revoke", "--user", "alice"); !strings.Contains(out, "revoked 1 grant") {
		t.Errorf("revoke --user alice: %q", out)
	}
	wantStatus(t, "refresh after revoke --user", e.refresh(c, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if out := e.mustMCPOAuth("rotate-key"); !strings.Contains(out, "new signing key") {
		t.Errorf("rotate-key: %q", out)
	}
	e.mustMCPOAuth("clients", "delete", c.ID)
	if _, _, err := e.mcpOAuth("clients", "show", c.ID); err == nil {
		t.Error("clients show after delete: exit 0")
	}
}
