package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
)

// TestCaddyfileExample runs the README's quick start: Caddyfile.example as
// shipped, with mcp-oauth-dynamicclient's environment variables and no
// Redis. The metadata and registration answer, and a restart keeps the
// registered client (its registration access token still reads it).
func TestCaddyfileExample(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	port := freePort(t)
	origin := fmt.Sprintf("http://localhost:%d", port)
	example, err := filepath.Abs("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "MCP_OAUTH_ORIGIN="+origin,
		fmt.Sprintf("CADDY_ADMIN=127.0.0.1:%d", freePort(t)),
		"GITHUB_CLIENT_ID=example-id", "GITHUB_CLIENT_SECRET=example-secret", "ALLOWED_GITHUB_USERS=alice")
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	run := func() func() {
		cmd := exec.Command(caddyBin, "run", "--config", example, "--adapter", "caddyfile")
		cmd.Env, cmd.Dir = env, home
		log := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		err := caddyproc.Poll(t.Context(), 20*time.Second, func() (bool, error) {
			resp, err := hc.Get(origin + "/.well-known/oauth-authorization-server")
			if err != nil {
				return false, nil // not listening yet
			}
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || m["issuer"] != origin {
				return false, fmt.Errorf("metadata: %d %v", resp.StatusCode, m)
			}
			return true, nil
		})
		if err != nil {
			stop()
			t.Fatalf("Caddyfile.example did not start: %v\n%s", err, log.String())
		}
		return stop
	}

	stop := run()
	body := `{"redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","client_name":"quick start"}`
	resp, err := hc.Post(origin+"/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, reg)
	}
	stop()
	if _, err := os.Stat(filepath.Join(home, "data", "caddy", "mcp_oauth", "mcp_oauth.db")); err != nil {
		t.Errorf("the embedded store is not in Caddy's data directory: %v", err)
	}

	stop = run()
	defer stop()
	req, _ := http.NewRequest(http.MethodGet, reg["registration_client_uri"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+reg["registration_access_token"].(string))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the client registered before the restart: GET %d, want 200", resp.StatusCode)
	}
}
