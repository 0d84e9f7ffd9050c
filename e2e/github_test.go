package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// The org and team world of these tests: acme (id 100) and beta (200),
// corp (300) enforcing SAML SSO; team beta/platform with the child team
// beta/platform-db. alice is in acme, bob in beta and platform-db,
// mallory only invited to acme, carol in corp (SSO not authorized yet).
func orgWorld() fakegithub.Options {
	return fakegithub.Options{
		Users: append(fakegithub.DefaultUsers(), fakegithub.User{ID: 7007, Login: "carol"}),
		Orgs:  []fakegithub.Org{{ID: 100, Login: "acme"}, {ID: 200, Login: "beta"}, {ID: 300, Login: "corp", SSO: true}},
		Teams: []fakegithub.Team{{ID: 21, Org: "beta", Slug: "platform"}, {ID: 22, Org: "beta", Slug: "platform-db", Parent: "platform"}},
	}
}

func populate(gh *fakegithub.Server) {
	gh.SetOrgMember("acme", "alice", "active", false)
	gh.SetOrgMember("beta", "bob", "active", false)
	gh.SetTeamMember("beta", "platform-db", "bob", "active")
	gh.SetOrgMember("acme", "mallory", "pending", false)
	gh.SetOrgMember("corp", "carol", "active", false)
}

// githubSite is the GitHub MCP server layout of the README: the gate
// hands the user's GitHub token to the upstream.
const githubSite = `route /github/* {
		mcp_oauth_verify {
			github_token
		}
		reverse_proxy {{UPSTREAM}}
	}`

// ghUpstream is an MCP server that, like github-mcp-server, calls GitHub
// with the token it is given: its github_user tool asks the fake GitHub's
// /user who the token belongs to. It records every request's headers.
type ghUpstream struct {
	*mcpUpstream
	gh atomic.Pointer[string] // the fake GitHub's URL, set once known
}

// ghUser is what github_user reports.
type ghUser struct {
	Login  string `json:"login"`
	Status int    `json:"status"`
	Orgs   string `json:"orgs"`
	Teams  string `json:"teams"`
}

func startGitHubUpstream(t *testing.T) *ghUpstream {
	t.Helper()
	u := &ghUpstream{}
	server := mcp.NewServer(&mcp.Implementation{Name: "github-upstream", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "github_user", Description: "Asks GitHub who the forwarded token belongs to."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, ghUser, error) {
			h := req.Extra.Header
			out := ghUser{Orgs: h.Get("X-User-Orgs"), Teams: h.Get("X-User-Teams")}
			r, _ := http.NewRequestWithContext(ctx, http.MethodGet, *u.gh.Load()+"/user", nil)
			r.Header.Set("Authorization", h.Get("Authorization"))
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				return nil, out, err
			}
			defer resp.Body.Close()
			out.Status = resp.StatusCode
			var who struct {
				Login string `json:"login"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&who)
			out.Login = who.Login
			return nil, out, nil
		})
	u.mcpUpstream = serveMCP(t, server)
	return u
}

// newGitHubEnv starts the fake GitHub (orgWorld), the upstream and Caddy
// with site as the MCP origin.
func newGitHubEnv(t *testing.T, cfg caddyConfig, site string) (*env, *ghUpstream) {
	t.Helper()
	up := startGitHubUpstream(t)
	if cfg.GitHub.Orgs == nil {
		app, life := cfg.GitHub.App, cfg.GitHub.AppTokenLifetime
		cfg.GitHub = orgWorld()
		cfg.GitHub.App, cfg.GitHub.AppTokenLifetime = app, life
	}
	cfg.MCPSite, cfg.MCPUpstream = site, up.addr()
	e := newEnv(t, cfg)
	up.gh.Store(&e.gh.URL)
	populate(e.gh)
	return e, up
}

// callGitHubUser runs an MCP session (initialize, initialized,
// tools/call github_user) with token plus extra headers; it returns the
// tools/call response and the tool's result.
func (e *env) callGitHubUser(t *testing.T, mcpURL, token string, hdr ...string) (*response, ghUser) {
	t.Helper()
	r := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token, mcpInitialize, hdr...))
	if r.Status != http.StatusOK {
		return r, ghUser{}
	}
	hdr = append(hdr, "Mcp-Session-Id", r.Header.Get("Mcp-Session-Id"), "Mcp-Protocol-Version", "2025-06-18")
	e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr...))
	call := e.do(e.api, mcpRequest(http.MethodPost, mcpURL, token,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"github_user","arguments":{}}}`, hdr...))
	if call.Status != http.StatusOK {
		return call, ghUser{}
	}
	var out ghUser
	raw, _ := json.Marshal(jsonRPCResult(t, call)["structuredContent"])
	_ = json.Unmarshal(raw, &out)
	return call, out
}

// loginAs runs a browser login as the fake GitHub's user login.
func (e *env) loginAs(c *regClient, login string, mod func(*authReq)) *flow {
	e.t.Helper()
	e.gh.NextLogin(login)
	return e.newBrowser().login(c, mod)
}

// TestGitHubOrgsAndTeams_CD09: against the real Caddy, org members and
// members of an allowed team (a child team's too) get in, an invitation
// and outsiders get access_denied, an SSO org the user has not authorized
// is a page linking GitHub's SSO authorization, and after the org is
// renamed its members stay in while a squatter's org under the old name
// lets nobody in.
func TestGitHubOrgsAndTeams_CD09(t *testing.T) {
	t.Parallel()
	e, _ := newGitHubEnv(t, caddyConfig{AllowedUsers: "1",
		GitHubExtra: []string{"allowed_orgs acme corp", "allowed_teams beta/platform"}}, githubSite)
	// Orgs are pinned at start-up: wait for it before renaming one.
	waitFor(t, 20*time.Second, "start-up resolution of acme", func() bool { return e.gh.Count("/orgs/acme") > 0 })
	for _, r := range e.gh.Requests() {
		if r.Path == "/orgs/acme" && (!r.ClientAuth || r.Token) {
			t.Fatalf("orgs are resolved with the app's credentials, not a user's token: %+v", r)
		}
	}
	c := e.newClient(basic)
	if f := e.loginAs(c, "alice", nil); f.Code == "" || !strings.Contains(f.GitHub.Query().Get("scope"), "read:org") {
		t.Fatalf("org member: %v, GitHub scope %q", f.Final, f.GitHub.Query().Get("scope"))
	}
	if f := e.loginAs(c, "bob", nil); f.Code == "" {
		t.Fatalf("child-team member: %v", f.Final)
	}
	if f := e.loginAs(c, "mallory", nil); f.Final.Query().Get("error") != "access_denied" {
		t.Fatalf("invited, not a member: %v", f.Final)
	}

	e.gh.NextLogin("carol")
	f := &flow{}
	b := e.newBrowser()
	_, err := b.leg(f).Authorize(newAuthReq(c).path())
	last := f.Pages[len(f.Pages)-1]
	if err == nil || last.Status != http.StatusForbidden || !strings.Contains(last.Body, e.gh.URL+"/orgs/corp/sso?") {
		t.Fatalf("SSO org: %v, last page %s", err, last)
	}
	e.gh.AuthorizeSSO("corp", "carol")
	if f := e.loginAs(c, "carol", nil); f.Code == "" {
		t.Fatalf("after SSO authorization: %v", f.Final)
	}

	e.gh.RenameOrg(100, "acme-corp")
	e.gh.AddOrg(fakegithub.Org{ID: 999, Login: "acme"})
	e.gh.SetOrgMember("acme", "mallory", "active", true)
	if f := e.loginAs(c, "alice", nil); f.Code == "" {
		t.Fatalf("member of the renamed org: %v", f.Final)
	}
	if f := e.loginAs(c, "mallory", nil); f.Final.Query().Get("error") != "access_denied" {
		t.Fatalf("member of the squatter's org under the old name: %v", f.Final)
	}
}

// TestGitHubTokenReachesUpstream_CD10_RS05_RS06: with github_token the
// upstream MCP server receives the user's GitHub token (and calls GitHub
// with it), never the client's token; X-User-Orgs and X-User-Teams carry
// the allow-listed memberships, and client-sent copies are dropped; the
// GitHub token is in no log line and in the store only encrypted. A grant
// whose token lacks a scope added later gets 401 invalid_token.
func TestGitHubTokenReachesUpstream_CD10_RS05_RS06(t *testing.T) {
	t.Parallel()
	// With Caddy's access log on: it records the request headers, which
	// then hold the GitHub token the gate set (redacted there).
	e, up := newGitHubEnv(t, caddyConfig{AllowedUsers: "1", Debug: true, Admin: true,
		GitHubExtra: []string{"allowed_orgs beta", "allowed_teams beta/platform"}},
		"log\n\t"+strings.Replace(githubSite, "reverse_proxy", "request_header X-Seen-Teams {http.auth.user.teams}\n\t\treverse_proxy", 1))
	c := e.newClient(basic)
	resource := e.mcpURL("/github/mcp")
	f := e.loginAs(c, "bob", func(a *authReq) { a.Query.Set("resource", resource) })
	tok := e.exchange(c, f)
	r, who := e.callGitHubUser(t, resource, tok.Access, "X-User-Orgs", "evil", "X_User_Teams", "evil/admins")
	if r.Status != http.StatusOK || who.Login != "bob" || who.Status != 200 || who.Orgs != "beta" || who.Teams != "beta/platform" {
		t.Fatalf("the upstream saw %+v (%d)", who, r.Status)
	}
	issued := e.gh.IssuedTokens()
	for _, h := range up.requests() {
		auth := h.Get("Authorization")
		if strings.Contains(auth, tok.Access) || !strings.HasPrefix(auth, "Bearer gho_") || !contains(issued, strings.TrimPrefix(auth, "Bearer ")) {
			t.Fatalf("RS-05: the upstream got Authorization %q", auth)
		}
		if len(h.Values("X-User-Teams")) != 1 || h.Get("X_user_teams") != "" || h.Get("X-Seen-Teams") != "beta/platform" {
			t.Fatalf("RS-06: identity headers %v", h)
		}
	}
	if !strings.Contains(e.caddy.log.String(), `"logger":"http.log.access`) {
		t.Fatal("no access log line to check")
	}
	for _, s := range issued {
		if strings.Contains(e.caddy.log.String(), s) {
			t.Fatal("LG-01: the GitHub token is in Caddy's log")
		}
		if file := fileContaining(t, e.caddy.home, s); file != "" {
			t.Fatalf("CD-10: the GitHub token is in the clear in %s", file)
		}
	}

	// Nor in RFC 7662 introspection or the /verify (ForwardAuth) answer.
	wantNoCredentials(t, "introspection", e.introspect(c, tok.Access), issued...)
	verify := e.do(e.api, e.verifyRequest(http.MethodGet, resource, tok.Access))
	wantStatus(t, "/verify", verify, http.StatusOK, "")
	wantNoCredentials(t, "/verify", verify, issued...)

	e.caddy.cfg.GitHubExtra = append(e.caddy.cfg.GitHubExtra, "scopes repo")
	e.caddy.reload()
	waitFor(t, 20*time.Second, "401 for a token without the repo scope after the reload", func() bool {
		r := e.mcpPost("/github/mcp", tok.Access)
		return r.Status == http.StatusUnauthorized && strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fileContaining returns a file under dir whose bytes contain s.
func fileContaining(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), s) {
			found = path
		}
		return nil
	})
	return found
}

// TestTeamRemovalCutsOffLiveToken_CD09_RT08_RT09: GitHub down during a
// refresh is 503 and the grant stays; removed from the team, the user's
// live access token is refused at the gate within membership_ttl (polled,
// not slept), and another grant of theirs ends at its next refresh.
func TestTeamRemovalCutsOffLiveToken_CD09_RT08_RT09(t *testing.T) {
	t.Parallel()
	e, _ := newGitHubEnv(t, caddyConfig{AllowedUsers: "1",
		GitHubExtra: []string{"allowed_teams beta/platform", "membership_ttl 1s"}}, githubSite)
	c := e.newClient(basic)
	resource := e.mcpURL("/github/mcp")
	withResource := func(a *authReq) { a.Query.Set("resource", resource) }
	first := e.exchange(c, e.loginAs(c, "bob", withResource))
	second := e.exchange(c, e.loginAs(c, "bob", withResource))
	wantStatus(t, "gate before", e.mcpPost("/github/mcp", first.Access), http.StatusOK, "")

	e.gh.SetOutage(fakegithub.Outage5xx)
	wantStatus(t, "RT-09 refresh while GitHub is down", e.refresh(c, second.Refresh, nil), http.StatusServiceUnavailable, "temporarily_unavailable")
	e.gh.SetOutage(fakegithub.OutageRateLimit)
	wantStatus(t, "refresh while rate limited", e.refresh(c, second.Refresh, nil), http.StatusServiceUnavailable, "temporarily_unavailable")
	e.gh.SetOutage(fakegithub.OutageNone)
	second = e.parseTokens(e.refresh(c, second.Refresh, nil)) // the grant stayed

	e.gh.SetTeamMember("beta", "platform-db", "bob", "")
	removed := time.Now()
	waitFor(t, 15*time.Second, "the gate refusing the removed user's live token", func() bool {
		return e.mcpPost("/github/mcp", first.Access).Status == http.StatusUnauthorized
	})
	t.Logf("refused %v after the removal (membership_ttl 1s)", time.Since(removed).Round(10*time.Millisecond))
	wantStatus(t, "RT-08 refresh of another grant after the removal", e.refresh(c, second.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if got := e.gh.RevokedViaAPI(); len(got) < 2 {
		t.Errorf("the ended grants' GitHub tokens were not revoked at GitHub: %d", len(got))
	}
}

// TestGitHubAppTokenRenewedOnceOnRedis: two instances on one Redis serve
// a grant whose GitHub App token comes due while both gates are in use:
// it is renewed (GitHub accepts each refresh token once, so a second use
// would be bad_refresh_token and end the grant), the gates keep serving,
// and the upstream gets the live token. Redis holds the token only
// sealed.
func TestGitHubAppTokenRenewedOnceOnRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	cfg := caddyConfig{AllowedUsers: "1", Extra: []string{redisStorage(redis)},
		GitHubExtra: []string{"allowed_teams beta/platform", "membership_ttl 1s"},
		// Due for renewal (15 min before expiry) 3 s after it is issued.
		GitHub: fakegithub.Options{App: true, AppTokenLifetime: 15*time.Minute + 3*time.Second}}
	a, up := newGitHubEnv(t, cfg, githubSite)
	cfgB := cfg
	cfgB.SharedIssuer, cfgB.MCPUpstream = a.issuer, up.addr()
	cfgB.MCPSite = fmt.Sprintf(`route /github/* {
		mcp_oauth_verify {
			resource %s
			github_token
		}
		reverse_proxy {{UPSTREAM}}
	}`, a.mcpURL("/github"))
	b := a.peer(cfgB)
	c := a.newClient(basic)
	resource := a.mcpURL("/github/mcp")
	tok := a.exchange(c, a.loginAs(c, "bob", func(q *authReq) { q.Query.Set("resource", resource) }))
	waitFor(t, 30*time.Second, "two renewals of the GitHub App token", func() bool {
		var wg sync.WaitGroup
		for _, e := range []*env{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := e.mcpPost("/github/mcp", tok.Access); r.Status != http.StatusOK {
					t.Errorf("gate on %s: %d %s", e.issuer, r.Status, tail(r.Body, 200))
				}
			}()
		}
		wg.Wait()
		return t.Failed() || a.gh.Refreshes() >= 2
	})
	if n := a.gh.BadRefreshes(); n != 0 {
		t.Fatalf("a refresh token was used twice (%d bad_refresh_token)", n)
	}
	r, who := a.callGitHubUser(t, resource, tok.Access)
	if r.Status != http.StatusOK || who.Login != "bob" || who.Status != 200 {
		t.Fatalf("after renewal the upstream's GitHub call: %+v (%d)", who, r.Status)
	}
	reqs := up.requests()
	if last := strings.TrimPrefix(reqs[len(reqs)-1].Get("Authorization"), "Bearer "); !a.gh.ValidToken(last) || !strings.HasPrefix(last, "ghu_") {
		t.Fatalf("the upstream got a dead or non-App token")
	}
	wantStatus(t, "refresh after the renewals", b.refresh(c, tok.Refresh, nil), http.StatusOK, "")
	dump := redisDump(t, redis.Addr)
	for _, s := range a.gh.IssuedTokens() {
		if strings.Contains(dump, s) {
			t.Fatal("CD-10: a GitHub token is in Redis in the clear")
		}
	}
	if !strings.Contains(dump, `"github":`) {
		t.Fatal("no sealed GitHub token in Redis")
	}
}

// redisDump is every key and value in the Redis at addr, as text.
func redisDump(t *testing.T, addr string) string {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rdb.Close()
	ctx := t.Context()
	var out strings.Builder
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		out.WriteString(key + "\n")
		switch typ, _ := rdb.Type(ctx, key).Result(); typ {
		case "string":
			out.WriteString(rdb.Get(ctx, key).Val())
		case "hash":
			for k, v := range rdb.HGetAll(ctx, key).Val() {
				out.WriteString(k + "=" + v + "\n")
			}
		case "zset":
			out.WriteString(strings.Join(rdb.ZRange(ctx, key, 0, -1).Val(), "\n"))
		case "set":
			out.WriteString(strings.Join(rdb.SMembers(ctx, key).Val(), "\n"))
		}
		out.WriteString("\n")
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestGitHubTokenPlaceholder: at a github_token gate the placeholder
// {http.auth.user.github_token} holds the user's GitHub token for other
// header layouts; a gate that did not opt in exposes none.
// {http.auth.user.orgs} holds the allow-listed orgs.
func TestGitHubTokenPlaceholder(t *testing.T) {
	t.Parallel()
	site := `route /github/* {
		mcp_oauth_verify {
			github_token
		}
		request_header X-GitHub-Token {http.auth.user.github_token}
		request_header X-Seen-Orgs {http.auth.user.orgs}
		reverse_proxy {{UPSTREAM}}
	}
	route /plain/* {
		mcp_oauth_verify
		request_header X-GitHub-Token {http.auth.user.github_token}
		reverse_proxy {{UPSTREAM}}
	}`
	e, up := newGitHubEnv(t, caddyConfig{AllowedUsers: "1", GitHubExtra: []string{"allowed_orgs acme"}}, site)
	c := e.newClient(basic)
	for _, path := range []string{"/github", "/plain"} {
		resource := e.mcpURL(path + "/mcp")
		tok := e.exchange(c, e.loginAs(c, "alice", func(a *authReq) { a.Query.Set("resource", resource) }))
		wantStatus(t, "gate "+path, e.mcpPost(path+"/mcp", tok.Access), http.StatusOK, "")
	}
	reqs := up.requests()
	h, plain := reqs[0], reqs[len(reqs)-1]
	if got := h.Get("X-GitHub-Token"); !contains(e.gh.IssuedTokens(), got) || h.Get("Authorization") != "Bearer "+got || h.Get("X-Seen-Orgs") != "acme" {
		t.Fatalf("github_token gate: placeholder set %v, Authorization matches %v, orgs %q", got != "", h.Get("Authorization") == "Bearer "+got, h.Get("X-Seen-Orgs"))
	}
	if plain.Get("X-GitHub-Token") != "" || plain.Get("Authorization") != "" {
		t.Fatal("a gate without github_token exposed the GitHub token")
	}
}
