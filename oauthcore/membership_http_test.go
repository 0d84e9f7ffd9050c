package oauthcore_test

import (
	"fmt"
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

// orgHarness is a server admitting org acme (id 100) and team
// acme/platform (whose child team platform-db counts), nobody by login.
// alice is an acme member; bob is in platform-db but not in acme's
// allow-listing otherwise (he is an org member, as team members are).
func orgHarness(t *testing.T, mutate ...func(*harnessOptions)) *harness {
	t.Helper()
	return newHarness(t, append([]func(*harnessOptions){func(o *harnessOptions) {
		o.Config.GitHub.AllowedUsers = []string{"1"}
		o.Config.GitHub.AllowedOrgs = []string{"acme"}
		o.Config.GitHub.AllowedTeams = []string{"beta/platform"}
		o.Config.GitHub.MembershipTTL = time.Minute
		o.GitHub.Orgs = []fakegithub.Org{{ID: 100, Login: "acme"}, {ID: 200, Login: "beta"}, {ID: 300, Login: "corp", SSO: true}}
		o.GitHub.Teams = []fakegithub.Team{{ID: 21, Org: "beta", Slug: "platform"}, {ID: 22, Org: "beta", Slug: "platform-db", Parent: "platform"}}
	}}, mutate...)...)
}

func (h *harness) members() {
	h.gh.SetOrgMember("acme", "alice", "active", false)
	h.gh.SetOrgMember("beta", "bob", "active", false)
	h.gh.SetTeamMember("beta", "platform-db", "bob", "active")
	h.gh.SetOrgMember("acme", "mallory", "pending", false) // an invitation is not membership
}

// bobsGrant is an org harness with a grant of bob's (a member through the
// child team of beta/platform).
func bobsGrant(t *testing.T) (*harness, *testClient, tokenSet) {
	t.Helper()
	h := orgHarness(t)
	h.members()
	c := h.newClient(authBasic)
	h.gh.NextLogin("bob")
	_, tok := h.fullFlow(c)
	return h, c, tok
}

// loginAs runs a login as login and returns the flow.
func (h *harness) loginAs(c *testClient, login string) *flowResult {
	h.t.Helper()
	h.gh.NextLogin(login)
	return h.newBrowser().login(c, nil)
}

// TestOrgAndTeamAdmission_CD09: org members and members of an allowed
// team (child teams count) get in; a pending invitation and outsiders get
// access_denied; read:org is asked of GitHub because lists are set.
func TestOrgAndTeamAdmission_CD09(t *testing.T) {
	t.Parallel()
	h := orgHarness(t)
	h.members()
	c := h.newClient(authBasic)
	f := h.loginAs(c, "alice")
	if f.Code == "" || !strings.Contains(f.GitHub.Query().Get("scope"), "read:org") {
		t.Fatalf("org member: code %q, GitHub scope %q", f.Code, f.GitHub.Query().Get("scope"))
	}
	if f := h.loginAs(c, "bob"); f.Code == "" {
		t.Fatalf("child-team member refused: %v", f.Final)
	}
	for _, who := range []string{"mallory", "alice2"} {
		h.gh.AddUser(fakegithub.User{ID: 7777, Login: "alice2"})
		if f := h.loginAs(c, who); f.Final.Query().Get("error") != "access_denied" {
			t.Errorf("%s: %v, want access_denied", who, f.Final)
		}
	}
}

// TestReadOrgOnlyWhenNeeded: without org or team lists GitHub is asked for
// read:user and user:email only, plus github { scopes }.
func TestReadOrgOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.GitHub.Scopes = []string{"repo"} })
	f := h.newBrowser().mustLogin(h.newClient(authBasic), nil)
	if got := f.GitHub.Query().Get("scope"); got != "read:user user:email repo" {
		t.Fatalf("GitHub scope %q", got)
	}
}

// TestRenamedOrgKeepsMembers_CD09: orgs are pinned by id at start-up; after
// a rename the members stay in, and a squatter's new org under the old
// name lets nobody in.
func TestRenamedOrgKeepsMembers_CD09(t *testing.T) {
	t.Parallel()
	h := orgHarness(t)
	h.members()
	if err := h.Server.ResolveAllowedUsers(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.gh.RenameOrg(100, "acme-corp")
	h.gh.AddOrg(fakegithub.Org{ID: 999, Login: "acme"})
	h.gh.SetOrgMember("acme", "mallory", "active", true)
	c := h.newClient(authBasic)
	if f := h.loginAs(c, "alice"); f.Code == "" {
		t.Fatalf("member of the renamed org refused: %v", f.Final)
	}
	if f := h.loginAs(c, "mallory"); f.Final.Query().Get("error") != "access_denied" {
		t.Fatalf("squatter's member: %v", f.Final)
	}
}

// TestSSOOrgShowsAuthorizationPage: an SSO-enforced org the user has not
// authorized is a page linking GitHub's SSO URL, not "not a member".
func TestSSOOrgShowsAuthorizationPage(t *testing.T) {
	t.Parallel()
	h := orgHarness(t, func(o *harnessOptions) { o.Config.GitHub.AllowedOrgs = []string{"corp"} })
	h.gh.SetOrgMember("corp", "alice", "active", false)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	a := newAuthRequest(c)
	r := b.get(a.path())
	r = b.submit(parseConsent(t, r), "approve", nil)
	r = b.callback(b.github(r.location()))
	if r.Status != http.StatusForbidden || r.location() != nil || !strings.Contains(r.Body, h.gh.URL+"/orgs/corp/sso?") ||
		!strings.Contains(r.Body, "single sign-on") {
		t.Fatalf("SSO page: %s", r)
	}
	h.gh.AuthorizeSSO("corp", "alice")
	if f := h.loginAs(c, "alice"); f.Code == "" {
		t.Fatalf("after SSO authorization: %v", f.Final)
	}
}

// TestGitHubOutageIsNeverNotAMember_RT09: 5xx, rate limits (403 and 429)
// and timeouts at login are temporarily_unavailable, never
// access_denied; on refresh they are 503 and the grant stays.
func TestGitHubOutageIsNeverNotAMember_RT09(t *testing.T) {
	t.Parallel()
	h := orgHarness(t, func(o *harnessOptions) { o.Config.GitHub.Timeout = 300 * time.Millisecond })
	h.members()
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c) // alice
	for _, o := range []fakegithub.Outage{fakegithub.Outage5xx, fakegithub.OutageRateLimit, fakegithub.OutageSecondary, fakegithub.Outage429, fakegithub.OutageHang} {
		h.gh.SetOutage(o)
		r := h.refresh(c, tok.Refresh, nil)
		if r.Status != http.StatusServiceUnavailable || r.oauthError() != "temporarily_unavailable" {
			t.Fatalf("%s: refresh %s, want 503", o, r)
		}
	}
	h.gh.SetOutage(fakegithub.OutageNone)
	tok = h.parseTokens(h.refresh(c, tok.Refresh, nil)) // the grant stayed
	if !h.valid(tok.Access) {
		t.Fatal("access token after the outage refused")
	}
}

// TestRemovalEndsGrantOnRefresh_RT08: removed from every allowed org and
// team, the user's next refresh is invalid_grant and the grant is gone.
func TestRemovalEndsGrantOnRefresh_RT08(t *testing.T) {
	t.Parallel()
	h, c, tok := bobsGrant(t)
	tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	h.gh.SetTeamMember("beta", "platform-db", "bob", "")
	if r := h.refresh(c, tok.Refresh, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("refresh after removal: %s", r)
	}
	if h.valid(tok.Access) {
		t.Fatal("the ended grant's access token still passes")
	}
	if got := h.gh.RevokedViaAPI(); len(got) != 1 {
		t.Fatalf("the ended grant's GitHub token was not revoked at GitHub: %v", got)
	}
}

// TestGitHubTokenRevokedEndsGrant: GitHub answering 401 to the stored
// token (the user removed the app) ends the grant on the next use.
func TestGitHubTokenRevokedEndsGrant(t *testing.T) {
	t.Parallel()
	h := orgHarness(t)
	h.members()
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	h.gh.RevokeTokens("alice")
	if r := h.refresh(c, tok.Refresh, nil); r.oauthError() != "invalid_grant" {
		t.Fatalf("refresh with a revoked GitHub token: %s", r)
	}
}

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

// TestOrgsPaginatedOnEnterpriseServer: under a GitHub Enterprise Server
// api_url (/api/v3) the org listing is followed across pages (Link
// headers), so an allowed org on the second page of 100 still counts.
func TestOrgsPaginatedOnEnterpriseServer(t *testing.T) {
	t.Parallel()
	h := orgHarness(t, func(o *harnessOptions) {
		o.Config.GitHub.AllowedOrgs = []string{"zz-last"}
		o.Config.GitHub.AllowedTeams = nil
		o.GitHub.Orgs = nil
	})
	h.restart(func(c *oauthcore.Config) { c.GitHub.APIURL = h.gh.URL + "/api/v3" })
	for i := range 130 {
		login := fmt.Sprintf("org%03d", i)
		h.gh.AddOrg(fakegithub.Org{ID: int64(1000 + i), Login: login})
		h.gh.SetOrgMember(login, "alice", "active", false)
	}
	h.gh.AddOrg(fakegithub.Org{ID: 5000, Login: "zz-last"})
	h.gh.SetOrgMember("zz-last", "alice", "active", false)
	if f := h.loginAs(h.newClient(authBasic), "alice"); f.Code == "" {
		t.Fatalf("member of an org on page 2: %v", f.Final)
	}
	if n := h.gh.Count("/api/v3/user/orgs"); n != 2 {
		t.Fatalf("GET /api/v3/user/orgs %d times, want 2 pages", n)
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

// TestOrgUnresolvedAtStartUp: GitHub down when the server starts leaves
// the orgs unpinned without failing anything; the first login after
// resolves them, and a login while GitHub is down is
// temporarily_unavailable, not access_denied.
func TestOrgUnresolvedAtStartUp(t *testing.T) {
	t.Parallel()
	h := orgHarness(t)
	h.members()
	h.gh.SetOutage(fakegithub.Outage5xx)
	if err := h.Server.ResolveAllowedUsers(t.Context()); err == nil {
		t.Fatal("resolution during an outage reported no error")
	}
	c := h.newClient(authBasic)
	if f := h.loginAs(c, "alice"); f.Final.Query().Get("error") != "temporarily_unavailable" {
		t.Fatalf("login while GitHub is down: %v", f.Final)
	}
	h.gh.SetOutage(fakegithub.OutageNone)
	if f := h.loginAs(c, "alice"); f.Code == "" {
		t.Fatalf("login after the outage: %v", f.Final)
	}
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
