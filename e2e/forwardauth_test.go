package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// verifyRequest builds a ForwardAuth check of token (none when empty)
// against /verify?resource=resource (no parameter when empty).
func (e *env) verifyRequest(method, resource, token string, hdr ...string) *http.Request {
	target := e.url("/verify")
	if resource != "" {
		target += "?resource=" + url.QueryEscape(resource)
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	return req
}

// wantNoCredentials fails if any of secrets appears in r's headers or body.
func wantNoCredentials(t *testing.T, what string, r *response, secrets ...string) {
	t.Helper()
	var dump strings.Builder
	_ = r.Header.Write(&dump)
	dump.WriteString(r.Body)
	for _, s := range secrets {
		if s != "" && strings.Contains(dump.String(), s) {
			t.Errorf("%s: the response contains a credential (%s)", what, short(s))
		}
	}
}

// TestForwardAuthVerify_RS03_RS04_RS05_JW06_JW09: /verify on the
// authorization server's origin. With the resource of the auth URL it
// answers 200 and the identity headers for a token issued for that
// resource, without echoing any credential; 401 with a Bearer challenge
// without a token; 401 invalid_token for a token of another resource
// whatever X-Forwarded-* say; and a revoked token within a second.
func TestForwardAuthVerify_RS03_RS04_RS05_JW06_JW09(t *testing.T) {
	t.Parallel()
	e, _ := newMCPEnv(t, caddyConfig{}, "")
	res := e.mcpURL("/github/mcp")
	c := e.newClient(basic)
	tok := e.gateToken(c, res, "")
	other := e.gateToken(c, e.mcpURL("/github-other/mcp"), "")
	issuerAud := e.gateToken(c, "", "")

	r := e.do(e.api, e.verifyRequest(http.MethodGet, res, ""))
	// Behind ForwardAuth the proxy gates every path of the MCP origin, so
	// the metadata is served by the authorization server.
	meta := e.issuer + "/verify/metadata?resource=" + url.QueryEscape(res)
	want := `Bearer resource_metadata="` + meta + `", scope="mcp"`
	if got := wantChallenge(t, "RS-04 /verify without a token", r, http.StatusUnauthorized); got != want {
		t.Errorf("RS-04 /verify without a token: WWW-Authenticate %q, want %q", got, want)
	}
	if m := e.get(e.api, meta); m.Status != http.StatusOK || m.json(t)["resource"] != res {
		t.Errorf("MD-03 the advertised metadata: %s", m)
	}

	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		r := e.do(e.api, e.verifyRequest(m, res, tok.Access, "X-User-Id", "admin", "X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/github/mcp"))
		wantStatus(t, m+" /verify with the token for the resource", r, http.StatusOK, "")
		if r.Header.Get("X-User-Id") != "1001" || r.Header.Get("X-User-Name") != "alice" || r.Header.Get("X-Client-Id") != c.ID ||
			len(r.Header.Values("X-User-Id")) != 1 {
			t.Errorf("%s /verify identity headers: id %q, name %q, client %q", m, r.Header.Values("X-User-Id"),
				r.Header.Get("X-User-Name"), r.Header.Get("X-Client-Id"))
		}
		wantNoCredentials(t, "RS-05 "+m+" /verify", r, append(e.gh.Secrets(), tok.Access, tok.Refresh, c.Secret, c.RAT)...)
	}

	spoof := []string{"X-Forwarded-Host", strings.TrimPrefix(e.mcpURL(""), "https://"), "X-Forwarded-Proto", "https",
		"X-Forwarded-Uri", "/github-other/mcp", "X-Forwarded-Prefix", "/github-other"}
	for _, tt := range []struct {
		what, resource, token string
		hdr                   []string
	}{
		{"RS-03 token for /github-other/mcp", res, other.Access, nil},
		{"RS-03 token for /github-other/mcp, X-Forwarded-* naming it", res, other.Access, spoof},
		{"RS-03 token for /github/mcp checked for /github-other/mcp", e.mcpURL("/github-other/mcp"), tok.Access,
			[]string{"X-Forwarded-Uri", "/github/mcp"}},
		{"JW-09 token for the issuer", res, issuerAud.Access, nil},
		{"JW-09 refresh token", res, tok.Refresh, nil},
		{"JW-09 registration access token", res, c.RAT, nil},
		{"RS-03 token for /github/mcp without a resource parameter", "", tok.Access, spoof},
	} {
		r := e.do(e.api, e.verifyRequest(http.MethodGet, tt.resource, tt.token, tt.hdr...))
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %d %q, want 401 invalid_token", tt.what, r.Status, r.Header.Get("WWW-Authenticate"))
		}
		if r.Header.Get("X-User-Id") != "" {
			t.Errorf("%s: refused, yet X-User-Id %q", tt.what, r.Header.Get("X-User-Id"))
		}
	}
	// README: without a resource parameter the audience is the issuer.
	wantStatus(t, "/verify without resource, token for the issuer", e.do(e.api, e.verifyRequest(http.MethodGet, "", issuerAud.Access)),
		http.StatusOK, "")
	wantStatus(t, "/verify with an invalid resource", e.do(e.api, e.verifyRequest(http.MethodGet, "mcp", tok.Access)),
		http.StatusBadRequest, "invalid_request")

	send := func() (*response, error) { return e.try(e.api, e.verifyRequest(http.MethodGet, res, tok.Access)) }
	refusedWithin(t, "/verify after RFC 7009 revocation of the refresh token", send, func() {
		wantStatus(t, "revoke", e.revoke(c, tok.Refresh), http.StatusOK, "")
	})
}

// forwardAuthSite is a Caddy forward_auth deployment of the MCP origin
// as it should be configured: /verify checks the token for the MCP URL,
// the identity headers are copied, and the bearer token is removed before
// reverse_proxy (forward_auth itself passes it on).
func forwardAuthSite(issuer, mcp, upstream string) string {
	return fmt.Sprintf(`route /github/* {
		forward_auth %[1]s {
			uri /verify?resource=%[2]s/github/mcp
			copy_headers X-User-Id X-User-Name
			transport http {
				tls_insecure_skip_verify
			}
		}
		request_header -Authorization
		reverse_proxy %[3]s
	}`, issuer, mcp, upstream)
}

// readmeForwardAuthSite is the README's forward_auth snippet as written
// (the transport block only trusts the test's internal CA).
func readmeForwardAuthSite(issuer, mcp, upstream string) string {
	return fmt.Sprintf(`forward_auth %[1]s {
		uri /verify?resource=%[2]s/github
		copy_headers X-User-Id X-User-Name
		transport http {
			tls_insecure_skip_verify
		}
	}
	request_header -Authorization
	reverse_proxy %[3]s`, issuer, mcp, upstream)
}

// startForwardAuthEnv starts the stack with the MCP origin served through
// Caddy's forward_auth and /verify instead of the inline gate. The site
// (built by site) names the issuer and the MCP origin, which exist once
// Caddy has ports: it is written then, and Caddy restarted on the same
// ports and data.
func startForwardAuthEnv(t *testing.T, site func(issuer, mcp, upstream string) string) (*env, *mcpUpstream) {
	t.Helper()
	up := startMCPUpstream(t)
	e := newEnv(t, caddyConfig{MCPSite: `respond "starting" 503`, MCPUpstream: up.addr()})
	e.caddy.cfg.MCPSite = site(e.issuer, e.mcpURL(""), up.addr())
	e.caddy.restart()
	return e, up
}

// TestForwardAuthSite_RS03_RS05_RS06_JW06: the ForwardAuth architecture end
// to end: Caddy's forward_auth asks /verify, copies the identity headers
// and proxies to the MCP server. Without a token the client gets /verify's
// challenge and the upstream nothing; with a token for the resource the MCP
// server answers and sees alice (not a spoofed identity, not the token); a
// token for another resource and a revoked token are refused.
func TestForwardAuthSite_RS03_RS05_RS06_JW06(t *testing.T) {
	t.Parallel()
	e, up := startForwardAuthEnv(t, forwardAuthSite)
	res := e.mcpURL("/github/mcp")
	c := e.newClient(basic)
	tok := e.gateToken(c, res, "")
	other := e.gateToken(c, e.mcpURL("/github"), "")

	r := e.mcpPost("/github/mcp", "")
	if got := wantChallenge(t, "RS-04 through forward_auth without a token", r, http.StatusUnauthorized); !strings.Contains(got, `resource_metadata="`) ||
		strings.Contains(got, "error=") {
		t.Errorf("RS-04 through forward_auth without a token: WWW-Authenticate %q", got)
	}
	wantStatus(t, "RS-03 token for another resource", e.mcpPost("/github/mcp", other.Access), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "bad token", e.mcpPost("/github/mcp", "not-a-token"), http.StatusUnauthorized, "invalid_token")
	wantUntouched(t, "refused requests", up, 0)

	ok := e.mcpPost("/github/mcp", tok.Access, "X-Test-Tag", "fa", "X-User-Id", "admin", "X-User-Name", "admin")
	wantStatus(t, "initialize through forward_auth", ok, http.StatusOK, "")
	if info, _ := jsonRPCResult(t, ok)["serverInfo"].(map[string]any); info["name"] != "echo-upstream" {
		t.Errorf("initialize answered by %v", info)
	}
	h := up.tagged(t, "fa")
	if got := h.Values("X-User-Id"); len(got) != 1 || got[0] != "1001" {
		t.Errorf("RS-06: the upstream saw X-User-Id %q, want only 1001", got)
	}
	if got := h.Values("X-User-Name"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("RS-06: the upstream saw X-User-Name %q, want only alice", got)
	}
	if h.Get("Authorization") != "" {
		t.Error("RS-05: the upstream received the bearer token")
	}

	refusedWithin(t, "forward_auth after RFC 7009 revocation of the access token", e.mcpSender("/github/mcp", tok.Access), func() {
		wantStatus(t, "revoke", e.revoke(c, tok.Access), http.StatusOK, "")
	})
}

// TestForwardAuthReadmeDiscovery_MD03: behind the README's forward_auth
// snippet, a client that meets the 401 must be able to read the metadata
// the challenge names: MCP clients find the authorization server only
// through it (MD-03; MCP: protected resources MUST serve RFC 9728
// metadata).
func TestForwardAuthReadmeDiscovery_MD03(t *testing.T) {
	t.Parallel()
	e, _ := startForwardAuthEnv(t, readmeForwardAuthSite)
	r := e.mcpPost("/github/mcp", "")
	m := resourceMetadataParam.FindStringSubmatch(wantChallenge(t, "no token", r, http.StatusUnauthorized))
	if m == nil {
		t.Fatalf("the 401 names no resource_metadata: %q", r.Header.Get("WWW-Authenticate"))
	}
	if prm := e.get(e.api, m[1]); prm.Status != http.StatusOK || !strings.Contains(prm.Body, `"resource"`) {
		t.Errorf("MD-03: the metadata URL the ForwardAuth challenge advertises, %s, answers %d %s: "+
			"an MCP client cannot discover the authorization server (nothing serves that URL in a forward_auth deployment)",
			m[1], prm.Status, short(prm.Body))
	}

	// A client that, finding no metadata, takes the MCP URL as its resource
	// is refused: /verify accepts only the configured resource as audience.
	c := e.newClient(basic)
	direct := e.gateToken(c, e.mcpURL("/github/mcp"), "")
	if r := e.mcpPost("/github/mcp", direct.Access); r.Status != http.StatusOK {
		t.Logf("note: a token for the MCP URL %s is refused (%d) by /verify?resource=%s", e.mcpURL("/github/mcp"), r.Status,
			e.mcpURL("/github"))
	}
}

// TestForwardAuthReadmeNoPassthrough_RS05: with the README's forward_auth
// snippet as written, the MCP server must not receive the client's bearer
// token (RS-05; MCP: no token passthrough). Caddy's forward_auth passes
// the client's request on unchanged.
func TestForwardAuthReadmeNoPassthrough_RS05(t *testing.T) {
	t.Parallel()
	e, up := startForwardAuthEnv(t, readmeForwardAuthSite)
	c := e.newClient(basic)
	tok := e.gateToken(c, e.mcpURL("/github"), "")
	ok := e.mcpPost("/github/mcp", tok.Access, "X-Test-Tag", "readme")
	wantStatus(t, "token for the configured resource", ok, http.StatusOK, "")
	if h := up.tagged(t, "readme"); h.Get("Authorization") != "" {
		t.Errorf("RS-05: with the README's forward_auth snippet the MCP server receives the client's bearer token " +
			"(forward_auth passes Authorization on; the snippet needs `request_header -Authorization`)")
	}
}
