package oauthcore_test

// httptest tests of /verify (ForwardAuth for proxies that call out) and
// /verify/metadata: identity headers, the operator's resource space, the
// forwarded URL, revocation, outages (the metadata it points at:
// forwardauth_metadata_http_test.go).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fwd is what a proxy forwards: X-Forwarded-Proto, -Host and -Uri (only
// the non-empty ones are sent).
type fwd struct{ proto, host, uri string }

// forward calls /verify?query as a proxy would, with token as bearer (none
// when empty).
func (h *harness) forward(method, query, token string, f fwd) *reply {
	path := "/verify"
	if query != "" {
		path += "?" + query
	}
	req := request(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range map[string]string{"X-Forwarded-Proto": f.proto, "X-Forwarded-Host": f.host, "X-Forwarded-Uri": f.uri} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return h.serve(req)
}

// verifyMetadata is where /verify's challenges point for resource.
func verifyMetadata(resource string) string {
	return asIssuer + "/verify/metadata?resource=" + url.QueryEscape(resource)
}

var identityHeaders = []string{"X-User-Id", "X-User-Name", "X-User-Email", "X-Client-Id", "X-Scope"}

// wantNoIdentity checks that a refusal carries no identity header.
func wantNoIdentity(t testing.TB, what string, r *reply) {
	t.Helper()
	for _, k := range identityHeaders {
		if r.Header.Get(k) != "" {
			t.Errorf("%s: refused with %s %q", what, k, r.Header.Get(k))
		}
	}
}

// TestForwardAuthIdentity_RS05: a good token gets 200, no body, no-store,
// and the identity for the proxy to copy upstream (RS-05: the proxy
// forwards these, not the token); refusals carry no identity and name
// where the metadata is.
func TestForwardAuthIdentity_RS05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		r := h.forward(method, "", tok.Access, fwd{})
		want := map[string]string{"X-User-Id": "1001", "X-User-Name": "alice", "X-Client-Id": c.ID, "X-Scope": "mcp",
			"Cache-Control": "no-store"}
		if r.Status != http.StatusOK || r.Body != "" {
			t.Errorf("%s /verify: %s", method, r)
		}
		for k, v := range want {
			if r.Header.Get(k) != v {
				t.Errorf("%s /verify: %s = %q, want %q", method, k, r.Header.Get(k), v)
			}
		}
		if !strings.Contains(r.Header.Get("X-User-Email"), "@") {
			t.Errorf("X-User-Email %q", r.Header.Get("X-User-Email"))
		}
	}
	challenge := `Bearer resource_metadata="` + verifyMetadata(asIssuer) + `", scope="mcp"`
	for _, tt := range []struct {
		name, token, challenge string
	}{
		{"no token", "", challenge},
		{"garbage", "x.y.z", challenge + `, error="invalid_token"`},
		{"the refresh token", tok.Refresh, challenge + `, error="invalid_token"`},
	} {
		r := h.forward(http.MethodGet, "", tt.token, fwd{})
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("RS-04 %s: %s %q, want 401 %q", tt.name, r, r.Header.Get("WWW-Authenticate"), tt.challenge)
		}
		wantNoIdentity(t, tt.name, r)
	}
	meta := h.serve(request(http.MethodGet, "/verify/metadata?resource="+url.QueryEscape(asIssuer), nil))
	if meta.Status != http.StatusOK || meta.json(t)["resource"] != asIssuer {
		t.Errorf("the challenge's metadata: %s", meta)
	}
}

// TestForwardAuthExplicitResource_RS03: with ?resource= the operator fixes
// the resource space (in any spelling of it); X-Forwarded-Uri only picks
// the URL inside it, and X-Forwarded-Host changes nothing.
func TestForwardAuthExplicitResource_RS03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	forSpace, _ := h.mint("client_x", mcpSpace, nil)
	forMCP, _ := h.mint("client_x", mcpSpace+"/mcp", nil)
	forIssuer, _ := h.mint("client_x", asIssuer, nil)
	forOther, _ := h.mint("client_x", "https://b.example/github", nil)
	for _, spelling := range []string{mcpSpace, "HTTPS://MCP.Example.com:443/github/"} {
		q := "resource=" + url.QueryEscape(spelling)
		for _, tt := range []struct {
			name, token string
			f           fwd
			status      int
			meta        string // the challenge's resource, when refused
		}{
			{"the space's token", forSpace, fwd{}, 200, ""},
			{"the space's token below it", forSpace, fwd{uri: "/github/mcp"}, 200, ""},
			{"the space's token, URI outside (the space is checked)", forSpace, fwd{uri: "/elsewhere"}, 200, ""},
			{"/github/mcp at itself", forMCP, fwd{uri: "/github/mcp?session=1"}, 200, ""},
			{"/github/mcp below it", forMCP, fwd{uri: "/github/mcp/sse"}, 200, ""},
			{"/github/mcp without a URI", forMCP, fwd{}, 401, mcpSpace},
			{"/github/mcp above it", forMCP, fwd{uri: "/github"}, 401, mcpSpace},
			{"/github/mcp at a sibling", forMCP, fwd{uri: "/github/mcp-other"}, 401, mcpSpace + "/mcp-other"},
			{"/github/mcp, URI outside the space", forMCP, fwd{uri: "/github-other/mcp"}, 401, mcpSpace},
			{"the issuer's token", forIssuer, fwd{uri: "/github/mcp"}, 401, mcpSpace + "/mcp"},
			{"another host's token, its host forwarded", forOther, fwd{proto: "https", host: "b.example", uri: "/github"}, 401, mcpSpace},
			{"no token", "", fwd{proto: "https", host: "b.example", uri: "/github/mcp"}, 401, mcpSpace + "/mcp"},
		} {
			r := h.forward(http.MethodGet, q, tt.token, tt.f)
			what := "RS-03 " + spelling + ": " + tt.name
			if r.Status != tt.status {
				t.Errorf("%s: %s, want %d", what, r, tt.status)
				continue
			}
			if tt.status == 200 {
				if r.Header.Get("X-User-Id") != "1001" {
					t.Errorf("%s: identity %v", what, r.Header)
				}
				continue
			}
			wantNoIdentity(t, what, r)
			if want := `resource_metadata="` + verifyMetadata(tt.meta) + `"`; !strings.Contains(r.Header.Get("WWW-Authenticate"), want) {
				t.Errorf("%s: challenge %q, want %s", what, r.Header.Get("WWW-Authenticate"), want)
			}
		}
	}
}

// TestForwardAuthForwardedURL_RS03: without ?resource= the forwarded URL is
// the resource; loopback http origins count, the headers must all be
// there, and each spelling of the URL is canonicalised before the
// audience is compared.
func TestForwardAuthForwardedURL_RS03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	loop, _ := h.mint("client_x", "http://127.0.0.1:8080/mcp", nil)
	v6, _ := h.mint("client_x", "https://[::1]:8443/mcp", nil)
	forMCP, _ := h.mint("client_x", mcpSpace+"/mcp", nil)
	for _, tt := range []struct {
		name, token string
		f           fwd
		status      int
	}{
		{"loopback http", loop, fwd{"http", "127.0.0.1:8080", "/mcp"}, 200},
		{"loopback http, another loopback name", loop, fwd{"http", "localhost:8080", "/mcp"}, 401},
		{"loopback http, another port", loop, fwd{"http", "127.0.0.1:8081", "/mcp"}, 401},
		{"loopback, https forwarded", loop, fwd{"https", "127.0.0.1:8080", "/mcp"}, 401},
		{"IPv6 loopback", v6, fwd{"https", "[::1]:8443", "/mcp/x"}, 200},
		{"mixed case and default port", forMCP, fwd{"HTTPS", "MCP.EXAMPLE.COM:443", "/github/mcp/"}, 200},
		{"a path case change", forMCP, fwd{"https", "mcp.example.com", "/GitHub/mcp"}, 401},
		{"without X-Forwarded-Uri", forMCP, fwd{"https", "mcp.example.com", ""}, 401},
		{"without X-Forwarded-Host", forMCP, fwd{"https", "", "/github/mcp"}, 401},
		{"without X-Forwarded-Proto", forMCP, fwd{"", "mcp.example.com", "/github/mcp"}, 401},
		{"an encoded slash", forMCP, fwd{"https", "mcp.example.com", "/github%2Fmcp"}, 401},
		{"a host with a backslash", forMCP, fwd{"https", `mcp.example.com\@evil.test`, "/github/mcp"}, 401},
	} {
		r := h.forward(http.MethodGet, "", tt.token, tt.f)
		if r.Status != tt.status {
			t.Errorf("%s: %s, want %d", tt.name, r, tt.status)
		}
	}
}

// TestForwardAuthConfiguredResources_RS01: with `resources` configured, a
// forwarded URL at or below one of them is a resource; any other is not
// (only issuer-audience tokens pass there, as without the headers).
func TestForwardAuthConfiguredResources_RS01(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.Resources = []string{mcpSpace} })
	forMCP, _ := h.mint("client_x", mcpSpace+"/mcp", nil)
	forOther, _ := h.mint("client_x", mcpOrigin+"/fetch", nil)
	forIssuer, _ := h.mint("client_x", asIssuer, nil)
	for _, tt := range []struct {
		name, token, uri string
		status           int
	}{
		{"below the configured resource", forMCP, "/github/mcp", 200},
		{"an issuer token below it (the audience rule)", forIssuer, "/github/mcp", 200},
		{"outside it, a token for that URL", forOther, "/fetch", 401},
		{"outside it, an issuer token", forIssuer, "/fetch", 200},
		{"outside it, no token", "", "/fetch", 401},
	} {
		r := h.forward(http.MethodGet, "", tt.token, fwd{"https", "mcp.example.com", tt.uri})
		if r.Status != tt.status {
			t.Errorf("RS-01 %s: %s, want %d", tt.name, r, tt.status)
		}
	}
}

// TestForwardAuthDotSegments_RS03_RS08: a forwarded URI with dot segments
// names another URL than it seems to; proxies send X-Forwarded-Uri as the
// client wrote it (nginx's $request_uri, Traefik) and route on the cleaned
// path. Without ?resource= such a URI names no resource (only
// issuer-audience tokens pass); with ?resource= it must not carry a token
// for /github/mcp to /github/admin. Fails today: the explicit mode checks
// the raw X-Forwarded-Uri by prefix.
func TestForwardAuthDotSegments_RS03_RS08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	forMCP, _ := h.mint("client_x", mcpSpace+"/mcp", nil)
	q := "resource=" + url.QueryEscape(mcpSpace)
	for _, tt := range []struct {
		name, query, uri string
	}{
		{"forwarded URL mode", "", "/github/mcp/../admin"},
		{"explicit resource", q, "/github/mcp/../admin"},
		{"explicit resource, out of the space", q, "/github/mcp/../../fetch"},
	} {
		r := h.forward(http.MethodGet, tt.query, forMCP, fwd{"https", "mcp.example.com", tt.uri})
		if r.Status == http.StatusOK {
			t.Errorf("RS-03 %s: a token for %s/mcp passed at %s", tt.name, mcpSpace, tt.uri)
		}
	}
}

// TestForwardAuthRequestErrors: a resource the auth URL cannot mean, a
// malformed query and a token in the query are 400 invalid_request (a
// misconfiguration the operator sees, not a 401 clients act on); other
// methods are 405.
func TestForwardAuthRequestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	good, _ := h.mint("client_x", asIssuer, nil)
	for _, q := range []string{
		"resource=" + url.QueryEscape("http://evil.test/x"), "resource=mcp", "resource=" + url.QueryEscape(mcpSpace+"#f"),
		"resource=" + url.QueryEscape(mcpSpace+"?x=1"), "resource=" + url.QueryEscape(mcpSpace+"/../x"), "resource=%zz", "access_token=" + good,
	} {
		r := h.forward(http.MethodGet, q, good, fwd{})
		wantOAuthError(t, "/verify?"+q, r, http.StatusBadRequest, "invalid_request")
		wantNoIdentity(t, q, r)
	}
	r := h.forward(http.MethodPut, "", good, fwd{})
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST, HEAD" {
		t.Errorf("PUT /verify: %s %v", r, r.Header)
	}
	wantNoIdentity(t, "PUT", r)
}

// TestForwardAuthRevocationAndExpiry_JW06_JW04: /verify shares the
// server's verifier: a revocation at /revoke ends a token it had cached,
// and expiry holds.
func TestForwardAuthRevocationAndExpiry_JW06_JW04(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.AccessTokenLifetime = time.Hour })
	c := h.newClient(authBasic)
	ok := func(at string) bool { return h.forward(http.MethodGet, "", at, fwd{}).Status == http.StatusOK }
	_, a := h.fullFlow(c)
	_, b := h.fullFlow(c)
	_, e := h.fullFlow(c)
	if !ok(a.Access) || !ok(b.Access) || !ok(e.Access) {
		t.Fatal("fresh tokens refused")
	}
	wantRevoked(t, "revoke an access token", h.revoke(c, a.Access))
	wantRevoked(t, "revoke a refresh token", h.revoke(c, b.Refresh))
	if ok(a.Access) || ok(b.Access) {
		t.Error("JW-06: /verify accepts a revoked token")
	}
	if !ok(e.Access) {
		t.Error("an unrevoked token is refused")
	}
	h.clock.Advance(time.Hour + h.Server.Config().Leeway + time.Second)
	if ok(e.Access) {
		t.Error("JW-04: /verify accepts an expired token")
	}
}

// TestForwardAuthOutage_RS10: when revocation cannot be checked /verify
// answers 503 (the proxy fails closed) with no identity and no challenge.
func TestForwardAuthOutage_RS10(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	at, _ := h.mint("client_x", mcpSpace+"/mcp", nil)
	fs.fail("TokenRevoked")
	for _, tt := range []struct {
		query string
		f     fwd
	}{
		{"resource=" + url.QueryEscape(mcpSpace), fwd{uri: "/github/mcp"}},
		{"", fwd{"https", "mcp.example.com", "/github/mcp"}},
	} {
		r := h.forward(http.MethodPost, tt.query, at, tt.f)
		wantOAuthError(t, "RS-10 /verify?"+tt.query, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		wantNoIdentity(t, "RS-10", r)
		if r.Header.Get("WWW-Authenticate") != "" || r.Header.Get("Retry-After") == "" {
			t.Errorf("RS-10: %v", r.Header)
		}
	}
	fs.heal()
	if r := h.forward(http.MethodPost, "", at, fwd{"https", "mcp.example.com", "/github/mcp"}); r.Status != http.StatusOK {
		t.Errorf("after the outage: %s", r)
	}
}
