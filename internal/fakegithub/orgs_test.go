package fakegithub

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// loginToken runs the web flow for login with scope and returns the
// token response.
func loginToken(t *testing.T, s *Server, login, scope string) url.Values {
	t.Helper()
	s.NextLogin(login)
	q := authQuery("st")
	q.Set("scope", scope)
	code := authorize(t, s, q).Get("code")
	_, _, body := postToken(t, s, url.Values{"code": {code}, "client_id": {"gh-client"}, "client_secret": {"gh-secret"}}, false, "")
	v, err := url.ParseQuery(body)
	if err != nil || v.Get("access_token") == "" {
		t.Fatalf("token response %q", body)
	}
	return v
}

func apiCall(t *testing.T, s *Server, token, path string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func acme(s *Server) {
	s.AddOrg(Org{ID: 100, Login: "acme"})
	s.AddOrg(Org{ID: 200, Login: "corp", SSO: true})
	s.AddTeam(Team{ID: 11, Org: "acme", Slug: "platform"})
	s.AddTeam(Team{ID: 12, Org: "acme", Slug: "platform-db", Parent: "platform"})
	s.SetOrgMember("acme", "alice", "active", false)
	s.SetOrgMember("corp", "alice", "active", true)
	s.SetOrgMember("acme", "bob", "pending", false)
	s.SetTeamMember("acme", "platform-db", "alice", "active")
}

func TestUserOrgsPrivateNeedsReadOrgAndSSOIsPartial(t *testing.T) {
	s := Start(t, Options{})
	acme(s)
	plain := loginToken(t, s, "alice", "read:user").Get("access_token")
	resp, body := apiCall(t, s, plain, "/user/orgs")
	if resp.StatusCode != 200 || strings.Contains(body, `"acme"`) {
		t.Fatalf("without read:org the private membership must be hidden: %d %s", resp.StatusCode, body)
	}
	if sso := resp.Header.Get("X-GitHub-SSO"); sso != "partial-results; organizations=200" {
		t.Fatalf("X-GitHub-SSO = %q", sso)
	}
	tok := loginToken(t, s, "alice", "read:user read:org").Get("access_token")
	_, body = apiCall(t, s, tok, "/user/orgs")
	var orgs []struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	if err := json.Unmarshal([]byte(body), &orgs); err != nil || len(orgs) != 1 || orgs[0].ID != 100 {
		t.Fatalf("orgs %s", body)
	}
	resp, _ = apiCall(t, s, tok, "/user/memberships/orgs/corp")
	if resp.StatusCode != 403 || !strings.HasPrefix(resp.Header.Get("X-GitHub-SSO"), "required; url=") {
		t.Fatalf("SSO org membership: %d %q", resp.StatusCode, resp.Header.Get("X-GitHub-SSO"))
	}
	s.AuthorizeSSO("corp", "alice")
	resp, body = apiCall(t, s, tok, "/user/memberships/orgs/corp")
	if resp.StatusCode != 200 || !strings.Contains(body, `"state":"active"`) {
		t.Fatalf("after SSO authorization: %d %s", resp.StatusCode, body)
	}
}

func TestTeamMembershipCountsChildTeamsAndPendingOrgs(t *testing.T) {
	s := Start(t, Options{})
	acme(s)
	tok := loginToken(t, s, "alice", "read:org").Get("access_token")
	resp, body := apiCall(t, s, tok, "/orgs/acme/teams/platform/memberships/alice")
	if resp.StatusCode != 200 || !strings.Contains(body, `"state":"active"`) {
		t.Fatalf("child-team member: %d %s", resp.StatusCode, body)
	}
	if resp, _ := apiCall(t, s, tok, "/orgs/acme/teams/platform/memberships/bob"); resp.StatusCode != 404 {
		t.Fatalf("non-member: %d", resp.StatusCode)
	}
	if resp, _ := apiCall(t, s, tok, "/orgs/acme/members/alice"); resp.StatusCode != 204 {
		t.Fatalf("org member check: %d", resp.StatusCode)
	}
	bob := loginToken(t, s, "bob", "read:org").Get("access_token")
	_, body = apiCall(t, s, bob, "/user/memberships/orgs/acme")
	if !strings.Contains(body, `"state":"pending"`) {
		t.Fatalf("pending invitation: %s", body)
	}
	if resp, _ := apiCall(t, s, bob, "/orgs/acme/members/alice"); resp.StatusCode != 302 {
		t.Fatalf("a requester outside the org gets 302, got %d", resp.StatusCode)
	}
	resp, body = apiCall(t, s, "", "/orgs/acme")
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":100`) {
		t.Fatalf("GET /orgs/acme: %d %s", resp.StatusCode, body)
	}
	s.RenameOrg(100, "acme-new")
	if resp, _ := apiCall(t, s, "", "/orgs/acme"); resp.StatusCode != 404 {
		t.Fatalf("old name after rename: %d", resp.StatusCode)
	}
}

func TestUserOrgsPaginatesWithLinkHeaders(t *testing.T) {
	s := Start(t, Options{})
	for i := int64(1); i <= 5; i++ {
		login := "org" + strconv.FormatInt(i, 10)
		s.AddOrg(Org{ID: i, Login: login})
		s.SetOrgMember(login, "alice", "active", true)
	}
	tok := loginToken(t, s, "alice", "read:org").Get("access_token")
	resp, body := apiCall(t, s, tok, "/user/orgs?per_page=2")
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=2&per_page=2>; rel="next"`) || !strings.Contains(link, `page=3&per_page=2>; rel="last"`) {
		t.Fatalf("Link %q", link)
	}
	if strings.Count(body, `"login"`) != 2 {
		t.Fatalf("page 1: %s", body)
	}
	resp, body = apiCall(t, s, tok, "/user/orgs?per_page=2&page=3")
	if strings.Contains(resp.Header.Get("Link"), `rel="next"`) || strings.Count(body, `"login"`) != 1 {
		t.Fatalf("last page: %q %s", resp.Header.Get("Link"), body)
	}
}

func TestOutagesLookLikeGitHubs(t *testing.T) {
	s := Start(t, Options{})
	tok := loginToken(t, s, "alice", "read:org").Get("access_token")
	for _, c := range []struct {
		o      Outage
		status int
		header string
	}{{Outage5xx, 502, ""}, {OutageRateLimit, 403, "X-RateLimit-Remaining"}, {OutageSecondary, 403, "Retry-After"}, {Outage429, 429, "Retry-After"}} {
		s.SetOutage(c.o)
		resp, _ := apiCall(t, s, tok, "/user")
		if resp.StatusCode != c.status || (c.header != "" && resp.Header.Get(c.header) == "") {
			t.Fatalf("%s: %d %v", c.o, resp.StatusCode, resp.Header)
		}
	}
	s.SetOutage(OutageNone)
	if resp, _ := apiCall(t, s, tok, "/user"); resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") == "" {
		t.Fatalf("after the outage: %d", resp.StatusCode)
	}
}

func TestAppTokensExpireAndRefreshOnce(t *testing.T) {
	s := Start(t, Options{App: true})
	v := loginToken(t, s, "alice", "")
	tok, rt := v.Get("access_token"), v.Get("refresh_token")
	if !strings.HasPrefix(tok, "ghu_") || !strings.HasPrefix(rt, "ghr_") || v.Get("expires_in") != "28800" {
		t.Fatalf("app token response %v", v)
	}
	s.ExpireTokens("alice")
	if resp, _ := apiCall(t, s, tok, "/user"); resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"gh-client"}, "client_secret": {"gh-secret"}}
	_, _, body := postToken(t, s, form, false, "application/json")
	if !strings.Contains(body, `"access_token":"ghu_`) {
		t.Fatalf("refresh: %s", body)
	}
	_, _, body = postToken(t, s, form, false, "application/json")
	if !strings.Contains(body, `"error":"bad_refresh_token"`) || s.Refreshes() != 1 || s.BadRefreshes() != 1 {
		t.Fatalf("second use of the refresh token: %s", body)
	}
}

func TestDeleteAppToken(t *testing.T) {
	s := Start(t, Options{})
	tok := loginToken(t, s, "alice", "").Get("access_token")
	del := func(user, pass string) int {
		req, _ := http.NewRequest(http.MethodDelete, s.URL+"/applications/gh-client/token", strings.NewReader(`{"access_token":"`+tok+`"}`))
		req.SetBasicAuth(user, pass)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := del("gh-client", "wrong"); st != 401 {
		t.Fatalf("bad credentials: %d", st)
	}
	if st := del("gh-client", "gh-secret"); st != 204 || s.ValidToken(tok) {
		t.Fatalf("delete: %d", st)
	}
	if st := del("gh-client", "gh-secret"); st != 404 {
		t.Fatalf("delete again: %d", st)
	}
}
