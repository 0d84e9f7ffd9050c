package oauthcore_test

// httptest tests of /introspect (RFC 7662): only confidential clients,
// only their own tokens; everything else is {"active": false}.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestIntrospectConfidentialOnly_RV02: a public client, an unauthenticated
// caller and a wrong secret are refused with invalid_client, even for the
// caller's own token.
func TestIntrospectConfidentialOnly_RV02(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pub := h.newClient(authPublic)
	conf := h.newClient(authBasic)
	_, ptok := h.fullFlow(pub)
	_, ctok := h.fullFlow(conf)
	wrong := *conf
	wrong.Secret = "wrong"
	anonymous := request(http.MethodPost, "/introspect", url.Values{"token": {ctok.Access}})
	for _, tt := range []struct {
		name string
		r    *reply
	}{
		{"a public client, its own token", h.introspect(pub, ptok.Access)},
		{"a public client, another's token", h.introspect(pub, ctok.Access)},
		{"no client authentication", h.serve(anonymous)},
		{"a wrong secret", h.introspect(&wrong, ctok.Access)},
	} {
		wantOAuthError(t, "RV-02 "+tt.name, tt.r, http.StatusUnauthorized, "invalid_client")
		if strings.Contains(tt.r.Body, "alice") || strings.Contains(tt.r.Body, "1001") {
			t.Errorf("RV-02 %s: the refusal tells about the token: %s", tt.name, tt.r.Body)
		}
	}
}

// TestIntrospectOwnTokens_RV02: a confidential client sees the members of
// its own live access token; every other token (another client's, a
// refresh token, a RAT, garbage, another server's, revoked directly or
// through the grant, expired) is exactly {"active": false}.
func TestIntrospectOwnTokens_RV02(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.AccessTokenLifetime = time.Hour })
	a := h.newClient(authBasic)
	b := h.newClient(authPost)
	_, tok := h.fullFlow(a)
	_, btok := h.fullFlow(b)

	r := h.introspect(a, tok.Access)
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %s", r)
	}
	wantJSONNoStore(t, "introspection", r)
	m := r.json(t)
	now := h.clock.Now().Unix()
	want := map[string]any{"active": true, "token_type": "Bearer", "scope": "mcp", "client_id": a.ID, "username": "alice",
		"sub": "1001", "iss": asIssuer, "aud": asIssuer, "iat": float64(now), "exp": float64(now + 3600)}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("introspection %s = %v, want %v", k, m[k], v)
		}
	}
	if jti, _ := m["jti"].(string); jti == "" {
		t.Error("introspection without jti")
	}
	if bm := h.introspect(b, btok.Access).json(t); bm["client_id"] != b.ID || bm["active"] != true {
		t.Errorf("a post client's own token: %v", bm)
	}

	foreign := newHarness(t)
	fc := foreign.newClient(authBasic)
	_, ftok := foreign.fullFlow(fc)
	revokedAT, _ := h.mint(a.ID, asIssuer, nil)
	wantRevoked(t, "revoke", h.revoke(a, revokedAT))
	_, dead := h.fullFlow(a)
	wantRevoked(t, "revoke the grant", h.revoke(a, dead.Refresh))
	inactive := []struct{ name, token string }{
		{"another client's token", btok.Access},
		{"its own refresh token", tok.Refresh},
		{"its RAT", a.RAT},
		{"its secret", a.Secret},
		{"garbage", "garbage"},
		{"empty", ""},
		{"9 KiB, over the token limit", strings.Repeat("a", 9<<10)},
		{"another server's token", ftok.Access},
		{"a revoked token", revokedAT},
		{"a token of a revoked grant", dead.Access},
	}
	check := func(name, token string) {
		t.Helper()
		r := h.introspect(a, token)
		if r.Status != http.StatusOK || strings.TrimSpace(r.Body) != `{"active":false}` {
			t.Errorf("RV-02 %s: %s, want exactly {\"active\":false}", name, r)
		}
		wantJSONNoStore(t, name, r)
	}
	for _, tt := range inactive {
		check(tt.name, tt.token)
	}
	h.clock.Advance(time.Hour + h.Server.Config().Leeway + time.Second)
	check("an expired token", tok.Access)
}

// TestIntrospectReadsTheStore: introspection checks revocation in the
// store on every call, so a revocation this process was never told of
// (another instance's, its announcement lost) is seen at once.
func TestIntrospectReadsTheStore(t *testing.T) {
	t.Parallel()
	h, _ := newQuietHarness(t)
	c := h.newClient(authBasic)
	at, claims := h.mint(c.ID, asIssuer, nil)
	if !h.active(c, at) || !h.valid(at) {
		t.Fatal("a fresh token is inactive")
	}
	if err := h.Store.RevokeToken(t.Context(), claims.ID, claims.ExpiresAt.Time); err != nil {
		t.Fatal(err)
	}
	if h.active(c, at) {
		t.Error("introspection answered from a cache")
	}
}

// TestIntrospectRefused_MD06: the request shape rules of /token apply.
func TestIntrospectRefused_MD06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	for _, tt := range []struct {
		name, ctype, body string
		status            int
	}{
		{"JSON", "application/json", `{"token":"x"}`, 400},
		{"no content type", "", "token=x", 400},
		{"the token twice", "application/x-www-form-urlencoded", "token=x&token=y", 400},
		{"17 KiB", "application/x-www-form-urlencoded", "token=" + strings.Repeat("a", 17<<10), 413},
	} {
		req := rawRequest(http.MethodPost, "/introspect", tt.ctype, tt.body)
		req.SetBasicAuth(c.ID, c.Secret)
		wantOAuthError(t, tt.name, h.serve(req), tt.status, "invalid_request")
	}
	req := rawRequest(http.MethodPost, "/introspect?token="+url.QueryEscape(tok.Access), "application/x-www-form-urlencoded", "")
	req.SetBasicAuth(c.ID, c.Secret)
	wantOAuthError(t, "the token in the query", h.serve(req), http.StatusBadRequest, "invalid_request")
}

// TestIntrospectStoreOutage_RD03: when the store cannot say whether a
// token was revoked the answer is 503, not a guess either way.
func TestIntrospectStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	for _, failing := range []string{"TokenRevoked", "GrantRevoked", "GetClient"} {
		fs.fail(failing)
		r := h.introspect(c, tok.Access)
		fs.heal()
		wantOAuthError(t, failing+" failing", r, http.StatusServiceUnavailable, string(oauthcore.CodeTemporarilyUnavailable))
		if strings.Contains(r.Body, "active") || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s failing: %v %s", failing, r.Header, r.Body)
		}
	}
	if !h.active(c, tok.Access) {
		t.Error("after the outage the token is inactive")
	}
}
