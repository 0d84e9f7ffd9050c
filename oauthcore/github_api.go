package oauthcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GitHubToken is the user's token at GitHub, kept (encrypted) with the
// grant so the gate can hand it to upstreams and re-check memberships.
// App marks a GitHub App user token: it expires (Expiry) and comes with
// a refresh token; an OAuth App token has scopes and no expiry.
type GitHubToken struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scopes       string    `json:"scopes,omitempty"`
	App          bool      `json:"app,omitempty"`
}

// GitHubOrg is an organisation as GitHub names it now; ID is what a
// policy compares.
type GitHubOrg struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
}

// The GitHub answers that are not a plain "no".
var (
	// errGitHubTokenRevoked: GitHub answered 401 to the user's token (the
	// user removed the app, or the token expired): the grant is over.
	errGitHubTokenRevoked = errors.New("github: the user's token is no longer valid")
	errGitHubNotFound     = errors.New("github: not found")
)

// ssoError is an org that enforces SAML SSO and has not been authorized
// for this app by the user; URL is GitHub's authorization page for it.
type ssoError struct {
	org string
	URL string
}

func (e *ssoError) Error() string {
	return "github: organization " + e.org + " requires SAML SSO authorization"
}

// githubOutage is GitHub failing to answer: 5xx, a primary or secondary
// rate limit (403 or 429 with the rate-limit headers) or a timeout. It is
// never read as "not a member".
type githubOutage struct{ cause string }

func (e *githubOutage) Error() string { return "github unavailable: " + e.cause }

// classify turns a non-2xx answer into one of the errors above.
func classify(path string, resp *http.Response) error {
	h := resp.Header
	switch st := resp.StatusCode; {
	case st == http.StatusUnauthorized:
		return errGitHubTokenRevoked
	case st == http.StatusNotFound:
		return errGitHubNotFound
	case st >= 500, st == http.StatusTooManyRequests:
		return &githubOutage{cause: path + ": status " + strconv.Itoa(st)}
	case st == http.StatusForbidden && (h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""):
		return &githubOutage{cause: path + ": rate limited"}
	case st == http.StatusForbidden && strings.HasPrefix(h.Get("X-GitHub-SSO"), "required"):
		_, u, _ := strings.Cut(h.Get("X-GitHub-SSO"), "url=")
		return &ssoError{URL: strings.TrimSpace(u)}
	}
	return &githubStatusError{path: path, status: resp.StatusCode}
}

// call performs one REST call; auth sets the credentials (the user's
// token, or the app's client credentials). The answer's body is decoded
// into v when v is not nil; the response headers are returned.
func (g *GitHub) call(ctx context.Context, method, path string, auth func(*http.Request), body io.Reader, v any) (http.Header, error) {
	target := path
	if !strings.HasPrefix(path, g.apiURL+"/") {
		target = g.apiURL + path
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	auth(req)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, &githubOutage{cause: sanitizeOAuthErr(err).Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.Header, classify(shortPath(path), resp)
	}
	if v != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxUpstreamBytes)).Decode(v); err != nil {
			return resp.Header, &githubOutage{cause: shortPath(path) + ": " + err.Error()}
		}
	}
	return resp.Header, nil
}

// shortPath drops the query (and the API origin) for logs.
func shortPath(p string) string {
	if u, err := url.Parse(p); err == nil {
		return u.Path
	}
	return p
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// appAuth authenticates as the OAuth app, which GitHub allows for public
// reads at the app's own (higher) rate limit.
func (g *GitHub) appAuth(r *http.Request) { r.SetBasicAuth(g.oauth.ClientID, g.oauth.ClientSecret) }

// ResolveOrg returns the org a name designates now.
func (g *GitHub) ResolveOrg(ctx context.Context, name string) (GitHubOrg, error) {
	var o GitHubOrg
	if _, err := g.call(ctx, http.MethodGet, "/orgs/"+url.PathEscape(name), g.appAuth, nil, &o); err != nil {
		return o, err
	}
	if o.ID <= 0 {
		return o, &githubOutage{cause: "/orgs: response lacks id"}
	}
	return o, nil
}

// maxPages bounds a paginated listing (100 per page).
const maxPages = 10

// UserOrgs lists the orgs the user is an active member of, following
// the Link header's next pages; hidden are the ids of SSO-protected orgs
// GitHub left out (X-GitHub-SSO: partial-results), which are unknown, not
// "not a member".
func (g *GitHub) UserOrgs(ctx context.Context, token string) (orgs []GitHubOrg, hidden []int64, err error) {
	next := "/user/orgs?per_page=100"
	for page := 0; next != "" && page < maxPages; page++ {
		var batch []GitHubOrg
		h, err := g.call(ctx, http.MethodGet, next, bearer(token), nil, &batch)
		if err != nil {
			return nil, nil, err
		}
		orgs = append(orgs, batch...)
		hidden = append(hidden, ssoHidden(h.Get("X-GitHub-SSO"))...)
		next = nextLink(h.Get("Link"), g.apiURL)
	}
	return orgs, hidden, nil
}

// ssoHidden parses "partial-results; organizations=1,2".
func ssoHidden(v string) []int64 {
	_, ids, ok := strings.Cut(v, "organizations=")
	if !ok || !strings.HasPrefix(v, "partial-results") {
		return nil
	}
	var out []int64
	for _, s := range strings.Split(ids, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// nextLink returns the rel="next" URL of a Link header when it is on the
// API origin (a page is never fetched from anywhere else, CD-11).
func nextLink(h, api string) string {
	for _, part := range strings.Split(h, ",") {
		u, rel, ok := strings.Cut(part, ";")
		if !ok || !strings.Contains(rel, `rel="next"`) {
			continue
		}
		u = strings.Trim(strings.TrimSpace(u), "<>")
		if p, err := url.Parse(u); err == nil && p.Path != "" {
			if a, err := url.Parse(api); err == nil && p.Host == a.Host && strings.HasPrefix(p.Path, a.Path) {
				return api + strings.TrimPrefix(p.Path, a.Path) + "?" + p.RawQuery
			}
		}
	}
	return ""
}

// TeamID returns the ids of org/slug as a member's token sees it.
func (g *GitHub) TeamID(ctx context.Context, token, org, slug string) (orgID, teamID int64, err error) {
	var t struct {
		ID           int64     `json:"id"`
		Organization GitHubOrg `json:"organization"`
	}
	path := "/orgs/" + url.PathEscape(org) + "/teams/" + url.PathEscape(slug)
	if _, err := g.call(ctx, http.MethodGet, path, bearer(token), nil, &t); err != nil {
		return 0, 0, err
	}
	return t.Organization.ID, t.ID, nil
}

// TeamMember reports whether login is an active member of org/slug or of
// a team below it (GitHub's membership endpoint counts child teams).
func (g *GitHub) TeamMember(ctx context.Context, token, org, slug, login string) (bool, error) {
	var m struct {
		State string `json:"state"`
	}
	path := "/orgs/" + url.PathEscape(org) + "/teams/" + url.PathEscape(slug) + "/memberships/" + url.PathEscape(login)
	_, err := g.call(ctx, http.MethodGet, path, bearer(token), nil, &m)
	if errors.Is(err, errGitHubNotFound) {
		return false, nil
	}
	return err == nil && m.State == "active", err
}

// OrgMembership reads the user's own membership of org: nil for active,
// errGitHubNotFound for none or pending, an *ssoError for an SSO org the
// user has not authorized.
func (g *GitHub) OrgMembership(ctx context.Context, token, org string) error {
	var m struct {
		State string `json:"state"`
	}
	if _, err := g.call(ctx, http.MethodGet, "/user/memberships/orgs/"+url.PathEscape(org), bearer(token), nil, &m); err != nil {
		var se *ssoError
		if errors.As(err, &se) {
			se.org = org
		}
		return err
	}
	if m.State != "active" {
		return errGitHubNotFound // a pending invitation is not membership
	}
	return nil
}

// ValidateToken asks GitHub whether the user's token still works (GET
// /user): errGitHubTokenRevoked when GitHub answers 401.
func (g *GitHub) ValidateToken(ctx context.Context, token string) error {
	_, err := g.call(ctx, http.MethodGet, "/user", bearer(token), nil, nil)
	return err
}

// CurrentLogin returns the numeric id and the login of the token's user.
func (g *GitHub) CurrentLogin(ctx context.Context, token string) (string, string, error) {
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	if _, err := g.call(ctx, http.MethodGet, "/user", bearer(token), nil, &u); err != nil {
		return "", "", err
	}
	if u.ID <= 0 || u.Login == "" {
		return "", "", &githubOutage{cause: "/user: response lacks id or login"}
	}
	return strconv.FormatInt(u.ID, 10), u.Login, nil
}

// RevokeToken deletes the user's token at GitHub (best effort, when its
// grant ends).
func (g *GitHub) RevokeToken(ctx context.Context, token string) error {
	body, _ := json.Marshal(map[string]string{"access_token": token})
	_, err := g.call(ctx, http.MethodDelete, "/applications/"+url.PathEscape(g.oauth.ClientID)+"/token",
		g.appAuth, strings.NewReader(string(body)), nil)
	if errors.Is(err, errGitHubNotFound) {
		return nil // gone already
	}
	if err != nil {
		return fmt.Errorf("github token revocation: %w", err)
	}
	return nil
}
