package oauthcore_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// sessionCheck runs a gate for the issuer, the audience of tokens whose
// request named no resource.
func (h *harness) sessionCheck(at string, needToken bool) (*httptest.ResponseRecorder, *oauthcore.Session) {
	g := h.Server.NewGate(asIssuer, nil, true)
	req := httptest.NewRequest(http.MethodPost, asIssuer+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	w := httptest.NewRecorder()
	_, s, _ := g.CheckSession(w, req, h.Server.Verifier(), "/mcp", needToken)
	return w, s
}

// TestGateReChecksWithinTTL_CD09: the gate serves a session from its cache
// until membership_ttl has passed, then asks GitHub again: a user removed
// from the team is refused with a live access token, and the grant ends.
// GitHub down once the TTL has passed is 503, never 401.
func TestGateReChecksWithinTTL_CD09(t *testing.T) {
	t.Parallel()
	h, c, tok := bobsGrant(t)
	w, s := h.sessionCheck(tok.Access, true)
	if w.Code != 200 || s == nil || s.Teams != "beta/platform" || s.Orgs != "" || !strings.HasPrefix(s.GitHubToken, "gho_") {
		t.Fatalf("gate: %d %+v", w.Code, s)
	}
	h.gh.SetOutage(fakegithub.Outage5xx)
	h.clock.Advance(61 * time.Second)
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("GitHub down after the TTL: %d, want 503", w.Code)
	}
	h.gh.SetOutage(fakegithub.OutageNone)
	h.gh.SetTeamMember("beta", "platform-db", "bob", "")
	calls := h.gh.Count("")
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != http.StatusUnauthorized {
		t.Fatalf("removed from the team: %d, want 401", w.Code)
	}
	if h.gh.Count("") == calls {
		t.Fatal("the gate did not ask GitHub again")
	}
	if r := h.refresh(c, tok.Refresh, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("refresh after the gate ended the grant: %s", r)
	}
}

// TestGateCacheServesWithoutGitHub: within the TTL a repeat request costs
// no GitHub call.
func TestGateCacheServesWithoutGitHub(t *testing.T) {
	t.Parallel()
	h := orgHarness(t)
	h.members()
	_, tok := h.fullFlow(h.newClient(authBasic))
	h.sessionCheck(tok.Access, false)
	calls := h.gh.Count("")
	for range 5 {
		if w, _ := h.sessionCheck(tok.Access, false); w.Code != 200 {
			t.Fatalf("gate %d", w.Code)
		}
	}
	if h.gh.Count("") != calls {
		t.Fatalf("GitHub was called %d times within the TTL", h.gh.Count("")-calls)
	}
}

// TestGitHubTokenNeededScopes: a gate that hands the token on refuses,
// with 401 invalid_token, a grant whose token lacks a configured scope.
func TestGitHubTokenNeededScopes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, tok := h.fullFlow(h.newClient(authBasic))
	if w, _ := h.sessionCheck(tok.Access, true); w.Code != 200 {
		t.Fatalf("token with the scopes asked: %d", w.Code)
	}
	h.restart(func(c *oauthcore.Config) { c.GitHub.Scopes = []string{"repo"} })
	w, _ := h.sessionCheck(tok.Access, true)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("token without repo: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != 200 {
		t.Fatalf("a gate that does not hand the token on: %d", w.Code)
	}
}

// TestGitHubTokenEncryptedAtRest_CD10: the user's GitHub token is in the
// store only encrypted, and nowhere in logs.
func TestGitHubTokenEncryptedAtRest_CD10(t *testing.T) {
	t.Parallel()
	for name, secret := range map[string][]byte{"es256 keys": nil, "jwt_secret": []byte(strings.Repeat("s", 40))} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, func(o *harnessOptions) { o.Config.JWTSecret = secret })
			c := h.newClient(authBasic)
			_, tok := h.fullFlow(c)
			h.parseTokens(h.refresh(c, tok.Refresh, nil))
			dump, err := h.Store.Dump()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range h.gh.IssuedTokens() {
				if strings.Contains(string(dump), s) || strings.Contains(h.logs(), s) {
					t.Fatalf("GitHub token in the store dump or the log")
				}
			}
			if !strings.Contains(string(dump), `"github":`) {
				t.Fatal("no sealed GitHub token in the store")
			}
			if _, s := h.sessionCheck(tok.Access, true); s == nil || s.GitHubToken != h.gh.IssuedTokens()[0] {
				t.Fatal("the gate cannot open the stored token")
			}
		})
	}
}

// TestGitHubAppTokenRenewed: a GitHub App user token due for renewal is
// refreshed once, stored, and the new one handed on; bad_refresh_token
// ends the grant.
func TestGitHubAppTokenRenewed(t *testing.T) {
	t.Parallel()
	h := orgHarness(t, func(o *harnessOptions) { o.GitHub.App = true })
	h.members()
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	w, s := h.sessionCheck(tok.Access, true)
	if s == nil {
		t.Fatalf("gate: %d %s", w.Code, w.Body)
	}
	first := s.GitHubToken
	h.clock.Advance(8 * time.Hour)
	h.gh.ExpireTokens("alice")
	tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	_, s = h.sessionCheck(tok.Access, true)
	if s == nil || s.GitHubToken == first || !h.gh.ValidToken(s.GitHubToken) || h.gh.Refreshes() != 1 {
		t.Fatalf("renewal: session %+v, refreshes %d", s, h.gh.Refreshes())
	}
	h.clock.Advance(8 * time.Hour)
	h.gh.RevokeTokens("alice") // the refresh token too: bad_refresh_token
	if r := h.refresh(c, tok.Refresh, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("refresh after bad_refresh_token: %s", r)
	}
}

// TestRevokedGrantEndsGitHubToken: a client revoking its refresh token
// ends the grant, and the grant's GitHub token is deleted at GitHub too.
func TestRevokedGrantEndsGitHubToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	gh := h.gh.IssuedTokens()[0]
	if r := h.call(c, "/revoke", url.Values{"token": {tok.Refresh}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	if got := h.gh.RevokedViaAPI(); len(got) != 1 || got[0] != gh || h.gh.ValidToken(gh) {
		t.Fatalf("GitHub token after the grant's revocation: revoked %d, still valid %v", len(got), h.gh.ValidToken(gh))
	}
}

// TestReloadRemovingUserCutsOffAtGate_CD09: a config reload that drops a
// user from allowed_users refuses their live access token at the gate
// (the stored check no longer admits them), with no org lists at all.
func TestReloadRemovingUserCutsOffAtGate_CD09(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, tok := h.fullFlow(h.newClient(authBasic)) // alice
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != 200 {
		t.Fatalf("before the reload: %d", w.Code)
	}
	h.restart(func(c *oauthcore.Config) { c.GitHub.AllowedUsers = []string{"4242"} })
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != http.StatusUnauthorized {
		t.Fatalf("after alice was removed by a reload: %d, want 401", w.Code)
	}
}

// TestGrantWithoutGitHubTokenAtTokenGate: a grant kept before GitHub
// tokens were (no sealed token) passes a plain gate but gets 401
// invalid_token at a github_token gate, never an upstream call without
// credentials.
func TestGrantWithoutGitHubTokenAtTokenGate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := h.clock.Now()
	g := &oauthcore.Grant{ID: "legacy-grant", ClientID: "client_legacy", User: oauthcore.User{ID: "1001", Login: "alice"},
		Scope: "mcp", CreatedAt: now, LastUsed: now, ExpiresAt: now.Add(time.Hour), RefreshHash: oauthcore.HashSecret("rt"), Version: 1}
	if err := h.Store.CreateGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	at, err := h.Server.Tokens().Sign(&oauthcore.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: asIssuer, Subject: "1001",
		Audience: jwt.ClaimStrings{asIssuer}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
		ID: "legacy-jti"}, ClientID: g.ClientID, Scope: "mcp", Username: "alice", GrantID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := h.sessionCheck(at, false); w.Code != 200 {
		t.Fatalf("plain gate: %d", w.Code)
	}
	w, _ := h.sessionCheck(at, true)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("github_token gate: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// TestTokenKeyRotation_CD10: the GitHub-token encryption key rotates with
// the signing keys; every refresh seals the token again with the newest
// key, so a grant outlives the retirement and removal of the key it was
// first sealed with.
func TestTokenKeyRotation_CD10(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.KeyRotation = time.Hour
		o.Config.RefreshTokenLifetime = 3 * time.Hour
	})
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	before := h.keySet()
	for _, step := range []time.Duration{2 * time.Hour, 2 * time.Hour} {
		h.clock.Advance(step)
		if err := h.Server.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	}
	h.clock.Advance(90 * time.Minute)
	if err := h.Server.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := h.keySet()
	if len(before.TokenKeys) != 1 || after.TokenKeys[0].ID == before.TokenKeys[0].ID {
		t.Fatalf("token keys before %d, first after %s: the first key was not dropped", len(before.TokenKeys), after.TokenKeys[0].ID)
	}
	if w, s := h.sessionCheck(tok.Access, true); w.Code != 200 || s.GitHubToken != h.gh.IssuedTokens()[0] {
		t.Fatalf("gate after the first key was dropped: %d", w.Code)
	}
}

func (h *harness) keySet() *oauthcore.KeySet {
	h.t.Helper()
	ks, err := h.Store.LoadKeys(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	return ks
}

// TestRevokedOAuthTokenEndsGrantAtTokenGate: without org lists the token is
// not needed for the policy, but a github_token gate checks it with GitHub
// once membership_ttl has passed: a token the user revoked at GitHub (they
// removed the app) ends the grant; a plain gate does not ask GitHub.
func TestRevokedOAuthTokenEndsGrantAtTokenGate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	h.gh.RevokeTokens("alice")
	if w, _ := h.sessionCheck(tok.Access, true); w.Code != 200 {
		t.Fatalf("within the TTL of the login: %d", w.Code)
	}
	h.clock.Advance(6 * time.Minute)
	calls := h.gh.Count("/user")
	if w, _ := h.sessionCheck(tok.Access, false); w.Code != 200 || h.gh.Count("/user") != calls {
		t.Fatalf("plain gate after the TTL: %d, GitHub asked %d times", w.Code, h.gh.Count("/user")-calls)
	}
	if w, _ := h.sessionCheck(tok.Access, true); w.Code != http.StatusUnauthorized {
		t.Fatalf("github_token gate with a revoked GitHub token: %d, want 401", w.Code)
	}
	if r := h.refresh(c, tok.Refresh, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("refresh after the grant ended: %s", r)
	}
}

// TestCodeReplayEndsGitHubToken_AC04: a replayed code ends the grant it
// produced, and that grant's GitHub token is deleted at GitHub.
func TestCodeReplayEndsGitHubToken_AC04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	f, _ := h.fullFlow(c)
	if r := h.redeem(c, f, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("replay: %s", r)
	}
	if got := h.gh.RevokedViaAPI(); len(got) != 1 || got[0] != h.gh.IssuedTokens()[0] {
		t.Fatalf("GitHub tokens revoked at GitHub after the replay: %d", len(got))
	}
}

// TestAdminEndsGitHubTokens: a grant revoked through the admin API, and
// the grants of a client the admin API deletes, lose their GitHub tokens
// at GitHub too.
func TestAdminEndsGitHubTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.Server.Admin()
	c := h.newClient(authBasic)
	h.fullFlow(c)
	first := h.gh.IssuedTokens()[0]
	n, err := admin.Revoke(t.Context(), oauthcore.Filter{Client: c.ID}, "client")
	if err != nil || n != 1 {
		t.Fatalf("Revoke by client: %d, %v", n, err)
	}
	if h.gh.ValidToken(first) {
		t.Fatal("the GitHub token of a grant revoked by the admin API is still valid")
	}

	d := h.newClient(authBasic)
	h.fullFlow(d)
	issued := h.gh.IssuedTokens()
	second := issued[len(issued)-1]
	if err := admin.DeleteClient(t.Context(), d.ID); err != nil {
		t.Fatal(err)
	}
	if h.gh.ValidToken(second) {
		t.Fatal("the GitHub token of a deleted client's grant is still valid")
	}
}
