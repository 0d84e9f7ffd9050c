package oauthcore_test

// httptest tests of /revoke (RFC 7009): clients revoke only their own
// tokens, unknown tokens are 200, a refresh token ends its grant, an
// access token ends itself, at the gate too.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// wantRevoked checks a successful revocation answer: 200, empty, no-store.
func wantRevoked(t testing.TB, what string, r *reply) {
	t.Helper()
	if r.Status != http.StatusOK || r.Body != "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: %s %v, want an empty no-store 200 (RFC 7009 §2.2)", what, r, r.Header)
	}
}

// TestRevokeOwnTokensOnly_RV01: another client's revocation of A's tokens
// is answered 200 and does nothing; A's revocation of its access token
// ends that token (at a gate that had it cached, too) and leaves the
// grant; A's revocation of its refresh token ends the grant and every
// access token of it.
func TestRevokeOwnTokensOnly_RV01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.forEachMethod(t, func(t *testing.T, h *harness, method string) {
		gate := h.Server.NewGate(asIssuer, nil, true)
		atGate := func(at string) int {
			r, _ := h.gateCheck(gate, "Bearer "+at, "/")
			return r.Status
		}
		a := h.newClient(method)
		_, tok := h.fullFlow(a)
		if atGate(tok.Access) != http.StatusOK { // cached from here on
			t.Fatal("a fresh access token refused")
		}
		for _, other := range []*testClient{h.newClient(authBasic), h.newClient(authPost), h.newClient(authPublic)} {
			wantRevoked(t, "RV-01 "+other.Method+" revokes A's access token", h.revoke(other, tok.Access))
			wantRevoked(t, "RV-01 "+other.Method+" revokes A's refresh token", h.revoke(other, tok.Refresh))
		}
		if atGate(tok.Access) != http.StatusOK {
			t.Fatal("RV-01: another client revoked A's access token")
		}
		next := h.parseTokens(h.refresh(a, tok.Refresh, nil)) // the grant survived too

		wantRevoked(t, "A revokes its access token", h.revoke(a, next.Access))
		if atGate(next.Access) != http.StatusUnauthorized || h.valid(next.Access) {
			t.Error("RV-01: a revoked access token still passes the gate")
		}
		third := h.parseTokens(h.refresh(a, next.Refresh, nil))
		if atGate(third.Access) != http.StatusOK {
			t.Error("RV-01: revoking an access token ended its grant")
		}

		wantRevoked(t, "A revokes its refresh token", h.revoke(a, third.Refresh))
		wantOAuthError(t, "RV-01 refresh after revocation", h.refresh(a, third.Refresh, nil), http.StatusBadRequest, "invalid_grant")
		if atGate(third.Access) != http.StatusUnauthorized || atGate(tok.Access) != http.StatusUnauthorized {
			t.Error("RV-01: an access token of a revoked grant still passes the gate")
		}
		wantRevoked(t, "revoking twice", h.revoke(a, third.Refresh))
		h.fullFlow(a) // the client itself lives on
	})
}

// TestRevokeUnknownTokens_RV01: tokens that are unknown, malformed, of
// another server, expired, or credentials of another kind are 200 and
// change nothing (RFC 7009 §2.2: the server responds 200 for invalid
// tokens).
func TestRevokeUnknownTokens_RV01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	foreign := newHarness(t)
	fc := foreign.newClient(authBasic)
	_, ftok := foreign.fullFlow(fc)
	expired, _ := h.mint(c.ID, asIssuer, func(cl *oauthcore.Claims) {
		cl.ExpiresAt.Time = cl.IssuedAt.Add(-10 * time.Minute)
		cl.IssuedAt.Time = cl.ExpiresAt.Add(-time.Minute)
	})
	for _, tt := range []struct{ name, token string }{
		{"unknown", "not-a-token"},
		{"JWT-shaped garbage", "eyJhbGciOiJFUzI1NiJ9.eyJ9.c2ln"},
		{"8 KiB", strings.Repeat("t", 8<<10)},
		{"another server's access token", ftok.Access},
		{"another server's refresh token", ftok.Refresh},
		{"an expired access token", expired},
		{"the RAT", c.RAT},
		{"the client secret", c.Secret},
		{"the refresh token's hash", oauthcore.HashSecret(tok.Refresh)},
	} {
		wantRevoked(t, "revoke "+tt.name, h.revoke(c, tt.token))
	}
	if !h.valid(tok.Access) || h.manage(http.MethodGet, c, nil).Status != http.StatusOK {
		t.Error("revoking unknown tokens changed something")
	}
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
	if !foreign.valid(ftok.Access) {
		t.Error("a revocation here reached the other server")
	}
}

// TestRevokeTokenTypeHint: the hint is only a hint (RFC 7009 §2.1): a
// wrong or unknown hint still revokes the token.
func TestRevokeTokenTypeHint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	for _, hint := range []string{"refresh_token", "access_token", "bogus"} {
		_, tok := h.fullFlow(c)
		wantRevoked(t, "access token, hint "+hint, h.call(c, "/revoke", url.Values{"token": {tok.Access}, "token_type_hint": {hint}}))
		if h.valid(tok.Access) {
			t.Errorf("hint %s: the access token survived", hint)
		}
		wantRevoked(t, "refresh token, hint "+hint, h.call(c, "/revoke", url.Values{"token": {tok.Refresh}, "token_type_hint": {hint}}))
		wantOAuthError(t, "refresh after revocation, hint "+hint, h.refresh(c, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	}
}

// TestRevokeRefused_RV01_MD06: a revocation without valid client
// authentication, without a token, or not shaped as RFC 7009 §2.1 asks is
// refused with the RFC 6749 §5.2 error, and revokes nothing.
func TestRevokeRefused_RV01_MD06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	pub := h.newClient(authPublic)
	_, tok := h.fullFlow(c)
	_, ptok := h.fullFlow(pub)
	form := func(extra url.Values) string {
		v := url.Values{"token": {tok.Access}}
		for k, vals := range extra {
			v[k] = vals
		}
		return v.Encode()
	}
	basic := func(id, secret string) string {
		req := request(http.MethodPost, "/revoke", nil)
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return req.Header.Get("Authorization")
	}
	for _, tt := range []struct {
		name, ctype, body, authz string
		status                   int
		code                     oauthcore.ErrorCode
	}{
		{"no client authentication", "application/x-www-form-urlencoded", form(nil), "", 401, oauthcore.CodeInvalidClient},
		{"a wrong secret", "application/x-www-form-urlencoded", form(nil), basic(c.ID, "wrong"), 401, oauthcore.CodeInvalidClient},
		{"an unknown client", "application/x-www-form-urlencoded", form(nil), basic("client_nope", c.Secret), 401, oauthcore.CodeInvalidClient},
		{"the secret without Basic", "application/x-www-form-urlencoded", form(url.Values{"client_id": {c.ID}}), "", 401, oauthcore.CodeInvalidClient},
		{"Basic and a body secret", "application/x-www-form-urlencoded", form(url.Values{"client_secret": {c.Secret}}), basic(c.ID, c.Secret), 401, oauthcore.CodeInvalidClient},
		{"a public client with a secret", "application/x-www-form-urlencoded", url.Values{"token": {ptok.Access}, "client_id": {pub.ID}, "client_secret": {"x"}}.Encode(), "", 401, oauthcore.CodeInvalidClient},
		{"a public client by Basic", "application/x-www-form-urlencoded", url.Values{"token": {ptok.Access}}.Encode(), basic(pub.ID, ""), 401, oauthcore.CodeInvalidClient},
		{"malformed Basic", "application/x-www-form-urlencoded", form(nil), "Basic !!!", 401, oauthcore.CodeInvalidClient},
		{"no token", "application/x-www-form-urlencoded", "", basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"an empty token", "application/x-www-form-urlencoded", "token=", basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"the token twice", "application/x-www-form-urlencoded", form(nil) + "&token=" + url.QueryEscape(tok.Access), basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"MD-06 JSON", "application/json", `{"token":"` + tok.Access + `"}`, basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"MD-06 no content type", "", form(nil), basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"MD-06 two content types", "application/json, application/x-www-form-urlencoded", form(nil), basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"MD-06 bad form encoding", "application/x-www-form-urlencoded", form(nil) + "&%zz", basic(c.ID, c.Secret), 400, oauthcore.CodeInvalidRequest},
		{"MD-06 17 KiB", "application/x-www-form-urlencoded", form(url.Values{"pad": {strings.Repeat("a", 17<<10)}}), basic(c.ID, c.Secret), 413, oauthcore.CodeInvalidRequest},
	} {
		req := rawRequest(http.MethodPost, "/revoke", tt.ctype, tt.body)
		if tt.authz != "" {
			req.Header.Set("Authorization", tt.authz)
		}
		r := h.serve(req)
		wantOAuthError(t, tt.name, r, tt.status, string(tt.code))
		if tt.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without a challenge (RFC 6749 §5.2)", tt.name)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("MD-04 %s: a refusal without CORS", tt.name)
		}
	}
	inQuery := rawRequest(http.MethodPost, "/revoke?token="+url.QueryEscape(tok.Access), "application/x-www-form-urlencoded", "")
	inQuery.SetBasicAuth(c.ID, c.Secret)
	wantOAuthError(t, "the token in the query", h.serve(inQuery), http.StatusBadRequest, "invalid_request")

	if !h.valid(tok.Access) || !h.valid(ptok.Access) {
		t.Fatal("a refused revocation revoked a token")
	}
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
	h.parseTokens(h.refresh(pub, ptok.Refresh, nil))
}

// TestRevokeStoreOutage_RD03: a store that cannot record a revocation
// answers 503 temporarily_unavailable (the client must retry: a 200 would
// tell it the token is dead), and the token is still what it was.
func TestRevokeStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	for _, tt := range []struct{ name, token, failing string }{
		{"access token, RevokeToken failing", tok.Access, "RevokeToken"},
		{"refresh token, GrantByRefresh failing", tok.Refresh, "GrantByRefresh"},
		{"refresh token, RevokeGrant failing", tok.Refresh, "RevokeGrant"},
		{"any token, GetClient failing", tok.Access, "GetClient"},
	} {
		fs.fail(tt.failing)
		r := h.revoke(c, tt.token)
		fs.heal()
		wantOAuthError(t, tt.name, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
			t.Errorf("RD-03/LG-03 %s: %v %s", tt.name, r.Header, r.Body)
		}
		if fs.count(tt.failing) == 0 {
			t.Errorf("%s: never called", tt.failing)
		}
	}
	if !h.valid(tok.Access) {
		t.Error("the access token died in a failed revocation")
	}
	next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
	wantRevoked(t, "after the outage", h.revoke(c, next.Refresh))
	wantOAuthError(t, "refresh after the revocation", h.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
}

// TestRevokeEarlierRefreshTokenEndsTheGrant_RV01: a refresh token of an
// earlier generation still names its grant: revoking it ends the family,
// the current refresh token and its access tokens included.
func TestRevokeEarlierRefreshTokenEndsTheGrant_RV01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPost)
	_, first := h.fullFlow(c)
	second := h.parseTokens(h.refresh(c, first.Refresh, nil))
	third := h.parseTokens(h.refresh(c, second.Refresh, nil))
	wantRevoked(t, "revoke the first refresh token", h.revoke(c, first.Refresh))
	wantOAuthError(t, "the current refresh token", h.refresh(c, third.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if h.valid(third.Access) || h.valid(second.Access) {
		t.Error("RV-01: an access token of the revoked family still passes")
	}
}
