package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// admin calls the admin API of e's Caddy; body nil sends none.
func (e *env) admin(method, path string, body any) *response {
	e.t.Helper()
	target := "http://" + e.caddy.admin + path
	if body == nil {
		req, err := http.NewRequest(method, target, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		return e.do(e.api, req)
	}
	return e.do(e.api, e.jsonRequest(method, target, body, ""))
}

// adminList decodes a listing's records (under key) and next cursor.
func adminList(t *testing.T, r *response, key string) ([]map[string]any, string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("listing %s: %d %s", key, r.Status, r.Body)
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Body), &page); err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	_ = json.Unmarshal(page[key], &items)
	var next string
	_ = json.Unmarshal(page["next_cursor"], &next)
	return items, next
}

// wantNoSecrets fails when an admin answer holds a hash or a secret the
// test knows.
func wantNoSecrets(t *testing.T, what string, r *response, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, "hash", "secret\"", "private_der", "successor") {
		if s != "" && strings.Contains(r.Body, s) {
			t.Errorf("%s shows %q: %s", what, s, short(r.Body))
		}
	}
}

// TestAdminAPIBolt: every admin route on the embedded store: listings
// (paged, filtered) without secrets, show and delete, stats, revocation
// by client and by user (the gate refuses at once), key rotation (the new
// key is published), test tokens (accepted by the gate, refused for a
// user not allowed and beyond access_token_lifetime), and clear refusals
// of bad requests.
func TestAdminAPIBolt(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{Admin: true}, "")
	resource := e.mcpURL("/github/mcp")
	meta := clientMeta(basic, "https://inspector.example/cb")
	meta["client_name"] = "MCP Inspector"
	c1, c2 := e.newClient(basic), e.registerMeta(meta)
	t1, t2 := e.gateToken(c1, resource, ""), e.gateToken(c2, resource, "")

	all, next := adminList(t, e.admin("GET", "/mcp_oauth/clients", nil), "clients")
	if len(all) != 2 || next != "" {
		t.Fatalf("clients: %v (next %q)", all, next)
	}
	wantNoSecrets(t, "the client listing", e.admin("GET", "/mcp_oauth/clients", nil), c1.Secret, c1.RAT, c2.Secret)
	first, next := adminList(t, e.admin("GET", "/mcp_oauth/clients?limit=1", nil), "clients")
	second, last := adminList(t, e.admin("GET", "/mcp_oauth/clients?limit=1&cursor="+url.QueryEscape(next), nil), "clients")
	if len(first) != 1 || len(second) != 1 || first[0]["client_id"] == second[0]["client_id"] || last != "" {
		t.Errorf("paging by 1: %v then %v (next %q)", first, second, last)
	}
	for q, want := range map[string]string{"name=inspector": c2.ID, "redirect_host=inspector.example": c2.ID, "redirect_host=app.test": c1.ID} {
		got, _ := adminList(t, e.admin("GET", "/mcp_oauth/clients?"+q, nil), "clients")
		if len(got) != 1 || got[0]["client_id"] != want {
			t.Errorf("clients?%s: %v, want only %s", q, got, want)
		}
	}
	show := e.admin("GET", "/mcp_oauth/clients/"+c2.ID, nil)
	if show.Status != http.StatusOK || show.json(t)["client_name"] != "MCP Inspector" {
		t.Errorf("show: %s", show.Body)
	}
	wantNoSecrets(t, "show", show, c2.Secret, c2.RAT)
	wantStatus(t, "show unknown", e.admin("GET", "/mcp_oauth/clients/nope", nil), http.StatusNotFound, "")

	grants, _ := adminList(t, e.admin("GET", "/mcp_oauth/grants?user=alice", nil), "grants")
	byClient, _ := adminList(t, e.admin("GET", "/mcp_oauth/grants?client="+c1.ID, nil), "grants")
	if len(grants) != 2 || len(byClient) != 1 || byClient[0]["user_login"] != "alice" {
		t.Errorf("grants of alice %v, of c1 %v", grants, byClient)
	}
	wantNoSecrets(t, "the grant listing", e.admin("GET", "/mcp_oauth/grants", nil), t1.Refresh, t1.Access)
	stats := e.admin("GET", "/mcp_oauth/stats", nil).json(t)
	if stats["clients"] != 2.0 || stats["grants"] != 2.0 || stats["users"] != 1.0 {
		t.Errorf("stats: %v", stats)
	}

	// A test token for alice passes the gate; mallory is not allowed;
	// a ttl past access_token_lifetime (24h) is refused.
	tok := e.admin("POST", "/mcp_oauth/token", map[string]string{"user": "alice", "resource": resource, "ttl": "10m"})
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %s", tok.Body)
	}
	minted := tok.json(t)
	if ei, _ := minted["expires_in"].(float64); ei < 590 || ei > 600 {
		t.Errorf("expires_in %v, want 600", minted["expires_in"])
	}
	wantStatus(t, "the minted token at the gate", e.mcpPost("/github/mcp", minted["access_token"].(string)), http.StatusOK, "")
	// Minting is audited, by jti, never with the token.
	logged := e.caddy.log.String()
	if !strings.Contains(logged, `"logger":"mcp_oauth.audit","msg":"test token minted"`) || !strings.Contains(logged, minted["jti"].(string)) ||
		strings.Contains(logged, minted["access_token"].(string)) {
		t.Errorf("the minted token is not audited by jti (or the token itself is logged)")
	}
	wantStatus(t, "token for mallory", e.admin("POST", "/mcp_oauth/token", map[string]string{"user": "mallory", "resource": resource}), http.StatusForbidden, "")
	wantStatus(t, "token for 48h", e.admin("POST", "/mcp_oauth/token", map[string]string{"user": "alice", "resource": resource, "ttl": "48h"}), http.StatusBadRequest, "")
	wantStatus(t, "token without resource", e.admin("POST", "/mcp_oauth/token", map[string]string{"user": "4242"}), http.StatusBadRequest, "")
	if r := e.admin("POST", "/mcp_oauth/token", map[string]string{"user": "4242", "resource": resource}); r.Status != http.StatusOK {
		t.Errorf("token for the allowed id 4242: %s", r.Body)
	}

	send := func() (*response, error) {
		return e.try(e.api, mcpRequest(http.MethodPost, resource, t1.Access, mcpInitialize))
	}
	refusedWithin(t, "revoked by client through the admin API", send, func() {
		r := e.admin("POST", "/mcp_oauth/revoke", map[string]string{"client": c1.ID})
		if r.Status != http.StatusOK || r.json(t)["revoked"] != 1.0 {
			t.Errorf("revoke client: %s", r.Body)
		}
	})
	wantStatus(t, "refresh of the client's revoked grant", e.refresh(c1, t1.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	r := e.admin("POST", "/mcp_oauth/revoke", map[string]string{"user": "alice"})
	if r.Status != http.StatusOK || r.json(t)["revoked"] != 1.0 {
		t.Errorf("revoke user: %s", r.Body)
	}
	wantStatus(t, "refresh after revoking the user", e.refresh(c2, t2.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "revoke an unknown grant", e.admin("POST", "/mcp_oauth/revoke", map[string]string{"grant": "nope"}), http.StatusNotFound, "")

	wantStatus(t, "delete", e.admin("DELETE", "/mcp_oauth/clients/"+c2.ID, nil), http.StatusOK, "")
	wantStatus(t, "show deleted", e.admin("GET", "/mcp_oauth/clients/"+c2.ID, nil), http.StatusNotFound, "")

	rot := e.admin("POST", "/mcp_oauth/rotate-key", nil)
	kid, _ := rot.json(t)["kid"].(string)
	if rot.Status != http.StatusOK || kid == "" || !strings.Contains(e.get(e.api, "/jwks").Body, kid) {
		t.Errorf("rotate-key: %s; the new kid is not in /jwks", rot.Body)
	}

	// Caddy's own origin check guards the routes: a browser page on
	// another origin cannot call them.
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.caddy.admin+"/mcp_oauth/clients", nil)
	req.Header.Set("Origin", "https://evil.example")
	if r := e.do(e.api, req); r.Status != http.StatusForbidden {
		t.Errorf("a foreign Origin: %d %s, want Caddy's 403", r.Status, short(r.Body))
	}

	for _, bad := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/mcp_oauth/revoke", map[string]string{}, http.StatusBadRequest},
		{"POST", "/mcp_oauth/revoke", map[string]string{"user": "alice", "client": "x"}, http.StatusBadRequest},
		{"POST", "/mcp_oauth/revoke", `{"users": "alice"}`, http.StatusBadRequest},
		{"POST", "/mcp_oauth/revoke", `not json`, http.StatusBadRequest},
		{"GET", "/mcp_oauth/revoke", nil, http.StatusMethodNotAllowed},
		{"POST", "/mcp_oauth/stats", nil, http.StatusMethodNotAllowed},
		{"GET", "/mcp_oauth/clients?limit=0", nil, http.StatusBadRequest},
		{"GET", "/mcp_oauth/clients?limit=many", nil, http.StatusBadRequest},
		{"GET", "/mcp_oauth/grants?cursor=bogus", nil, http.StatusOK}, // bolt seeks; any cursor is a position
		{"GET", "/mcp_oauth/nope", nil, http.StatusNotFound},
		{"POST", "/mcp_oauth/token", map[string]string{"user": "alice", "resource": resource, "ttl": "soon"}, http.StatusBadRequest},
	} {
		if r := e.admin(bad.method, bad.path, bad.body); r.Status != bad.status || r.oauthError() == "" && r.Status != http.StatusOK {
			t.Errorf("%s %s %v: %d %s, want %d with an error", bad.method, bad.path, bad.body, r.Status, r.Body, bad.status)
		}
	}
}

// TestAdminRevocationAcrossInstances: on Redis, a revocation through
// instance A's admin API refuses the token at instance B's gate within a
// second, and A's listings see grants made through B.
func TestAdminRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	a, up := newMCPEnv(t, caddyConfig{Admin: true, Extra: []string{redisStorage(redis)}}, "")
	cfgB := a.caddy.cfg
	cfgB.Admin, cfgB.SharedIssuer = true, a.issuer
	cfgB.MCPSite = strings.ReplaceAll(gatedRoute, "mcp_oauth_verify", "mcp_oauth_verify {\n\t\t\tresource "+a.mcpURL("/github")+"\n\t\t}")
	cfgB.MCPUpstream = up.addr()
	b := a.peer(cfgB)
	resource := a.mcpURL("/github/mcp")
	c := a.newClient(basic)
	tok := a.gateToken(c, resource, "")

	grants, _ := adminList(t, b.admin("GET", "/mcp_oauth/grants?user=alice", nil), "grants")
	if len(grants) != 1 {
		t.Fatalf("B lists %d grants of alice, want the one made on A", len(grants))
	}
	clients, next := adminList(t, b.admin("GET", "/mcp_oauth/clients?limit=1", nil), "clients")
	if len(clients) != 1 || clients[0]["client_id"] != c.ID {
		t.Errorf("B lists clients %v (next %q)", clients, next)
	}
	stats := a.admin("GET", "/mcp_oauth/stats", nil).json(t)
	if stats["clients"] != 1.0 || stats["grants"] != 1.0 {
		t.Errorf("stats on Redis: %v", stats)
	}
	send := func() (*response, error) {
		return b.try(b.api, mcpRequest(http.MethodPost, b.mcpURL("/github/mcp"), tok.Access, mcpInitialize))
	}
	start := time.Now()
	refusedWithin(t, "revoked through A's admin API, gate on B", send, func() {
		r := a.admin("POST", "/mcp_oauth/revoke", map[string]string{"user": "alice"})
		if r.Status != http.StatusOK || r.json(t)["revoked"] != 1.0 {
			t.Errorf("revoke on A: %s", r.Body)
		}
	})
	t.Logf("whole revocation check took %v", time.Since(start).Round(time.Millisecond))
	wantStatus(t, "a bad cursor on Redis", a.admin("GET", "/mcp_oauth/grants?cursor=bogus", nil), http.StatusBadRequest, "")
}
