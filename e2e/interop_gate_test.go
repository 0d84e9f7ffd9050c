package e2e

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fromAddress returns a client like e.api whose connections leave from
// another loopback address (127.0.0.0/8 is all local on Linux), so Caddy's
// client_ip differs without any forwarding header.
func (e *env) fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // test only: tls internal
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestRegistrationOwnerNotLockedOut_MG07: an attacker who saw a client id
// sends wrong registration access tokens until it is throttled; the owner,
// from another address, still reads and updates its client.
func TestRegistrationOwnerNotLockedOut_MG07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	attacker := e.fromAddress("127.0.0.2")
	guess := func() *response {
		req, _ := http.NewRequest(http.MethodGet, e.url("/register/"+c.ID), nil)
		req.Header.Set("Authorization", "Bearer reg-guess")
		return e.do(attacker, req)
	}
	for i := 0; i < 20; i++ {
		wantStatus(t, "attacker's wrong RAT", guess(), http.StatusUnauthorized, "")
	}
	r := guess()
	wantStatus(t, "attacker throttled", r, http.StatusTooManyRequests, "slow_down")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantStatus(t, "the owner from its own address", e.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusOK, "")
	meta := clientMeta(basic)
	meta["client_id"] = c.ID
	meta["client_name"] = "Renamed"
	wantStatus(t, "the owner updates its client", e.manage(http.MethodPut, c.ID, c.RAT, meta), http.StatusOK, "")
}

// TestGateSpoofedIdentityHeaders_Interop: identity headers other gateways
// set never reach the upstream from a client, in any spelling Caddy lets
// through, and the gate sends no X-Auth-Token (it carried the token).
func TestGateSpoofedIdentityHeaders_Interop(t *testing.T) {
	t.Parallel()
	e, up := newGateEnv(t, caddyConfig{}, "")
	c := e.newClient(basic)
	tok := e.gateToken(c, e.mcpURL("/github/mcp"), "")
	spoofed := []string{"X-Auth-Token", "x-auth-token", "X-AUTH-TOKEN", "X-Forwarded-User", "x-forwarded-email",
		"X-Auth-Request-User", "x-auth-request-email", "X-Auth-Request-Access-Token", "Remote-User", "REMOTE-USER", "X-Remote-User",
		"Remote_User", "X_Auth_Token"}
	hdr := []string{"X-Test-Tag", "spoof-others"}
	for _, name := range spoofed {
		hdr = append(hdr, name, "admin")
	}
	wantStatus(t, "request with spoofed headers", e.mcpPost("/github/mcp", tok.Access, hdr...), http.StatusOK, "")
	for name, vals := range up.tagged(t, "spoof-others") {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if n == "x-auth-token" || n == "x-forwarded-user" || n == "x-forwarded-email" || n == "remote-user" ||
			n == "x-remote-user" || strings.HasPrefix(n, "x-auth-request-") {
			t.Errorf("the upstream saw %s: %q", name, vals)
		}
	}
}

// TestGateLoopbackOrigins_Interop: MCP Inspector's origin (a loopback
// page) may preflight and call a gate with default allowed_origins; a
// foreign origin still gets 403 with an RFC 6750 code.
func TestGateLoopbackOrigins_Interop(t *testing.T) {
	t.Parallel()
	e, up := newMCPEnv(t, caddyConfig{}, gatedRoute)
	c := e.newClient(public)
	tok := e.gateToken(c, e.mcpURL("/github/mcp"), "")
	target := e.mcpURL("/github/mcp")
	for _, origin := range []string{"http://localhost:6274", "http://127.0.0.1:6274", "http://[::1]:6274"} {
		pre := e.do(e.api, mcpRequest(http.MethodOptions, target, "", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"))
		if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s: %d, Allow-Origin %q", origin, pre.Status, pre.Header.Get("Access-Control-Allow-Origin"))
		}
		r := e.mcpPost("/github/mcp", tok.Access, "Origin", origin)
		if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("call from %s: %d, Allow-Origin %q", origin, r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	before := up.count()
	for _, origin := range []string{"https://evil.example", "http://localhost.evil.example:6274", "null"} {
		r := e.mcpPost("/github/mcp", tok.Access, "Origin", origin)
		wantStatus(t, "call from "+origin, r, http.StatusForbidden, "invalid_request")
	}
	wantUntouched(t, "foreign origins", up, before)
}

// TestGateMatcherFormDiscovery_Interop: with matcher-form gates on two
// sites of one Caddyfile, each site answers the RFC 9728 path form, the
// root form (its first gate's resource) and the authorization server's
// RFC 8414 metadata on its own origin, before any 401.
func TestGateMatcherFormDiscovery_Interop(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{SiteExtra: []string{"mcp_oauth_verify /tools/*", "reverse_proxy /tools/* 127.0.0.1:9"}},
		`mcp_oauth_verify /github/*
	mcp_oauth_verify /fetch/*
	reverse_proxy /github/* {{UPSTREAM}}
	reverse_proxy /fetch/* {{UPSTREAM}}`)
	asMeta := e.get(e.api, "/.well-known/oauth-authorization-server").json(t)
	for _, site := range []struct{ origin, first string }{{e.caddy.mcp, "/github"}, {e.caddy.issuer, "/tools"}} {
		e.wantPRM(t, "path form on "+site.origin, site.origin+"/.well-known/oauth-protected-resource"+site.first+"/mcp", site.origin+site.first+"/mcp")
		e.wantPRM(t, "root form on "+site.origin, site.origin+"/.well-known/oauth-protected-resource", site.origin+site.first)
		r := e.get(e.api, site.origin+"/.well-known/oauth-authorization-server")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("AS metadata on %s: %d %q", site.origin, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		if m := r.json(t); m["issuer"] != asMeta["issuer"] || m["token_endpoint"] != asMeta["token_endpoint"] {
			t.Errorf("AS metadata on %s: issuer %v token_endpoint %v, want the issuer's", site.origin, m["issuer"], m["token_endpoint"])
		}
	}
	e.wantPRM(t, "second gate's path form", e.mcpURL("/.well-known/oauth-protected-resource/fetch/mcp"), e.mcpURL("/fetch/mcp"))
}
