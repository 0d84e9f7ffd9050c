package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// clientShape is an MCP client as it registers and authorizes in the wild
// (see mcp-authorization.md §4).
type clientShape struct {
	meta     map[string]any // the RFC 7591 registration body it sends
	redirect string         // the redirect URI it puts in the authorization request
}

var resourceMetadataParam = regexp.MustCompile(`resource_metadata="([^"]+)"`)

// jsonRPCResult decodes the JSON-RPC response of a Streamable HTTP POST,
// sent as JSON or as the first SSE data line.
func jsonRPCResult(t *testing.T, r *response) map[string]any {
	t.Helper()
	body := r.Body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		body = ""
		for _, line := range strings.Split(r.Body, "\n") {
			if data, ok := strings.CutPrefix(line, "data:"); ok {
				body = strings.TrimSpace(data)
				break
			}
		}
	}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Result == nil {
		t.Fatalf("not a JSON-RPC result (%v): %d %s", err, r.Status, tail(r.Body, 600))
	}
	return msg.Result
}

// connectLikeClient does what an MCP client does with a bare server URL:
// it meets the gate's 401, follows resource_metadata to the protected
// resource metadata and from there to the authorization server's, registers
// with shape's metadata, logs the user in with PKCE, the resource from the
// metadata and its redirect URI, redeems the code with the resource, and
// calls the MCP server: initialize, then tools/call whoami in the session.
// It then refreshes (with resource, as the TypeScript SDK does) and calls
// again with the new access token.
func (e *env) connectLikeClient(t *testing.T, s clientShape, mcpURL string) {
	t.Helper()
	r := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, "", mcpInitialize))
	m := resourceMetadataParam.FindStringSubmatch(wantChallenge(t, "unauthenticated initialize", r, http.StatusUnauthorized))
	if m == nil {
		t.Fatalf("the 401 names no resource_metadata: %q", r.Header.Get("WWW-Authenticate"))
	}
	prm := e.get(e.api, m[1])
	if prm.Status != http.StatusOK {
		t.Fatalf("protected resource metadata %s: %s", m[1], prm)
	}
	var pr struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal([]byte(prm.Body), &pr); err != nil || len(pr.AuthorizationServers) == 0 {
		t.Fatalf("protected resource metadata: %v %s", err, prm.Body)
	}
	// VS Code and the Go SDK insist on this; the TypeScript SDK on a prefix.
	if pr.Resource != mcpURL {
		t.Errorf("the metadata's resource %q is not the MCP URL %q", pr.Resource, mcpURL)
	}
	asMeta := e.get(e.api, strings.TrimRight(pr.AuthorizationServers[0], "/")+"/.well-known/oauth-authorization-server")
	if asMeta.Status != http.StatusOK {
		t.Fatalf("authorization server metadata: %s", asMeta)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(asMeta.Body), &raw)
	var as struct{ Issuer, RegistrationEndpoint, AuthorizationEndpoint, TokenEndpoint string }
	as.Issuer, _ = raw["issuer"].(string)
	as.RegistrationEndpoint, _ = raw["registration_endpoint"].(string)
	as.AuthorizationEndpoint, _ = raw["authorization_endpoint"].(string)
	as.TokenEndpoint, _ = raw["token_endpoint"].(string)
	if as.Issuer != pr.AuthorizationServers[0] || as.RegistrationEndpoint != e.issuer+"/register" ||
		as.AuthorizationEndpoint != e.issuer+"/authorize" || as.TokenEndpoint != e.issuer+"/token" {
		t.Fatalf("authorization server metadata does not lead back to %s: %s", e.issuer, asMeta.Body)
	}

	c := e.registerMeta(s.meta)
	if want, _ := s.meta["token_endpoint_auth_method"].(string); c.Method != want {
		t.Errorf("CL-01: registered auth method %q, want %q", c.Method, want)
	}
	if (c.Method == public) != (c.Secret == "") {
		t.Errorf("CL-01: method %q came with secret %t", c.Method, c.Secret != "")
	}
	b := e.newBrowser()
	f := b.login(c, func(a *authReq) {
		a.Query.Set("redirect_uri", s.redirect)
		a.Query.Set("resource", pr.Resource)
		a.Query.Set("scope", strings.Join(pr.ScopesSupported, " "))
	})
	if f.Code == "" || f.State != f.Req.Query.Get("state") || f.Iss != as.Issuer {
		t.Fatalf("authorization response: %s (code %t, state %t, iss %q)", f.Final, f.Code != "", f.State == f.Req.Query.Get("state"), f.Iss)
	}
	if got := f.Final.Scheme + "://" + f.Final.Host + f.Final.Path; got != s.redirect {
		t.Errorf("the code went to %s, want %s", got, s.redirect)
	}
	tok := e.parseTokens(e.redeem(c, f, url.Values{"resource": {pr.Resource}}))

	e.callWhoami(t, mcpURL, tok.Access, "first access token")
	if tok.Refresh == "" {
		t.Fatal("no refresh token")
	}
	next := e.parseTokens(e.refresh(c, tok.Refresh, url.Values{"resource": {pr.Resource}}))
	e.callWhoami(t, mcpURL, next.Access, "refreshed access token")
}

// callWhoami initializes an MCP session with token and calls the whoami
// tool in it: the server behind the gate must see alice.
func (e *env) callWhoami(t *testing.T, mcpURL, token, what string) {
	t.Helper()
	r := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token, mcpInitialize))
	if r.Status != http.StatusOK {
		t.Fatalf("%s: initialize: %d %s", what, r.Status, tail(r.Body, 400))
	}
	info, _ := jsonRPCResult(t, r)["serverInfo"].(map[string]any)
	if info["name"] != "echo-upstream" {
		t.Errorf("%s: initialize answered by %v", what, info)
	}
	session := r.Header.Get("Mcp-Session-Id")
	hdr := []string{"Mcp-Session-Id", session, "Mcp-Protocol-Version", "2025-06-18"}
	n := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr...))
	if n.Status != http.StatusAccepted {
		t.Errorf("%s: notifications/initialized: %d %s", what, n.Status, tail(n.Body, 300))
	}
	call := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`, hdr...))
	if call.Status != http.StatusOK {
		t.Fatalf("%s: tools/call: %d %s", what, call.Status, tail(call.Body, 400))
	}
	who, _ := jsonRPCResult(t, call)["structuredContent"].(map[string]any)
	if who["user_id"] != "1001" || who["user_name"] != "alice" || who["authorization"] != "" {
		t.Errorf("%s: the MCP server saw %v, want alice (1001) and no Authorization", what, who)
	}
}

// TestClaudeCodeShape_RU02_CL01_MD03: Claude Code registers a public
// client with a localhost callback on one port and authorizes from
// another.
func TestClaudeCodeShape_RU02_CL01_MD03(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "")
	e.connectLikeClient(t, clientShape{
		meta: map[string]any{
			"client_name":                "Claude Code (github)",
			"application_type":           "native",
			"redirect_uris":              []string{"http://localhost:54212/callback"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"token_endpoint_auth_method": "none",
		},
		redirect: "http://localhost:61987/callback",
	}, e.mcpURL("/github/mcp"))
}

// TestVSCodeShape_RU02_CL01_MD03: VS Code registers its four redirect URIs
// and, its fixed port being busy, authorizes on a random loopback port.
func TestVSCodeShape_RU02_CL01_MD03(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "")
	e.connectLikeClient(t, clientShape{
		meta: map[string]any{
			"client_name":      "Visual Studio Code",
			"application_type": "native",
			"client_uri":       "https://code.visualstudio.com",
			"grant_types":      []string{"authorization_code", "refresh_token"},
			"response_types":   []string{"code"},
			"redirect_uris": []string{"https://insiders.vscode.dev/redirect", "https://vscode.dev/redirect",
				"http://127.0.0.1/", "http://127.0.0.1:33418/"},
			"token_endpoint_auth_method": "none",
		},
		redirect: fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)),
	}, e.mcpURL("/github/mcp"))
}

// TestCursorShape_RU04_CL01_MD03: Cursor registers its private-use scheme
// next to https and localhost callbacks and uses the cursor:// one.
func TestCursorShape_RU04_CL01_MD03(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "")
	e.connectLikeClient(t, clientShape{
		meta: map[string]any{
			"client_name": "Cursor",
			"redirect_uris": []string{"cursor://anysphere.cursor-mcp/oauth/callback",
				"https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:51234/callback"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"token_endpoint_auth_method": "none",
		},
		redirect: "cursor://anysphere.cursor-mcp/oauth/callback",
	}, e.mcpURL("/github/mcp"))
}

// TestChatGPTShape_CL01_MD03: ChatGPT's connector platform is a
// confidential client authenticating with client_secret_post.
func TestChatGPTShape_CL01_MD03(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "")
	e.connectLikeClient(t, clientShape{
		meta: map[string]any{
			"client_name":                "ChatGPT",
			"redirect_uris":              []string{"https://chatgpt.com/connector_platform_oauth_redirect"},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"token_endpoint_auth_method": "client_secret_post",
		},
		redirect: "https://chatgpt.com/connector_platform_oauth_redirect",
	}, e.mcpURL("/github/mcp"))
}
