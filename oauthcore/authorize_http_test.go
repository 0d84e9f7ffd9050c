package oauthcore_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestAuthorizeLocalErrors_AZ01_AZ08_AZ09: until the client and its
// redirect URI are validated nothing may be redirected (RFC 6749
// §4.1.2.1), and repeated parameters or an oversized state are refused
// before anything is stored. Every case is a local 400 page, GitHub hears
// nothing and no flow is stored.
func TestAuthorizeLocalErrors_AZ01_AZ08_AZ09(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic, "https://app.test/cb")
	two := h.newClient(authPublic, "https://app.test/a", "https://app.test/b")
	cases := []struct {
		name string
		mod  func(q url.Values)
		code string
	}{
		{"no parameters", func(q url.Values) { clear(q) }, "invalid_client"},
		{"unknown client_id", func(q url.Values) { q.Set("client_id", "client_nope") }, "invalid_client"},
		{"empty client_id", func(q url.Values) { q.Set("client_id", "") }, "invalid_client"},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") }, "invalid_request"},
		{"RU-07 several URIs registered, none given", func(q url.Values) {
			q.Set("client_id", two.ID)
			q.Del("redirect_uri")
		}, "invalid_request"},
		{"AZ-08 client_id twice", func(q url.Values) { q.Add("client_id", q.Get("client_id")) }, "invalid_request"},
		{"AZ-08 redirect_uri twice", func(q url.Values) { q.Add("redirect_uri", q.Get("redirect_uri")) }, "invalid_request"},
		{"AZ-08 state twice", func(q url.Values) { q.Add("state", "x") }, "invalid_request"},
		{"AZ-08 code_challenge twice", func(q url.Values) { q.Add("code_challenge", q.Get("code_challenge")) }, "invalid_request"},
		{"AZ-08 response_type twice", func(q url.Values) { q.Add("response_type", "code") }, "invalid_request"},
		{"AZ-08 scope twice", func(q url.Values) { q["scope"] = []string{"mcp", "mcp"} }, "invalid_request"},
		{"AZ-09 1025-byte state", func(q url.Values) { q.Set("state", strings.Repeat("s", 1025)) }, "invalid_request"},
		{"AZ-09 100 KiB state", func(q url.Values) { q.Set("state", strings.Repeat("s", 100<<10)) }, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			a := newAuthRequest(c)
			tc.mod(a.Query)
			r := h.newBrowser().get(a.path())
			wantLocalPage(t, tc.name, r, http.StatusBadRequest, tc.code)
			if strings.Contains(r.Body, "sssssssss") {
				t.Error("the oversized state was reflected")
			}
		})
	}
	t.Cleanup(func() {
		if h.gh.Contacted() {
			t.Errorf("GitHub was contacted: %+v", h.gh.Requests())
		}
		if dump, _ := h.Store.Dump(); !strings.Contains(string(dump), `"flows":{}`) {
			t.Error("a refused authorization request stored a flow")
		}
	})
}

// TestAuthorizeRedirectMatching_RU01_RU02: the requested redirect URI must
// be one registered, compared as a string; only loopback http may differ,
// and only in its port (RFC 8252 §7.3).
func TestAuthorizeRedirectMatching_RU01_RU02(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		registered, requested string
		ok                    bool
	}{
		{"https://app.test/cb", "https://app.test/cb", true},
		{"https://app.test/cb", "https://app.test/cb/", false},
		{"https://app.test/cb", "https://app.test/cb?x=1", false},
		{"https://app.test/cb", "https://app.test/CB", false},
		{"https://app.test/cb", "https://APP.test/cb", false},
		{"https://app.test/cb", "https://app.test:443/cb", false},
		{"https://app.test/cb", "https://app.test/cb#f", false},
		{"https://app.test/cb", "https://app.test/cb/../cb", false},
		{"https://app.test/cb", "https://app.test/cb%2F", false},
		{"https://app.test/cb", "http://app.test/cb", false},
		{"https://app.test/cb", "https://app.test.evil.test/cb", false},
		{"https://app.test/cb?tenant=1", "https://app.test/cb?tenant=1", true},
		{"https://app.test/cb?tenant=1", "https://app.test/cb?tenant=2", false},
		{"https://app.test/cb?a=1&b=2", "https://app.test/cb?b=2&a=1", false},
		{"http://127.0.0.1:33418/", "http://127.0.0.1:59656/", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", true},
		{"http://127.0.0.1:33418/", "http://127.0.0.1:59656/x", false},
		{"http://127.0.0.1:33418/", "http://127.0.0.1:59656/?x=1", false},
		{"http://127.0.0.1:33418/", "http://[::1]:59656/", false},
		{"http://127.0.0.1:33418/", "http://localhost:59656/", false},
		{"http://127.0.0.1:33418/", "http://127.0.0.2:33418/", false},
		{"http://127.0.0.1:33418/", "http://u@127.0.0.1:33418/", false},
		{"http://[::1]:1000/cb", "http://[::1]:2000/cb", true},
		{"http://localhost:1000/cb", "http://localhost:2000/cb", true},
		{"https://127.0.0.1:8443/cb", "https://127.0.0.1:9443/cb", false},
		{"cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback", true},
		{"com.example.app:/cb", "com.example.app:/cb2", false},
	}
	for _, tc := range cases {
		t.Run(tc.registered+" "+tc.requested, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			c := h.newClient(authPublic, tc.registered)
			a := newAuthRequest(c)
			a.Query.Set("redirect_uri", tc.requested)
			r := h.newBrowser().get(a.path())
			if tc.ok {
				parseConsent(t, r)
				return
			}
			wantLocalPage(t, "RU-01/RU-02", r, http.StatusBadRequest, "invalid_request")
		})
	}
}

// authorizeParamErrors are the request errors found after the client and
// redirect URI are known: they may go back to the client, but only to one
// this browser approved (AZ-04).
var authorizeParamErrors = []struct {
	name string
	mod  func(q url.Values)
	code string
}{
	{"AZ-07 response_type token", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
	{"AZ-07 response_type code id_token", func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
	{"AZ-07 response_type CODE", func(q url.Values) { q.Set("response_type", "CODE") }, "unsupported_response_type"},
	{"AZ-07 no response_type", func(q url.Values) { q.Del("response_type") }, "unsupported_response_type"},
	{"PK-01 no code_challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
	{"PK-01 no challenge, no method", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
	{"PK-02 method plain", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
	{"PK-02 method omitted", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
	{"PK-02 method S512", func(q url.Values) { q.Set("code_challenge_method", "S512") }, "invalid_request"},
	{"PK-02 method s256", func(q url.Values) { q.Set("code_challenge_method", "s256") }, "invalid_request"},
	{"PK-03 challenge abc", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
	{"PK-03 challenge 44 chars", func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")+"A") }, "invalid_request"},
	{"PK-03 challenge with +", func(q url.Values) { q.Set("code_challenge", "+"+q.Get("code_challenge")[1:]) }, "invalid_request"},
	{"PK-03 challenge padded", func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")[1:]+"=") }, "invalid_request"},
	{"RS-01 relative resource", func(q url.Values) { q.Set("resource", "mcp") }, "invalid_target"},
	{"RS-01 resource with fragment", func(q url.Values) { q.Set("resource", "https://mcp.test/mcp#x") }, "invalid_target"},
	{"RS-01 resource with query", func(q url.Values) { q.Set("resource", "https://mcp.test/mcp?x=1") }, "invalid_target"},
	{"RS-01 javascript: resource", func(q url.Values) { q.Set("resource", "javascript:alert(1)") }, "invalid_target"},
	{"RS-01 plain http resource", func(q url.Values) { q.Set("resource", "http://mcp.test/mcp") }, "invalid_target"},
	{"RS-01 resource with dot segments", func(q url.Values) { q.Set("resource", "https://mcp.test/a/../mcp") }, "invalid_target"},
	{"AZ-08 two different resources", func(q url.Values) {
		q["resource"] = []string{"https://mcp.test/mcp", "https://other.test/mcp"}
	}, "invalid_target"},
}

// TestAuthorizeErrorsStayLocalForUnapprovedClients_AZ04: a fresh DCR
// client's bad request is shown on our page, never redirected to its
// (possibly phishing) redirect URI, and GitHub hears nothing.
func TestAuthorizeErrorsStayLocalForUnapprovedClients_AZ04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic, "https://phish.test/cb")
	for _, tc := range authorizeParamErrors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			a := newAuthRequest(c)
			tc.mod(a.Query)
			wantLocalPage(t, tc.name, h.newBrowser().get(a.path()), http.StatusBadRequest, tc.code)
		})
	}
	t.Cleanup(func() {
		if h.gh.Contacted() {
			t.Error("GitHub was contacted")
		}
	})
}

// TestAuthorizeErrorsRedirectForApprovedClients_AZ03_MD02: once this
// browser approved the client, the same errors go back to its redirect URI
// (RFC 6749 §4.1.2.1) with 302, the state and exactly one iss (RFC 9207),
// and no code.
func TestAuthorizeErrorsRedirectForApprovedClients_AZ03_MD02(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	b.mustLogin(c, nil)
	for _, tc := range authorizeParamErrors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAuthRequest(c)
			tc.mod(a.Query)
			wantRedirectError(t, tc.name, b.get(a.path()), http.StatusFound, tc.code, a)
		})
	}
	t.Run("another browser", func(t *testing.T) {
		t.Parallel()
		h := h.sub(t)
		a := newAuthRequest(c)
		a.Query.Set("response_type", "token")
		wantLocalPage(t, "AZ-04 the same client in a browser that never approved it", h.newBrowser().get(a.path()),
			http.StatusBadRequest, "unsupported_response_type")
	})
	t.Run("AZ-09 state too long", func(t *testing.T) {
		t.Parallel()
		a := newAuthRequest(c)
		a.Query.Set("state", strings.Repeat("s", 1025))
		wantLocalPage(t, "an oversized state is never echoed, even to an approved client", b.get(a.path()),
			http.StatusBadRequest, "invalid_request")
	})
}

// TestAuthorizeStateAndIss_AZ03_AZ09_MD02: the state comes back byte for
// byte, exactly once, encoded (a%26code%3DEVIL cannot inject a code), the
// registered query is kept, and one iss equal to the issuer is added, on
// success as on error. Without state (PKCE present) the flow works and no
// state comes back.
func TestAuthorizeStateAndIss_AZ03_AZ09_MD02(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic, "https://app.test/cb?tenant=1")
	b := h.newBrowser()
	states := map[string]string{
		"injection":  "a&code=EVIL",
		"1000 bytes": strings.Repeat("a&b=c+d%20e é/?#;", 60)[:1000],
		"1024 bytes": strings.Repeat("x", 1024),
		"iss inside": "x&iss=https://evil.test",
	}
	for name, state := range states {
		f := b.mustLogin(c, func(a *authRequest) { a.Query.Set("state", state) })
		q := f.Final.Query()
		if len(q["state"]) != 1 || f.State != state || len(q["code"]) != 1 || q.Get("tenant") != "1" {
			t.Errorf("%s: state %q (%d), %d codes, tenant %q", name, f.State, len(q["state"]), len(q["code"]), q.Get("tenant"))
		}
		if len(q["iss"]) != 1 || f.Iss != asIssuer {
			t.Errorf("%s: iss %q, want exactly one %q", name, q["iss"], asIssuer)
		}
		if f.Final.Scheme != "https" || f.Final.Host != "app.test" || f.Final.Path != "/cb" {
			t.Errorf("%s: the code went to %v", name, f.Final)
		}
	}
	a := newAuthRequest(c)
	a.Query.Set("state", "a&code=EVIL")
	a.Query.Set("response_type", "token")
	if loc := wantRedirectError(t, "AZ-03 error", b.get(a.path()), http.StatusFound, "unsupported_response_type", a); loc != nil {
		if loc.Query().Get("tenant") != "1" {
			t.Errorf("AZ-03: the registered query was lost: %v", loc)
		}
	}
	f := b.mustLogin(c, func(a *authRequest) { a.Query.Del("state") })
	if f.Final.Query().Has("state") {
		t.Errorf("AZ-09: no state was sent, yet one came back: %v", f.Final)
	}
}

// TestAuthorizeScope_AZ10: the granted scope is server policy: only
// configured scopes, within what the client registered, the default when
// none is asked; unknown scopes are dropped, a configured one outside the
// registration is invalid_scope.
func TestAuthorizeScope_AZ10(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.Scopes = []string{"mcp", "read", "write"}
		o.Config.DefaultScope = "mcp"
	})
	cases := []struct {
		name       string
		registered string // "" registers no scope
		requested  string
		want       string // "" means invalid_scope
	}{
		{"nothing asked: the default", "", "", "mcp"},
		{"configured scopes", "", "read write", "read write"},
		{"order kept, duplicates dropped", "", "write read write", "write read"},
		{"unknown scopes dropped", "", "read claudeai openid", "read"},
		{"only unknown scopes: the default", "", "admin", "mcp"},
		{"offline_access ignored", "", "offline_access read", "read"},
		{"within the registration", "read write", "write", "write"},
		{"registration narrows the default", "read", "", "read"},
		{"outside the registration", "read", "write", ""},
		{"registered unknown scope: the default", "admin", "", "mcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			m := clientMeta(authBasic)
			if tc.registered != "" {
				m["scope"] = tc.registered
			}
			c := h.registerMeta(m)
			mod := func(a *authRequest) {
				if tc.requested != "" {
					a.Query.Set("scope", tc.requested)
				}
			}
			if tc.want == "" {
				a := newAuthRequest(c)
				mod(a)
				wantLocalPage(t, "AZ-10", h.newBrowser().get(a.path()), http.StatusBadRequest, "invalid_scope")
				return
			}
			f := h.newBrowser().mustLogin(c, mod)
			tok := h.exchange(c, f)
			claims, err := h.verify(tok.Access)
			if tok.Scope != tc.want || err != nil || claims.Scope != tc.want {
				t.Errorf("AZ-10: granted %q (token %q, %v), want %q", tok.Scope, claims.Scope, err, tc.want)
			}
		})
	}
}

// TestAuthorizeResource_RS01_RS02_AZ08: RFC 8707 resources are
// canonicalised and become the token's audience; a resource may repeat
// identically; with operator-listed resources only those are accepted,
// and a single one is the default audience.
func TestAuthorizeResource_RS01_RS02_AZ08(t *testing.T) {
	t.Parallel()
	open := newHarness(t)
	one := newHarness(t, func(o *harnessOptions) { o.Config.Resources = []string{"https://mcp.test/mcp"} })
	two := newHarness(t, func(o *harnessOptions) {
		o.Config.Resources = []string{"https://mcp.test/mcp", "https://mcp.test/other"}
	})
	cases := []struct {
		name      string
		h         *harness
		resources []string
		aud       string // "" means invalid_target
	}{
		{"none asked: the issuer", open, nil, asIssuer},
		{"as asked", open, []string{"https://mcp.test/mcp"}, "https://mcp.test/mcp"},
		{"canonicalised", open, []string{"HTTPS://MCP.Test:443/mcp/"}, "https://mcp.test/mcp"},
		{"loopback http", open, []string{"http://127.0.0.1:3000/mcp"}, "http://127.0.0.1:3000/mcp"},
		{"AZ-08 the same twice", open, []string{"https://mcp.test/mcp", "https://mcp.test/mcp/"}, "https://mcp.test/mcp"},
		{"RS-02 none asked, one configured", one, nil, "https://mcp.test/mcp"},
		{"one configured, asked", one, []string{"https://mcp.test/mcp"}, "https://mcp.test/mcp"},
		{"one configured, another asked", one, []string{"https://mcp.test/other"}, ""},
		{"one configured, a sub-path asked", one, []string{"https://mcp.test/mcp/x"}, ""},
		{"none asked, two configured: the issuer", two, nil, asIssuer},
		{"two configured, the second asked", two, []string{"https://mcp.test/other"}, "https://mcp.test/other"},
		{"two configured, an unknown asked", two, []string{"https://evil.test/mcp"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.h.sub(t)
			c := h.newClient(authBasic)
			mod := func(a *authRequest) { a.Query["resource"] = tc.resources }
			if tc.aud == "" {
				a := newAuthRequest(c)
				mod(a)
				wantLocalPage(t, "RS-01", h.newBrowser().get(a.path()), http.StatusBadRequest, "invalid_target")
				return
			}
			tok := h.exchange(c, h.newBrowser().mustLogin(c, mod))
			claims, err := h.verify(tok.Access)
			if err != nil || claims.Aud() != tc.aud {
				t.Errorf("aud %q (%v), want %q", claimsAud(claims), err, tc.aud)
			}
		})
	}
}

func claimsAud(c *oauthcore.Claims) string {
	if c == nil {
		return ""
	}
	return c.Aud()
}

// TestAuthorizeOmittedRedirect_RU07_RU09: a client with one registered
// redirect URI may omit it: the code goes there, and the token request
// may omit it as well, or name it.
func TestAuthorizeOmittedRedirect_RU07_RU09(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic, "https://app.test/cb")
	b := h.newBrowser()
	for _, redirect := range [][]string{nil, {"https://app.test/cb"}} {
		f := b.mustLogin(c, func(a *authRequest) { a.Query.Del("redirect_uri") })
		if got := f.Final.Scheme + "://" + f.Final.Host + f.Final.Path; got != "https://app.test/cb" {
			t.Fatalf("RU-07: the code went to %v", f.Final)
		}
		h.parseTokens(h.redeem(c, f, url.Values{"redirect_uri": redirect}))
	}
}
