package e2e

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestScopesNarrowed_Interop registers and authorizes with the scopes real
// clients and the users of mcp-oauth-dynamicclient send; each is narrowed
// to what this server grants (RFC 7591 §3.2.1, RFC 6749 §3.3), and both
// answers say what was granted.
func TestScopesNarrowed_Interop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	for _, scope := range []string{"claudeai", "openid profile email", "read write", "offline_access", "mcp offline_access", ""} {
		t.Run("scope="+scope, func(t *testing.T) {
			meta := clientMeta(public)
			if scope != "" {
				meta["scope"] = scope
			}
			c := e.registerMeta(meta)
			if c.Resp["scope"] != "mcp" {
				t.Errorf("registration scope %v, want mcp", c.Resp["scope"])
			}
			f := e.newBrowser().login(c, func(a *authReq) {
				if scope != "" {
					a.Query.Set("scope", scope)
				}
			})
			if f.Code == "" {
				t.Fatalf("authorize with scope %q ended without a code: %s", scope, f.Final)
			}
			tok := e.exchange(c, f)
			if tok.Scope != "mcp" || tok.Refresh == "" {
				t.Errorf("token response scope %q refresh %t, want mcp and a refresh token", tok.Scope, tok.Refresh != "")
			}
			next := e.parseTokens(e.refresh(c, tok.Refresh, url.Values{"scope": {"mcp offline_access"}}))
			if next.Scope != "mcp" {
				t.Errorf("refresh asking mcp offline_access: scope %q", next.Scope)
			}
		})
	}

	m := e.get(e.api, "/.well-known/oauth-authorization-server").json(t)
	if !reflect.DeepEqual(m["scopes_supported"], []any{"mcp", "offline_access"}) {
		t.Errorf("AS scopes_supported %v, want [mcp offline_access]", m["scopes_supported"])
	}
	if !reflect.DeepEqual(m["introspection_endpoint_auth_methods_supported"], []any{post, basic}) {
		t.Errorf("introspection_endpoint_auth_methods_supported %v: only what /introspect accepts", m["introspection_endpoint_auth_methods_supported"])
	}
}

// TestScopeLimits_Interop: a client that registered no scope may ask for
// any configured scope; one that registered a scope and asks past it gets
// invalid_scope; the gate's challenge and metadata name the default scope,
// never offline_access.
func TestScopeLimits_Interop(t *testing.T) {
	t.Parallel()
	e, _ := newGateEnv(t, caddyConfig{}, "")
	open := e.newClient(public)
	if open.Resp["scope"] != "mcp admin" {
		t.Errorf("no-scope registration: scope %v, want every configured scope", open.Resp["scope"])
	}
	if tok := e.gateToken(open, "", "admin"); tok.Scope != "admin" {
		t.Errorf("no-scope registration asking admin: scope %q", tok.Scope)
	}
	if tok := e.gateToken(open, "", ""); tok.Scope != "mcp" {
		t.Errorf("no-scope registration asking nothing: scope %q, want the default", tok.Scope)
	}
	meta := clientMeta(public)
	meta["scope"] = "mcp"
	narrow := e.registerMeta(meta)
	b := e.newBrowser()
	b.approveOnce(narrow)
	a := newAuthReq(narrow)
	a.Query.Set("scope", "mcp admin")
	r := e.get(b.c, a.path())
	if loc := r.location(t); loc == nil || loc.Query().Get("error") != "invalid_scope" {
		t.Errorf("registered mcp, asked mcp admin: got %d %s, want error=invalid_scope", r.Status, textOf(r.Body))
	}

	ch := wantChallenge(t, "no token", e.mcpPost("/github/mcp", ""), http.StatusUnauthorized)
	if !strings.Contains(ch, `scope="mcp"`) || strings.Contains(ch, "offline_access") {
		t.Errorf("challenge %q: want scope=\"mcp\" (the default scope), never offline_access", ch)
	}
	prm := e.wantPRM(t, "PRM", e.mcpURL("/github/mcp/.well-known/oauth-protected-resource"), e.mcpURL("/github/mcp"))
	if prm != nil && !reflect.DeepEqual(prm["scopes_supported"], []any{"mcp"}) {
		t.Errorf("PRM scopes_supported %v, want [mcp]", prm["scopes_supported"])
	}
	noTok := e.mcpPost("/github/mcp", "")
	if strings.Contains(noTok.Body, `"error"`) {
		t.Errorf("RFC 6750 §3.1: a request without a token gets no error code: %s", noTok.Body)
	}
}

// TestPrivateUseSchemes_Interop: the redirect schemes of real apps are
// accepted, the consent page names the scheme, the code reaches the app,
// and redirect_schemes narrows them to a list.
func TestPrivateUseSchemes_Interop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	for _, uri := range []string{"vscode://vscode.github-authentication/did-authenticate", "claude://oauth/callback",
		"windsurf://codeium.windsurf/auth", "zed://oauth/callback", "myapp:/callback", "com.example.app:/cb"} {
		c := e.newClient(public, uri)
		b := e.newBrowser()
		cf := b.openConsent(newAuthReq(c))
		scheme := uri[:strings.IndexByte(uri, ':')]
		if !strings.Contains(cf.Page.Body, `id="app-scheme"`) || !strings.Contains(cf.Page.Body, "<code>"+scheme+":</code>") {
			t.Errorf("%s: the consent page does not name the app scheme:\n%s", uri, textOf(cf.Page.Body))
		}
		f := b.login(c, nil)
		if f.Code == "" || !strings.EqualFold(f.Final.Scheme, scheme) {
			t.Errorf("%s: the code did not reach the app: %v", uri, f.Final)
		}
	}
	for _, uri := range []string{"javascript:alert(1)", "data:text/html,x", "file:///x", "vbscript:x", "blob:https://a.test/x",
		"about:blank", "ws://127.0.0.1/cb", "wss://a.test/cb", "ftp://a.test/cb", "http://a.test/cb"} {
		r := e.register(clientMeta(public, uri))
		wantStatus(t, "dangerous scheme "+uri, r, http.StatusBadRequest, "invalid_redirect_uri")
	}

	listed := newEnv(t, caddyConfig{Extra: []string{"redirect_schemes cursor"}})
	wantStatus(t, "listed scheme", listed.register(clientMeta(public, "cursor://anysphere.cursor-mcp/oauth/callback")), http.StatusCreated, "")
	wantStatus(t, "https with a list", listed.register(clientMeta(public, "https://app.test/cb")), http.StatusCreated, "")
	wantStatus(t, "unlisted scheme", listed.register(clientMeta(public, "vscode://x/cb")), http.StatusBadRequest, "invalid_redirect_uri")
	wantStatus(t, "unlisted reverse-DNS scheme", listed.register(clientMeta(public, "com.example.app:/cb")), http.StatusBadRequest, "invalid_redirect_uri")
}

// TestSecretTransports_Interop: a confidential client authenticates with
// Basic or the body whatever it registered; a public one with neither; the
// registration still says what was registered.
func TestSecretTransports_Interop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	for _, tt := range []struct {
		registered, sends string
		status            int
	}{
		{post, basic, http.StatusOK}, // Codex
		{post, post, http.StatusOK},
		{basic, post, http.StatusOK}, // mcp-oauth-dynamicclient's clients
		{basic, basic, http.StatusOK},
		{"", post, http.StatusOK}, // RFC 7591 default, secret in the body
		{public, post, http.StatusUnauthorized},
		{public, basic, http.StatusUnauthorized},
		{basic, public, http.StatusUnauthorized},
	} {
		c := e.newClient(tt.registered)
		reg := c.Method
		f := e.newBrowser().login(c, nil)
		sender := *c
		sender.Method = tt.sends
		if tt.sends != public && sender.Secret == "" {
			sender.Secret = "made-up-secret"
		}
		r := e.redeem(&sender, f, nil)
		if r.Status != tt.status {
			t.Errorf("registered %q, sends %s: got %d %s, want %d", tt.registered, tt.sends, r.Status, r.Body, tt.status)
		}
		got := e.do(e.api, e.jsonRequest(http.MethodGet, "/register/"+c.ID, nil, c.RAT)).json(t)
		if got["token_endpoint_auth_method"] != reg {
			t.Errorf("RFC 7592 read after a %s call: token_endpoint_auth_method %v, want %s", tt.sends, got["token_endpoint_auth_method"], reg)
		}
	}
}

// TestCanonicalResources_Interop: a resource with a fragment, a query, dot
// segments or an encoded slash is invalid_target; aud is the canonical form.
func TestCanonicalResources_Interop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{SiteExtra: gatesFor("mcp.test")})
	c := e.newClient(public)
	b := e.newBrowser()
	b.approveOnce(c)
	for _, res := range []string{"https://mcp.test/mcp#", "https://mcp.test/mcp?x=1", "https://mcp.test/mcp?",
		"https://mcp.test/a/../mcp", "https://mcp.test/./mcp", "https://mcp.test/a/%2e%2e/mcp", "https://mcp.test/a%2Fb"} {
		a := newAuthReq(c)
		a.Query.Set("resource", res)
		r := e.get(b.c, a.path())
		if loc := r.location(t); loc == nil || loc.Query().Get("error") != "invalid_target" {
			t.Errorf("resource=%s: got %d %s, want error=invalid_target", res, r.Status, textOf(r.Body))
		}
	}
	f := b.login(c, func(a *authReq) { a.Query.Set("resource", "HTTPS://MCP.Test:443/github/mcp/") })
	tok := e.exchange(c, f)
	if _, claims := jwtParts(t, tok.Access); audOf(claims) != "https://mcp.test/github/mcp" {
		t.Errorf("aud %q, want the canonical https://mcp.test/github/mcp", audOf(claims))
	}
}
