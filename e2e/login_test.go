package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
)

// TestLoginCommand: `caddy mcp-oauth login <mcp-url>` discovers the
// authorization server from the MCP URL, registers itself, prints the
// authorization URL, and once the browser (here the fake GitHub's, driven
// by internal/login) comes back to its loopback redirect URI, redeems the
// code with PKCE and prints tokens the gate accepts.
func TestLoginCommand(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "mcp_oauth_verify /github/*\n\treverse_proxy /github/* {{UPSTREAM}}")
	mcp := e.mcpURL("/github/mcp")
	port := freePort(t)
	cmd := exec.Command(caddyBin, "mcp-oauth", "login", mcp, "--insecure", "--port", strconv.Itoa(port), "--wait", "30s")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	authURL := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "/authorize?") {
			authURL = strings.TrimSpace(line)
			break
		}
	}
	if authURL == "" {
		t.Fatal("login printed no authorization URL")
	}
	if !strings.Contains(authURL, "code_challenge_method=S256") || !strings.Contains(authURL, "redirect_uri=http%3A%2F%2F127.0.0.1%3A"+strconv.Itoa(port)) {
		t.Errorf("authorization URL: %s", authURL)
	}
	jar, _ := cookiejar.New(nil)
	b := &login.Browser{Client: e.client(jar), Issuer: e.issuer, GitHub: e.gh.URL}
	leg, err := b.Authorize(authURL)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	back := e.get(http.DefaultClient, leg.Final.String()) // to the command's loopback listener
	if back.Status != http.StatusOK {
		t.Fatalf("the loopback redirect answered %s", back)
	}
	go func() { _, _ = bufio.NewReader(stderr).WriteTo(&bytes.Buffer{}) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login exited with %v; stdout %s", err, stdout.String())
	}
	var tok map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &tok); err != nil || tok["access_token"] == nil || tok["refresh_token"] == nil {
		t.Fatalf("login printed %q (%v), want the token response", stdout.String(), err)
	}
	wantStatus(t, "the login's access token at the gate", e.mcpPost("/github/mcp", tok["access_token"].(string)), http.StatusOK, "")
}
