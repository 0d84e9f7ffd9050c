package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tsClientDir is the official MCP TypeScript SDK client, relative to e2e/.
const tsClientDir = "tsclient"

// tsSummary is the last line client.mjs prints.
type tsSummary struct {
	Step               string         `json:"step"`
	Tools              []string       `json:"tools"`
	Whoami             whoami         `json:"whoami"`
	WhoamiAfterRefresh whoami         `json:"whoamiAfterRefresh"`
	Registrations      int            `json:"registrations"`
	ClientID           string         `json:"clientId"`
	Logins             int            `json:"logins"`
	TokenRequests      map[string]int `json:"tokenRequests"`
	MCPUnauthorized    int            `json:"mcpUnauthorized"`
	Refreshed          bool           `json:"refreshed"`
	Rotated            bool           `json:"refreshTokenRotated"`
	TokensIssuer       string         `json:"tokensIssuer"`
	Resource           *string        `json:"authorizationResource"`
	Callback           struct {
		Code         bool   `json:"code"`
		StateMatches bool   `json:"stateMatches"`
		Iss          string `json:"iss"`
	} `json:"callback"`
	Requests []string `json:"requests"`
}

// TestMCPTypeScriptSDK is the official MCP TypeScript SDK client
// (e2e/tsclient, run by node) end to end: its StreamableHTTP transport
// meets the gate's 401, its OAuth support discovers, registers and sends
// the browser (played by the script: consent, the fake GitHub, the
// callback) to /authorize with PKCE, exchanges the code, lists and calls
// tools on the MCP server behind the gate, and, when its access token is
// made worthless, gets a 401 and refreshes with the rotating refresh token.
func TestMCPTypeScriptSDK(t *testing.T) {
	t.Parallel()
	e, up := newMCPEnv(t, caddyConfig{}, "")
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
	s := runTSClient(t, e, redirect, "")
	checkTSFlow(t, e, up, s)
	if s.Registrations != 1 {
		t.Errorf("the SDK registered %d times; want once\n%s", s.Registrations, strings.Join(s.Requests, "\n"))
	}
}

// TestMCPTypeScriptSDK_ClientMetadataURL_SS04: the official SDK client
// configured with a client metadata URL sees
// client_id_metadata_document_supported in the metadata, registers
// nothing, and uses its document's URL as client_id for the whole flow:
// consent, code, tools through the gate, and a refresh, which the server
// serves from its cached copy of the document (one fetch in all).
func TestMCPTypeScriptSDK_ClientMetadataURL_SS04(t *testing.T) {
	t.Parallel()
	ds := newDocServer(t)
	e, up := newMCPEnv(t, caddyConfig{
		Env:   []string{"SSL_CERT_FILE=" + ds.certPEM},
		Extra: []string{"client_id_metadata {", "\tprivate_hosts " + ds.host, "}"},
	}, "")
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
	doc := ds.doc("/mcp-client.json")
	doc["client_name"] = "MCP TypeScript SDK e2e (CIMD)"
	doc["redirect_uris"] = []string{redirect}
	doc["grant_types"] = []string{"authorization_code", "refresh_token"}
	doc["token_endpoint_auth_method"] = "none"
	ds.publish(t, "/mcp-client.json", doc)

	s := runTSClient(t, e, redirect, ds.id("/mcp-client.json"))
	checkTSFlow(t, e, up, s)
	if s.Registrations != 0 || slices.ContainsFunc(s.Requests, func(r string) bool { return strings.Contains(r, "/register") }) {
		t.Errorf("the SDK registered although it has a metadata URL\n%s", strings.Join(s.Requests, "\n"))
	}
	if s.ClientID != ds.id("/mcp-client.json") {
		t.Errorf("the SDK used client_id %q; want its document URL %q", s.ClientID, ds.id("/mcp-client.json"))
	}
	if n := ds.count("/mcp-client.json"); n != 1 {
		t.Errorf("the document was fetched %d times for one flow and a refresh; want 1 (cached)", n)
	}
}

// runTSClient runs e2e/tsclient's client.mjs against e's gated MCP
// server with the given loopback redirect URL (and client metadata URL,
// when not empty) and returns its summary line.
func runTSClient(t *testing.T, e *env, redirect, metadataURL string) tsSummary {
	t.Helper()
	node := tsClientReady(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = tsClientDir
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(),
		"MCP_URL="+e.mcpURL("/github/mcp"),
		"ISSUER="+e.issuer,
		"REDIRECT_URL="+redirect,
		"CLIENT_METADATA_URL="+metadataURL,
		"TIMEOUT_MS=90000",
	)
	// Trust Caddy's internal CA, which `tls internal` made at startup.
	root := filepath.Join(e.caddy.home, "data", "caddy", "pki", "authorities", "local", "root.crt")
	if _, err := os.Stat(root); err == nil {
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+root)
	} else {
		t.Logf("no Caddy root certificate at %s (%v): node runs with NODE_TLS_REJECT_UNAUTHORIZED=0", root, err)
		cmd.Env = append(cmd.Env, "NODE_TLS_REJECT_UNAUTHORIZED=0") // test only: tls internal
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("node client.mjs ran %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("node client.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, tail(stderr.String(), 16<<10), tail(stdout.String(), 4<<10))
	}
	if testing.Verbose() {
		t.Logf("client.mjs stderr:\n%s", tail(stderr.String(), 16<<10))
	}

	var s tsSummary
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "{") {
			var step tsSummary
			if err := json.Unmarshal([]byte(line), &step); err != nil {
				t.Fatalf("client.mjs printed a line that is not JSON: %v\n%s", err, line)
			}
			if step.Step == "summary" {
				s = step
			}
		}
	}
	if s.Step != "summary" {
		t.Fatalf("client.mjs printed no summary\nstdout:\n%s\nstderr:\n%s", stdout.String(), tail(stderr.String(), 16<<10))
	}
	t.Logf("summary: client %s, tools %v, whoami %+v, %d registration(s), %d login(s), token requests %v, %d 401(s) from the gate, refreshed %v, rotated %v",
		s.ClientID, s.Tools, s.Whoami, s.Registrations, s.Logins, s.TokenRequests, s.MCPUnauthorized, s.Refreshed, s.Rotated)
	return s
}

// checkTSFlow checks what every run of the SDK client must show: tools
// and the user through the gate, one login, the code redirect, a refresh
// that rotated, two 401s, and no Authorization header upstream.
func checkTSFlow(t *testing.T, e *env, up *mcpUpstream, s tsSummary) {
	t.Helper()
	dump := func() string { return strings.Join(s.Requests, "\n") }
	if !slices.Contains(s.Tools, "whoami") {
		t.Errorf("tools/list gave %v; want whoami among them", s.Tools)
	}
	if s.Whoami.UserID != "1001" || s.Whoami.UserName != "alice" || s.Whoami.Authorization != "" {
		t.Errorf("the upstream saw %+v; want alice (1001) and no Authorization (RS-05)", s.Whoami)
	}
	if s.WhoamiAfterRefresh.UserID != "1001" || s.WhoamiAfterRefresh.UserName != "alice" || s.WhoamiAfterRefresh.Authorization != "" {
		t.Errorf("after the refresh the upstream saw %+v; want alice (1001) and no Authorization", s.WhoamiAfterRefresh)
	}
	if s.Logins != 1 {
		t.Errorf("the browser logged in %d times; want exactly once (the refresh must spare a second)\n%s", s.Logins, dump())
	}
	if !s.Callback.Code || !s.Callback.StateMatches || s.Callback.Iss != e.issuer {
		t.Errorf("the redirect to the client: code %v, state matches %v, iss %q (want %q)", s.Callback.Code, s.Callback.StateMatches, s.Callback.Iss, e.issuer)
	}
	if !s.Refreshed {
		t.Errorf("the SDK did not recover from the bad access token by a refresh\n%s", dump())
	}
	if s.TokenRequests["authorization_code"] != 1 || s.TokenRequests["refresh_token"] != 1 {
		t.Errorf("token requests %v; want one authorization_code and one refresh_token grant\n%s", s.TokenRequests, dump())
	}
	if !s.Rotated {
		t.Error("the refresh did not rotate the refresh token")
	}
	if s.MCPUnauthorized != 2 {
		t.Errorf("the gate answered %d requests with 401; want 2 (no token, then the bad one)\n%s", s.MCPUnauthorized, dump())
	}
	if !strings.Contains(e.caddy.log.String(), "refresh token rotated") {
		t.Error("the server logged no refresh-token rotation")
	}
	for _, h := range up.requests() {
		if h.Get("Authorization") != "" {
			t.Fatal("RS-05: the upstream received an Authorization header")
		}
	}
}

// tsClientReady returns node's path once e2e/tsclient has its pinned
// dependencies, running `npm ci` when they are missing. Under CI=true
// nothing is installed here: scripts/test.sh must have done it, and the
// test fails if it did not.
func tsClientReady(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (%v): the MCP TypeScript SDK test needs Node.js 18 or later and npm; "+
			"scripts/test.sh installs them (apt-get install nodejs npm)", err)
	}
	problem := tsDepsProblem()
	if problem == nil {
		return node
	}
	if ci {
		t.Fatalf("e2e/tsclient is not installed: %v; scripts/test.sh runs `npm ci` in e2e/tsclient before the tests", problem)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("e2e/tsclient is not installed (%v) and npm is missing (%v): install npm, or run scripts/test.sh", problem, err)
	}
	t.Logf("e2e/tsclient: %v; running npm ci", problem)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = tsClientDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in e2e/tsclient: %v\n%s", err, tail(string(out), 8<<10))
	}
	if problem := tsDepsProblem(); problem != nil {
		t.Fatalf("after npm ci, e2e/tsclient is still not ready: %v", problem)
	}
	return node
}

// tsDepsProblem says why node_modules does not hold the SDK version that
// package.json pins, or nil if it does.
func tsDepsProblem() error {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(tsClientDir, "package.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return fmt.Errorf("package.json: %v", err)
	}
	want := pkg.Dependencies["@modelcontextprotocol/sdk"]
	if want == "" {
		return errors.New("package.json does not depend on @modelcontextprotocol/sdk")
	}
	var got struct {
		Version string `json:"version"`
	}
	raw, err = os.ReadFile(filepath.Join(tsClientDir, "node_modules", "@modelcontextprotocol", "sdk", "package.json"))
	if err != nil {
		return fmt.Errorf("node_modules lacks @modelcontextprotocol/sdk: %v", err)
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("the installed SDK's package.json: %v", err)
	}
	if got.Version != want {
		return fmt.Errorf("node_modules has @modelcontextprotocol/sdk %s, package.json pins %s", got.Version, want)
	}
	return nil
}
