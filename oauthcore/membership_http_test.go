package oauthcore_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestRenamedUserKeepsTeam: team membership is asked by login, so it is
// asked with the login the user has now, not the one the grant recorded.
func TestRenamedUserKeepsTeam(t *testing.T) {
	t.Parallel()
	h, c, tok := bobsGrant(t)
	h.gh.RenameUser("bob", "robert")
	if r := h.refresh(c, tok.Refresh, nil); r.Status != http.StatusOK {
		t.Fatalf("refresh after the user renamed their login: %s", r)
	}
}
