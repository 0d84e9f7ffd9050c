package oauthcore_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestRefreshRotation_RT02_RT10: every refresh hands out a new refresh
// token and a new access token with the grant's scope; the response is not
// cacheable; refresh tokens are opaque and never pass as access tokens.
func TestRefreshRotation_RT02_RT10(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	seen := map[string]bool{tok.Refresh: true, tok.Access: true}
	prev := tok
	for i := range 3 {
		r := h.refresh(c, prev.Refresh, nil)
		next := h.parseTokens(r)
		if seen[next.Refresh] || seen[next.Access] || next.Scope != "mcp" || next.Type != "Bearer" {
			t.Fatalf("RT-02 refresh %d: rotated RT %t, new AT %t, scope %q", i, !seen[next.Refresh], !seen[next.Access], next.Scope)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("MD-05: refresh response Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		if !h.valid(next.Access) || !h.valid(prev.Access) {
			t.Errorf("refresh %d: the new access token, or the previous one (which rotation leaves alone), is refused", i)
		}
		seen[next.Refresh], seen[next.Access] = true, true
		prev = next
	}
	if h.valid(prev.Refresh) {
		t.Error("RT-10: a refresh token passes as an access token")
	}
}

// TestRefreshGrace_RT04: within the grace window the previous refresh
// token yields the same successor again (a lost response, a parallel
// refresh) without revoking anything; concurrent refreshes coalesce to one
// successor. Once the successor has been used, the previous token is two
// generations old, and presenting it revokes the family.
func TestRefreshGrace_RT04(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.RefreshGrace = 30 * time.Second })
	c := h.newClient(authBasic)
	_, t1 := h.fullFlow(c)
	t2 := h.parseTokens(h.refresh(c, t1.Refresh, nil))
	h.clock.Advance(25 * time.Second)
	again := h.parseTokens(h.refresh(c, t1.Refresh, nil))
	if again.Refresh != t2.Refresh || again.Access == t2.Access {
		t.Errorf("RT-04: RT1 within the grace window: successor %t the same, access token new %t",
			again.Refresh == t2.Refresh, again.Access != t2.Access)
	}
	t3 := h.parseTokens(h.refresh(c, t2.Refresh, nil))
	wantOAuthError(t, "RT-03 RT1 after its successor was used", h.refresh(c, t1.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, "RT-03 RT3 after the family was revoked", h.refresh(c, t3.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if h.valid(t3.Access) || h.valid(t1.Access) {
		t.Error("RT-03: an access token of the revoked family is still accepted")
	}
}

// TestRefreshConcurrent_RT04: 20 parallel refreshes with one token all
// succeed with one and the same successor, which then works.
func TestRefreshConcurrent_RT04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	const n = 20
	results := make([]*reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		req := h.clientRequest(c, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}})
		wg.Go(func() {
			<-start
			results[i] = h.serve(req)
		})
	}
	close(start)
	wg.Wait()
	successors := map[string]int{}
	for i, r := range results {
		if r.Status != http.StatusOK {
			t.Errorf("RT-04 refresh %d: %s", i, r)
			continue
		}
		successors[h.parseTokens(r).Refresh]++
	}
	if len(successors) != 1 {
		t.Fatalf("RT-04: %d distinct successors, want 1", len(successors))
	}
	for rt := range successors {
		if rt == tok.Refresh {
			t.Fatal("the successor is the presented token")
		}
		h.parseTokens(h.refresh(c, rt, nil))
	}
}

// TestRefreshReuseAfterGrace_RT03: the previous refresh token presented
// after the grace window means the family leaked: every refresh token and
// access token of the grant is revoked, and no other grant is touched.
func TestRefreshReuseAfterGrace_RT03(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.RefreshGrace = 10 * time.Second })
	c := h.newClient(authBasic)
	_, t1 := h.fullFlow(c)
	_, other := h.fullFlow(c)
	t2 := h.parseTokens(h.refresh(c, t1.Refresh, nil))
	h.clock.Advance(11 * time.Second)
	wantOAuthError(t, "RT-03 RT1 after the grace window", h.refresh(c, t1.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, "RT-03 RT2 after RT1's reuse", h.refresh(c, t2.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if h.valid(t1.Access) || h.valid(t2.Access) {
		t.Error("RT-03: an access token of the revoked family is still accepted")
	}
	if !h.valid(other.Access) {
		t.Error("RT-03: the reuse revoked another grant's access token")
	}
	h.parseTokens(h.refresh(c, other.Refresh, nil))
}

// TestRefreshBinding_RT05: a refresh token works only for its client;
// presented by another (authenticated) client it is invalid_grant and the
// owner's token is left as it was.
func TestRefreshBinding_RT05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	owner := h.newClient(authPublic)
	_, tok := h.fullFlow(owner)
	for _, thief := range []*testClient{h.newClient(authBasic), h.newClient(authPublic)} {
		wantOAuthError(t, "RT-05 "+thief.Method+" client", h.refresh(thief, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	}
	wantOAuthError(t, "an unknown refresh token", h.refresh(owner, tok.Refresh+"x", nil), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, "no refresh token", h.refresh(owner, "", nil), http.StatusBadRequest, "invalid_request")
	if !h.valid(tok.Access) {
		t.Error("a refused refresh revoked the owner's access token")
	}
	h.parseTokens(h.refresh(owner, tok.Refresh, nil))
}

// TestRefreshNarrowing_RT06: a refresh may narrow the scope, never widen
// it, and must name the grant's resource if any; refused refreshes change
// nothing (the same token then refreshes), and a narrowed refresh does not
// narrow the grant (RFC 6749 §6: the new refresh token keeps the scope).
func TestRefreshNarrowing_RT06(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.Scopes = []string{"mcp", "read", "write"}
		o.Config.DefaultScope = "mcp"
	})
	c := h.newClient(authBasic)
	const res = "https://mcp.test/mcp"
	f := h.newBrowser().mustLogin(c, func(a *authRequest) {
		a.Query.Set("scope", "read write")
		a.Query.Set("resource", res)
	})
	rt := h.exchange(c, f).Refresh
	cases := []struct {
		name  string
		extra url.Values
		scope string // "" means refused with code
		code  string
	}{
		{"RT-06 an extra scope", url.Values{"scope": {"read mcp"}}, "", "invalid_scope"},
		{"RT-06 an unknown scope", url.Values{"scope": {"admin"}}, "", "invalid_scope"},
		{"RT-06 another resource", url.Values{"resource": {"https://other.test/mcp"}}, "", "invalid_target"},
		{"RT-06 a sub-resource", url.Values{"resource": {res + "/x"}}, "", "invalid_target"},
		{"RT-06 a second resource", url.Values{"resource": {res, "https://other.test/mcp"}}, "", "invalid_target"},
		{"narrowed", url.Values{"scope": {"read"}}, "read", ""},
		{"the grant's scope again", nil, "read write", ""},
		{"order kept, duplicates dropped", url.Values{"scope": {"write read write"}}, "write read", ""},
		{"offline_access ignored", url.Values{"scope": {"offline_access"}}, "read write", ""},
		{"offline_access besides a scope", url.Values{"scope": {"write offline_access"}}, "write", ""},
		{"the resource named", url.Values{"resource": {res}}, "read write", ""},
		{"the resource in another spelling", url.Values{"resource": {"HTTPS://mcp.test:443/mcp/"}}, "read write", ""},
	}
	for _, tc := range cases {
		r := h.refresh(c, rt, tc.extra)
		if tc.scope == "" {
			wantOAuthError(t, tc.name, r, http.StatusBadRequest, tc.code)
			continue
		}
		tok := h.parseTokens(r)
		claims, err := h.verify(tok.Access)
		if tok.Scope != tc.scope || err != nil || claims.Scope != tc.scope || claims.Aud() != res {
			t.Errorf("%s: scope %q (aud %q, %v), want %q", tc.name, tok.Scope, claimsAud(claims), err, tc.scope)
		}
		rt = tok.Refresh
	}
}

// TestRefreshExpiry_RT07: a refresh family lives the refresh lifetime from
// its last use (every refresh extends it) and is dead after that.
func TestRefreshExpiry_RT07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.RefreshTokenLifetime = time.Hour })
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	_, idle := h.fullFlow(c)
	rt := tok.Refresh
	for range 3 {
		h.clock.Advance(50 * time.Minute)
		rt = h.parseTokens(h.refresh(c, rt, nil)).Refresh
	}
	wantOAuthError(t, "RT-07 a family unused for its lifetime", h.refresh(c, idle.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	h.clock.Advance(time.Hour + time.Second)
	wantOAuthError(t, "RT-07 after the lifetime since the last refresh", h.refresh(c, rt, nil), http.StatusBadRequest, "invalid_grant")
}

// TestRefreshRechecksAllowList_RT08_CD09: the allow-list is applied again
// on every refresh: a user removed from it (a config reload) loses the
// grant for good, access tokens included; users still listed keep theirs.
func TestRefreshRechecksAllowList_RT08_CD09(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // alice and 4242 (bob)
	c := h.newClient(authBasic)
	_, alice := h.fullFlow(c)
	h.gh.NextLogin("bob")
	_, bob := h.fullFlow(c)

	h.restart(func(cfg *oauthcore.Config) { cfg.GitHub.AllowedUsers = []string{"4242"} })
	wantOAuthError(t, "RT-08 alice, no longer listed", h.refresh(c, alice.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	bob = h.parseTokens(h.refresh(c, bob.Refresh, nil))

	h.restart(func(cfg *oauthcore.Config) { cfg.GitHub.AllowedUsers = []string{"alice", "4242"} })
	wantOAuthError(t, "RT-08 alice listed again: the grant stays revoked", h.refresh(c, alice.Refresh, nil),
		http.StatusBadRequest, "invalid_grant")
	if h.valid(alice.Access) {
		t.Error("RT-08: the removed user's access token is still accepted")
	}
	if !h.valid(bob.Access) {
		t.Error("bob's access token was revoked")
	}
}

// TestRefreshClientDeleted_RT08: a deleted client cannot refresh
// (invalid_client: it no longer exists), and its tokens are revoked.
func TestRefreshClientDeleted_RT08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, method := range []string{authBasic, authPublic} {
		c := h.newClient(method)
		_, tok := h.fullFlow(c)
		h.deleteClient(c)
		wantOAuthError(t, "RT-08 "+method+" client deleted", h.refresh(c, tok.Refresh, nil), http.StatusUnauthorized, "invalid_client")
		if h.valid(tok.Access) {
			t.Errorf("%s: the deleted client's access token is still accepted", method)
		}
	}
}

// TestRefreshKeepsPublicClientAlive_DR06: a registration past its client
// lifetime lives on while a refresh token of it is valid, and dies with
// its last grant; one without a grant is gone.
func TestRefreshKeepsPublicClientAlive_DR06(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.ClientLifetime = time.Hour })
	c := h.newClient(authPublic)
	unused := h.newClient(authPublic)
	_, tok := h.fullFlow(c)
	h.clock.Advance(2 * time.Hour)
	tok = h.parseTokens(h.refresh(c, tok.Refresh, nil))
	wantLocalPage(t, "DR-06 an unused client after its lifetime", h.newBrowser().get(newAuthRequest(unused).path()),
		http.StatusBadRequest, "invalid_client")
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
}

// TestRefreshKeepsConfidentialClientAlive_DR06: DR-06 and store.go ("a
// registration never expires under a valid refresh token") hold for
// confidential clients too: a client that keeps refreshing is not
// stranded with invalid_client when its registration's lifetime ends.
func TestRefreshKeepsConfidentialClientAlive_DR06(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.ClientLifetime = time.Hour })
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	rt := tok.Refresh
	for i := 1; i <= 3; i++ {
		h.clock.Advance(45 * time.Minute)
		r := h.refresh(c, rt, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("DR-06: a confidential client refreshing every 45 minutes, %s after registering (client lifetime 1h): %s",
				time.Duration(i)*45*time.Minute, r)
		}
		rt = h.parseTokens(r).Refresh
	}
}

// TestRefreshAfterClientUpdate: an RFC 7592 update voids remembered
// consent and outstanding codes, not the grants the client already holds.
func TestRefreshAfterClientUpdate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	h.updateClient(c, "https://app.test/new")
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
}

// TestRefreshAllowListOutage_RT09: re-checking the allow-list on refresh
// needs GitHub to resolve a listed login to its id (after a restart the
// pins are gone). When GitHub cannot answer, that is an upstream outage:
// 503 temporarily_unavailable, the grant kept, and the same refresh token
// working once GitHub is back; never invalid_grant with the grant revoked
// (clients drop their credentials on invalid_grant, RT-09).
func TestRefreshAllowListOutage_RT09(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	var target *url.URL
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() && strings.HasPrefix(r.URL.Path, "/users/") {
			http.Error(w, `{"message":"API rate limit exceeded"}`, http.StatusForbidden)
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.GitHub.APIURL = api.URL
		o.Config.GitHub.AllowedUsers = []string{"alice"}
	})
	target, _ = url.Parse(h.gh.URL)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c) // resolves and pins alice's id

	h.restart(nil) // a config reload: the pins are gone
	down.Store(true)
	r := h.refresh(c, tok.Refresh, nil)
	down.Store(false)
	if r.Status != http.StatusServiceUnavailable || r.oauthError() != "temporarily_unavailable" {
		t.Errorf("RT-09: refresh while GitHub cannot resolve the allow-listed login: %s, want 503 temporarily_unavailable", r)
	}
	if !h.valid(tok.Access) {
		t.Error("RT-09: a GitHub outage revoked the grant: its access token is refused")
	}
	h.parseTokens(h.refresh(c, tok.Refresh, nil))
}
