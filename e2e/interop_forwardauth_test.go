package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestInteropForwardAuthNoResource: /verify as Traefik calls it with the
// labels of an mcp-oauth-dynamicclient gateway
// (forwardauth.address=http://auth:8000/verify): no
// resource parameter, the client's URL in X-Forwarded-Proto, -Host and
// -Uri. A token whose audience covers that URL passes with the identity
// headers; a token for another host gets a 401 naming the forwarded URL's
// metadata (without the query), which answers with that resource; a
// token issued without a resource still passes; without the forwarded
// headers nothing changed. (Traefik's routes are not in Caddy's config,
// so this deployment names its MCP hosts to the authorization server: the
// test gives them gates, as `resources` would.)
func TestInteropForwardAuthNoResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{SiteExtra: gatesFor("mcp.example.test", "other.example.test")})
	c := e.newClient(basic)
	tok := e.gateToken(c, "https://mcp.example.test/github", "")
	other := e.gateToken(c, "https://other.example.test/github", "")
	issuerAud := e.gateToken(c, "", "")
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "mcp.example.test",
		"X-Forwarded-Uri", "/github/mcp?session=abc", "X-Forwarded-Method", "POST", "X-Forwarded-For", "203.0.113.9"}

	r := e.do(e.api, e.verifyRequest(http.MethodGet, "", tok.Access, fwd...))
	wantStatus(t, "Traefik-shaped /verify, token for the forwarded URL", r, http.StatusOK, "")
	if r.Header.Get("X-User-Id") != "1001" || r.Header.Get("X-User-Name") != "alice" || r.Header.Get("X-Client-Id") != c.ID {
		t.Errorf("identity headers: id %q, name %q, client %q", r.Header.Get("X-User-Id"), r.Header.Get("X-User-Name"),
			r.Header.Get("X-Client-Id"))
	}
	wantNoCredentials(t, "/verify", r, tok.Access, tok.Refresh, c.Secret, c.RAT)

	meta := e.issuer + "/verify/metadata?resource=" + url.QueryEscape("https://mcp.example.test/github/mcp")
	for _, tt := range []struct{ what, token, want string }{
		{"token for another host", other.Access, `Bearer resource_metadata="` + meta + `"`},
		{"no token", "", `Bearer resource_metadata="` + meta + `"`},
	} {
		r := e.do(e.api, e.verifyRequest(http.MethodGet, "", tt.token, fwd...))
		got := wantChallenge(t, tt.what, r, http.StatusUnauthorized)
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: WWW-Authenticate %q, want it to start with %q", tt.what, got, tt.want)
		}
		if r.Header.Get("X-User-Id") != "" {
			t.Errorf("%s: refused, yet X-User-Id %q", tt.what, r.Header.Get("X-User-Id"))
		}
	}
	if m := e.get(e.api, meta); m.Status != http.StatusOK || m.json(t)["resource"] != "https://mcp.example.test/github/mcp" {
		t.Errorf("the advertised metadata: %s", m)
	}

	// The token for another host is refused whichever forwarded URL names
	// a host it was not issued for; at its own URL it passes.
	otherAt := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "other.example.test", "X-Forwarded-Uri", "/github/mcp"}
	wantStatus(t, "token for other.example.test at its URL", e.do(e.api, e.verifyRequest(http.MethodGet, "", other.Access, otherAt...)),
		http.StatusOK, "")
	sibling := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "mcp.example.test", "X-Forwarded-Uri", "/github-other/mcp"}
	wantStatus(t, "token for /github at /github-other", e.do(e.api, e.verifyRequest(http.MethodGet, "", tok.Access, sibling...)),
		http.StatusUnauthorized, "invalid_token")

	wantStatus(t, "issuer-audience token with forwarded headers", e.do(e.api, e.verifyRequest(http.MethodGet, "", issuerAud.Access, fwd...)),
		http.StatusOK, "")
	wantStatus(t, "issuer-audience token without forwarded headers", e.do(e.api, e.verifyRequest(http.MethodGet, "", issuerAud.Access)),
		http.StatusOK, "")
	wantStatus(t, "resource token without forwarded headers", e.do(e.api, e.verifyRequest(http.MethodGet, "", tok.Access)),
		http.StatusUnauthorized, "invalid_token")
}

// TestInteropForwardAuthCaddyNoResource: Caddy's forward_auth with
// `uri /verify` and no resource: Caddy sets X-Forwarded-Proto, -Host and
// -Uri, so a token for the MCP URL passes through to the upstream and a
// token for another host does not.
func TestInteropForwardAuthCaddyNoResource(t *testing.T) {
	t.Parallel()
	e, up := startForwardAuthEnv(t, func(issuer, mcp, upstream string) string {
		return fmt.Sprintf(`route /github/* {
		forward_auth %[1]s {
			uri /verify
			copy_headers X-User-Id X-User-Name
			transport http {
				tls_insecure_skip_verify
			}
		}
		request_header -Authorization
		reverse_proxy %[2]s
	}`, issuer, upstream)
	})
	c := e.newClient(basic)
	tok := e.gateToken(c, e.mcpURL("/github/mcp"), "")
	other := e.gateToken(c, e.issuer+"/github/mcp", "") // the same path on another origin

	r := e.mcpPost("/github/mcp", "")
	want := `Bearer resource_metadata="` + e.issuer + "/verify/metadata?resource=" + url.QueryEscape(e.mcpURL("/github/mcp")) + `"`
	if got := wantChallenge(t, "no token", r, http.StatusUnauthorized); !strings.HasPrefix(got, want) {
		t.Errorf("no token: WWW-Authenticate %q, want it to start with %q", got, want)
	}
	wantStatus(t, "token for another origin", e.mcpPost("/github/mcp", other.Access), http.StatusUnauthorized, "invalid_token")
	wantUntouched(t, "refused requests", up, 0)

	ok := e.mcpPost("/github/mcp", tok.Access, "X-Test-Tag", "nores")
	wantStatus(t, "token for the MCP URL", ok, http.StatusOK, "")
	if h := up.tagged(t, "nores"); h.Get("X-User-Id") != "1001" || h.Get("Authorization") != "" {
		t.Errorf("the upstream saw X-User-Id %q, Authorization %q", h.Get("X-User-Id"), h.Get("Authorization"))
	}
}
