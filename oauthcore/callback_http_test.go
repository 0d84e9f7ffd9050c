package oauthcore_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// atCallback runs a new browser through consent and GitHub for c and
// returns it with the /callback URL GitHub sent it to, not yet followed.
func atCallback(t testing.TB, h *harness, c *testClient) (*browser, *authRequest, *url.URL) {
	t.Helper()
	b := h.newBrowser()
	a := newAuthRequest(c)
	r := b.submit(b.openConsent(a), "approve", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %s", r)
	}
	return b, a, b.github(r.location())
}

// withQuery returns u with its query changed by mod.
func withQuery(u *url.URL, mod func(q url.Values)) *url.URL {
	v := *u
	q := v.Query()
	mod(q)
	v.RawQuery = q.Encode()
	return &v
}

// TestCallbackBoundToBrowser_CD05: GitHub's callback finished in another
// browser (no flow cookie) is refused without a code and without
// redeeming GitHub's code or burning the victim's flow; the state is
// single use.
func TestCallbackBoundToBrowser_CD05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	victim, a, callback := atCallback(t, h, c)
	attacker := h.newBrowser()
	attacker.mustLogin(c, nil) // with a browser cookie of its own
	exchanges := h.gh.Count("/login/oauth/access_token")

	for name, b := range map[string]*browser{"no cookies": h.newBrowser(), "another browser": attacker} {
		r := b.callback(callback)
		wantLocalPage(t, "CD-05 "+name, r, http.StatusBadRequest, "invalid_request")
	}
	if n := h.gh.Count("/login/oauth/access_token"); n != exchanges {
		t.Errorf("CD-05: GitHub's code was redeemed %d times by refused callbacks", n-exchanges)
	}
	r := victim.callback(callback)
	loc := r.location()
	if r.Status != http.StatusFound || loc == nil || !base64URL43(loc.Query().Get("code")) || loc.Query().Get("state") != a.Query.Get("state") {
		t.Fatalf("the victim's own callback after the attack: %s", r)
	}
	wantPageHeaders(t, "the code redirect", r)
	wantLocalPage(t, "CD-05 the state replayed in the same browser", victim.callback(callback), http.StatusBadRequest, "invalid_request")
}

// TestCallbackStateChecks: a callback whose state or browser binding is
// wrong is a local 400, and it burns nothing: the genuine callback of the
// same flow still works afterwards.
func TestCallbackStateChecks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	cases := []struct {
		name string
		mod  func(b *browser, cb *url.URL) *reply
	}{
		{"no state", func(b *browser, cb *url.URL) *reply {
			return b.callback(withQuery(cb, func(q url.Values) { q.Del("state") }))
		}},
		{"unknown state", func(b *browser, cb *url.URL) *reply {
			return b.callback(withQuery(cb, func(q url.Values) { q.Set("state", strings.Repeat("A", 43)) }))
		}},
		{"state too long", func(b *browser, cb *url.URL) *reply {
			return b.callback(withQuery(cb, func(q url.Values) { q.Set("state", q.Get("state")+strings.Repeat("A", 100)) }))
		}},
		{"state twice", func(b *browser, cb *url.URL) *reply {
			return b.callback(withQuery(cb, func(q url.Values) { q.Add("state", q.Get("state")) }))
		}},
		{"code twice", func(b *browser, cb *url.URL) *reply {
			return b.callback(withQuery(cb, func(q url.Values) { q.Add("code", "x") }))
		}},
		{"the consent form's flow id as state", func(b *browser, cb *url.URL) *reply {
			cf := b.h.newBrowser().openConsent(newAuthRequest(c))
			return b.callback(withQuery(cb, func(q url.Values) { q.Set("state", cf.Flow) }))
		}},
		{"browser cookie removed", func(b *browser, cb *url.URL) *reply {
			saved := b.cookie(browserCookie)
			b.setCookie(browserCookie, "")
			defer b.setCookie(browserCookie, saved)
			return b.callback(cb)
		}},
		{"browser cookie altered", func(b *browser, cb *url.URL) *reply {
			saved := b.cookie(browserCookie)
			b.setCookie(browserCookie, strings.Repeat("B", 43))
			defer b.setCookie(browserCookie, saved)
			return b.callback(cb)
		}},
		{"POST", func(b *browser, cb *url.URL) *reply {
			return b.do(request(http.MethodPost, cb.RequestURI(), url.Values{}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			b, _, cb := atCallback(t, h, c)
			r := tc.mod(b, cb)
			if tc.name == "POST" {
				if r.Status != http.StatusMethodNotAllowed {
					t.Errorf("POST /callback: %s, want 405", r)
				}
			} else {
				wantLocalPage(t, tc.name, r, http.StatusBadRequest, "invalid_request")
			}
			if r := b.callback(cb); r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
				t.Errorf("the genuine callback afterwards: %s", r)
			}
		})
	}
}

// TestCallbackGitHubErrors_CD08: when GitHub does not hand over a usable
// code (the user cancelled, GitHub refused, the code is bad) the client is
// told by redirect, with state and iss and without a code, and the flow is
// over.
func TestCallbackGitHubErrors_CD08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	cases := []struct {
		name string
		mod  func(q url.Values)
		code string
	}{
		{"GitHub error", func(q url.Values) { q.Del("code"); q.Set("error", "redirect_uri_mismatch") }, "server_error"},
		{"GitHub access_denied", func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }, "access_denied"},
		{"neither code nor error", func(q url.Values) { q.Del("code") }, "access_denied"},
		{"a code GitHub does not know", func(q url.Values) { q.Set("code", "0123456789abcdef0123") }, "temporarily_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			b, a, cb := atCallback(t, h, c)
			cb = withQuery(cb, tc.mod)
			wantRedirectError(t, tc.name, b.callback(cb), http.StatusFound, tc.code, a)
			wantLocalPage(t, "the same callback again", b.callback(cb), http.StatusBadRequest, "invalid_request")
		})
	}
	t.Run("the user cancels at GitHub", func(t *testing.T) {
		h := newHarness(t)
		c := h.newClient(authPublic)
		h.gh.CancelNextLogin()
		f := h.newBrowser().login(c, nil)
		wantRedirectError(t, "cancel", f.Pages[len(f.Pages)-1], http.StatusFound, "access_denied", f.Req)
		if n := h.gh.Count("/login/oauth/access_token"); n != 0 {
			t.Errorf("GitHub's token endpoint was called %d times after a cancel", n)
		}
	})
}

// TestCallbackAllowList_CD09: only allow-listed GitHub accounts get a
// code; entries are numeric ids or logins pinned to the id they had when
// first resolved; an empty list lets nobody in, "*" everybody.
func TestCallbackAllowList_CD09(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // allows "alice" and the id 4242 (bob)
	c := h.newClient(authPublic)
	b := h.newBrowser()
	login := func(user string) *flowResult {
		h.gh.NextLogin(user)
		return b.login(c, nil)
	}
	denied := func(what string, f *flowResult) {
		t.Helper()
		wantRedirectError(t, "CD-09 "+what, f.Pages[len(f.Pages)-1], http.StatusFound, "access_denied", f.Req)
	}
	if f := login("alice"); f.Code == "" {
		t.Errorf("alice (listed by login): %v", f.Final)
	}
	denied("mallory, not listed", login("mallory"))
	if f := login("bob"); f.Code == "" {
		t.Errorf("bob (listed by id 4242): %v", f.Final)
	}
	h.gh.AddUser(fakegithub.User{ID: 777, Login: "4242", Name: "Digits"})
	denied("the login 4242 is not the id 4242", login("4242"))
	h.gh.AddUser(fakegithub.User{ID: 999999, Login: "alice", Name: "Not Alice"})
	denied("another account that took over the login alice", login("alice"))
	if !strings.Contains(h.logs(), "user not allowed") {
		t.Error("LG-02: allow-list denials are not logged")
	}

	for _, tc := range []struct {
		name  string
		list  []string
		login string
		ok    bool
	}{
		{"empty list: nobody", []string{}, "alice", false},
		{"*: everybody", []string{"*"}, "mallory", true},
		{"login matched case-insensitively", []string{"ALICE"}, "alice", true},
		{"blank entries ignored", []string{" ", ""}, "alice", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *harnessOptions) { o.Config.GitHub.AllowedUsers = tc.list })
			c := h.newClient(authPublic)
			h.gh.SignIn(tc.login)
			f := h.newBrowser().login(c, nil)
			if tc.ok != (f.Code != "") {
				t.Errorf("%s logging in: %v", tc.login, f.Final)
			}
		})
	}
}

// TestCallbackUpstreamFailures_CD11_LG03: a GitHub that hangs, is down or
// answers nonsense makes /callback tell the client to retry
// (temporarily_unavailable) within the configured timeout: never a 500,
// never a code, never the upstream's error text.
func TestCallbackUpstreamFailures_CD11_LG03(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal trace at github.example:1234", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	anonymous := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":0,"login":""}`))
	}))
	t.Cleanup(anonymous.Close)
	cases := []struct {
		name string
		opt  func(*harnessOptions)
	}{
		{"token endpoint hangs", func(o *harnessOptions) { o.Config.GitHub.Timeout = 200 * time.Millisecond }},
		{"API unreachable", func(o *harnessOptions) { o.Config.GitHub.APIURL = deadURL }},
		{"API answers 500", func(o *harnessOptions) { o.Config.GitHub.APIURL = broken.URL }},
		{"API answers a user without id", func(o *harnessOptions) { o.Config.GitHub.APIURL = anonymous.URL }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.opt)
			c := h.newClient(authPublic)
			b, a, cb := atCallback(t, h, c)
			if tc.name == "token endpoint hangs" {
				h.gh.HangTokenEndpoint(true)
			}
			start := time.Now()
			r := b.callback(cb)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("CD-11: the callback took %s", d)
			}
			loc := wantRedirectError(t, tc.name, r, http.StatusFound, "temporarily_unavailable", a)
			for _, leak := range []string{"127.0.0.1", "trace", "refused", "status", "timeout"} {
				if strings.Contains(r.Header.Get("Location"), leak) || strings.Contains(r.Body, leak) {
					t.Errorf("LG-03: the answer mentions %q: %v", leak, loc)
				}
			}
		})
	}
}

// TestCallbackStoreOutage_RD03: a store failing during the callback is a
// 503 page with Retry-After before the flow is consumed (and the flow then
// still completes), or a redirect telling the client to retry after it;
// never a 500 and never the store's error text.
func TestCallbackStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GetFlow", "TakeFlow", "GetClient"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			var fs *faultStore
			h := newHarness(t, withFaults(&fs))
			c := h.newClient(authPublic)
			b, _, cb := atCallback(t, h, c)
			fs.fail(method)
			r := b.callback(cb)
			fs.heal()
			wantLocalPage(t, method+" failing", r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
				t.Errorf("Retry-After %q; body leaks the cause: %t", r.Header.Get("Retry-After"), strings.Contains(r.Body, "10.9.8.7"))
			}
			if method == "GetFlow" {
				if r := b.callback(cb); r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
					t.Errorf("the callback after the outage: %s", r)
				}
			}
		})
	}
	t.Run("PutCode", func(t *testing.T) {
		t.Parallel()
		var fs *faultStore
		h := newHarness(t, withFaults(&fs))
		c := h.newClient(authPublic)
		b, a, cb := atCallback(t, h, c)
		fs.fail("PutCode")
		wantRedirectError(t, "PutCode failing", b.callback(cb), http.StatusFound, "temporarily_unavailable", a)
	})
}

// TestCallbackFlowExpiry: the GitHub round trip must end within the flow
// lifetime.
func TestCallbackFlowExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.FlowLifetime = 2 * time.Minute })
	c := h.newClient(authPublic)
	b1, _, quick := atCallback(t, h, c)
	b2, _, slow := atCallback(t, h, c)
	h.clock.Advance(time.Minute)
	if r := b1.callback(quick); r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
		t.Errorf("within the flow lifetime: %s", r)
	}
	h.clock.Advance(61 * time.Second)
	wantLocalPage(t, "after the flow lifetime", b2.callback(slow), http.StatusBadRequest, "invalid_request")
}

// TestCodesAndSecretsHygiene_AC01_CD10_LG01: codes are unique 256-bit
// base64url values; neither the GitHub token nor GitHub's code, nor any
// code or token we issue, appears in the server's log; the GitHub token
// appears in no response.
func TestCodesAndSecretsHygiene_AC01_CD10_LG01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	b := h.newBrowser()
	seen := map[string]bool{}
	var replies []*reply
	var ours []string
	for range 20 {
		f := b.mustLogin(c, nil)
		if !base64URL43(f.Code) || seen[f.Code] {
			t.Errorf("AC-01: code %q is not a fresh 43-character base64url value", f.Code)
		}
		seen[f.Code] = true
		tok := h.exchange(c, f)
		replies = append(append(replies, f.Pages...), tok.Resp)
		ours = append(ours, f.Code, tok.Access, tok.Refresh, f.GitHub.Query().Get("state"))
	}
	ours = append(ours, c.Secret, c.RAT)
	logs := h.logs()
	for _, s := range append(h.gh.Secrets(), ours...) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("LG-01: the log contains the secret %q", s)
		}
	}
	for _, tok := range h.gh.IssuedTokens() {
		for _, r := range replies {
			if strings.Contains(r.Body, tok) || strings.Contains(r.Header.Get("Location"), tok) {
				t.Errorf("CD-10: a response carries the GitHub token")
			}
		}
	}
	if !strings.Contains(logs, "code issued") {
		t.Error("the log check proves nothing: no flow was logged")
	}
}
