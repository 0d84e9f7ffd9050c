package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

const browserCookie = "__Host-mcpoauth_browser"

// TestConsentBeforeGitHub_CD01: a fresh browser and a new DCR client get
// our consent page, not a redirect to GitHub; GitHub hears nothing until
// the user approves, and the browser-binding cookie appears only then.
func TestConsentBeforeGitHub_CD01(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	b := e.newBrowser()
	a := newAuthReq(c)
	r := e.get(b.c, a.path())
	if r.Status != http.StatusOK || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("CD-01: /authorize for an unapproved client: %s", r)
	}
	for _, ck := range b.cookies() {
		if ck.Name == browserCookie {
			t.Error("CD-05: the browser-binding cookie was set before consent")
		}
	}
	if e.gh.Contacted() {
		t.Fatal("CD-01: GitHub was contacted before approval")
	}
	r = b.submit(b.parseConsent(r), "approve", nil)
	gh := r.location(t)
	if r.Status != http.StatusSeeOther || gh == nil || !strings.HasPrefix(gh.String(), e.gh.URL+"/login/oauth/authorize?") {
		t.Fatalf("CD-01: approve: want 303 to GitHub, got %s", r)
	}
	q := gh.Query()
	if q.Get("client_id") != "gh-client" || q.Get("redirect_uri") != e.issuer+"/callback" || len(q.Get("state")) < 43 {
		t.Errorf("CD-05: GitHub authorize URL %v: want our GitHub app, our callback and a 256-bit state", gh)
	}
	if q.Get("state") == a.Query.Get("state") {
		t.Error("the client's state was passed to GitHub")
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), browserCookie) {
		t.Errorf("CD-05: the approval response did not set %s: %q", browserCookie, r.Header.Values("Set-Cookie"))
	}
	if e.gh.Contacted() {
		t.Error("CD-01: the server itself contacted GitHub during consent")
	}
}

// TestConsentContent_CD02_RU10: the page shows the client's name without
// bidi or control characters, the unverified marker, where the code goes
// and what is asked; loopback-only clients get an extra warning.
func TestConsentContent_CD02_RU10(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{SiteExtra: gatesFor("mcp.test")})
	m := clientMeta(public, "https://evil.test/cb")
	m["client_name"] = "Claude\u202Eevil\u200b\u2066x\u0007"
	c := e.registerMeta(m)
	if name, _ := c.Resp["client_name"].(string); strings.ContainsAny(name, "\u202e\u200b\u2066\u0007") {
		t.Errorf("CD-02: registration kept bidi/control characters in %q", name)
	}
	page := e.newBrowser().openConsent(newAuthReq(c)).Page.Body
	for _, bad := range []string{"\u202e", "&#8238;", "&#x202e;", "\u2066", "\u200b", "\u0007"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("CD-02: consent page contains %q", bad)
		}
	}
	for _, want := range []string{"Claudeevilx", "evil.test", "<code>mcp</code>", "Unverified application", c.ID} {
		if !strings.Contains(page, want) {
			t.Errorf("CD-02/RU-10: consent page lacks %q", want)
		}
	}
	if strings.Contains(page, "loopback-warning") {
		t.Error("RU-10: the loopback warning is shown for an https client")
	}

	loop := e.newClient(public, "http://127.0.0.1:4000/cb")
	page = e.newBrowser().openConsent(newAuthReq(loop)).Page.Body
	if !strings.Contains(page, `id="loopback-warning"`) || !strings.Contains(page, "127.0.0.1:4000") {
		t.Error("RU-10: a loopback-only client got no warning or no host")
	}
	a := newAuthReq(c)
	a.Query.Set("resource", "https://mcp.test/mcp")
	if page := e.newBrowser().openConsent(a).Page.Body; !strings.Contains(page, "https://mcp.test/mcp") {
		t.Error("CD-02: the requested resource is not shown")
	}
}

// TestConsentCSRF_CD03: the consent POST needs this browser's CSRF token
// for this flow and a same-origin request; every forgery is 403 and GitHub
// hears nothing. The genuine form still works afterwards.
func TestConsentCSRF_CD03(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	victim, attacker := e.newBrowser(), e.newBrowser()
	cfA := victim.openConsent(newAuthReq(c))
	cfB := attacker.openConsent(newAuthReq(c))
	forgeries := []struct {
		name string
		b    *browser
		cf   *consentForm
		mod  func(*http.Request)
	}{
		{"missing csrf", victim, &consentForm{Flow: cfA.Flow}, nil},
		{"another browser's csrf", victim, &consentForm{Flow: cfA.Flow, CSRF: cfB.CSRF}, nil},
		{"attacker's own csrf on the victim's flow", attacker, &consentForm{Flow: cfA.Flow, CSRF: cfB.CSRF}, nil},
		{"victim's form from the attacker's browser", attacker, cfA, nil},
		{"Origin evil.test", victim, cfA, func(r *http.Request) { r.Header.Set("Origin", "https://evil.test") }},
		{"Origin null, cross-site", victim, cfA, func(r *http.Request) {
			r.Header.Set("Origin", "null")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}},
		{"Origin null, no Sec-Fetch-Site", victim, cfA, func(r *http.Request) {
			r.Header.Set("Origin", "null")
			r.Header.Del("Sec-Fetch-Site")
		}},
		{"Sec-Fetch-Site cross-site", victim, cfA, func(r *http.Request) {
			r.Header.Del("Origin")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}},
	}
	for _, f := range forgeries {
		r := f.b.submit(f.cf, "approve", f.mod)
		if r.Status != http.StatusForbidden || r.Header.Get("Location") != "" {
			t.Errorf("CD-03 %s: got %d Location %q, want 403", f.name, r.Status, r.Header.Get("Location"))
		}
	}
	if e.gh.Contacted() {
		t.Errorf("CD-03: GitHub was contacted: %+v", e.gh.Requests())
	}
	if r := victim.submit(cfA, "approve", nil); r.Status != http.StatusSeeOther {
		t.Errorf("the genuine form after the forgeries: %s", r)
	}
	if r := victim.submit(cfA, "approve", nil); r.Status != http.StatusForbidden {
		t.Errorf("the consent form replayed: got %d, want 403", r.Status)
	}
}

// TestConsentAcceptsBrowserHeaders_CD03 posts the consent form with the
// headers Chromium really sends for it. The consent page is served with
// Referrer-Policy: no-referrer, and the Fetch standard then serializes the
// Origin of a same-origin form POST as "null" (checked with Chromium:
// Origin "null", Sec-Fetch-Site "same-origin"). The CSRF check must accept
// that, or no real browser can ever approve (see TestBrowserConsentFlow).
func TestConsentAcceptsBrowserHeaders_CD03(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	b := e.newBrowser()
	cf := b.openConsent(newAuthReq(c))
	if rp := cf.Page.Header.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Logf("the consent page's Referrer-Policy is %q; this test assumes no-referrer", rp)
	}
	r := b.submit(cf, "approve", func(r *http.Request) {
		r.Header.Set("Origin", "null")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		r.Header.Set("Sec-Fetch-Dest", "document")
	})
	if r.Status != http.StatusSeeOther {
		t.Errorf("CD-03: the consent POST as Chromium sends it (Origin: null, Sec-Fetch-Site: same-origin, valid CSRF token) "+
			"got %d %q, want 303 to GitHub", r.Status, textOf(r.Body))
	}
}

// TestCallbackBoundToBrowser_CD05: the GitHub callback finished in another
// browser (no flow cookie) is refused without a code and without burning
// the victim's flow; the state is single use.
func TestCallbackBoundToBrowser_CD05(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	victim := e.newBrowser()
	r := victim.submit(victim.openConsent(newAuthReq(c)), "approve", nil)
	gh := e.get(victim.c, r.location(t).String())
	callback := gh.location(t).String()

	attacker := e.newBrowser()
	r = e.get(attacker.c, callback)
	wantLocalPage(t, "CD-05 callback in a second cookie jar", r, http.StatusBadRequest)
	if strings.Contains(r.Body, "code=") || e.gh.Count("/login/oauth/access_token") != 0 {
		t.Error("CD-05: the replayed callback produced a code or redeemed GitHub's")
	}
	r = e.get(victim.c, callback)
	if loc := r.location(t); r.Status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("the victim's own callback after the attack: %s", r)
	}
	wantLocalPage(t, "CD-05 state replayed in the same browser", e.get(victim.c, callback), http.StatusBadRequest)
}

// TestCookieAttributes_CD06 parses every Set-Cookie of a flow, and checks a
// tampered browser cookie brings the consent page back.
func TestCookieAttributes_CD06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	b := e.newBrowser()
	f := b.login(c, nil)
	n := 0
	for _, p := range f.Pages {
		for _, line := range p.Header.Values("Set-Cookie") {
			n++
			ck, err := http.ParseSetCookie(line)
			if err != nil {
				t.Errorf("Set-Cookie %q: %v", line, err)
				continue
			}
			if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode ||
				ck.Path != "/" || ck.Domain != "" || ck.MaxAge <= 0 || ck.MaxAge > 31*24*3600 {
				t.Errorf("CD-06: cookie %q: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, a bounded Max-Age", line)
			}
		}
	}
	if n < 2 {
		t.Errorf("CD-06: only %d cookies were set during the flow", n)
	}

	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusFound {
		t.Fatalf("remembered consent: want 302 to GitHub, got %s", r)
	}
	u, _ := url.Parse(e.issuer)
	for _, ck := range b.jar.Cookies(u) {
		if ck.Name == browserCookie {
			v := []byte(ck.Value)
			v[len(v)/2] ^= 1
			b.jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: string(v), Path: "/", Secure: true, HttpOnly: true}})
		}
	}
	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusOK {
		t.Errorf("CD-06: a flipped byte in the browser cookie: want the consent page again, got %d", r.Status)
	}
}

// putClient replaces c's registration (RFC 7592) with these redirect URIs
// and returns the response.
func (e *env) putClient(c *regClient, rat string, redirects ...string) *response {
	e.t.Helper()
	body := map[string]any{"client_id": c.ID, "redirect_uris": redirects, "client_name": "Test App",
		"token_endpoint_auth_method": c.Method}
	return e.manage(http.MethodPut, c.ID, rat, body)
}

// TestConsentAfterClientUpdate_CD07: an RFC 7592 update of the client
// voids the browser's remembered approval.
func TestConsentAfterClientUpdate_CD07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	b := e.newBrowser()
	b.approveOnce(c)
	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusFound {
		t.Fatalf("remembered consent: want 302, got %s", r)
	}
	r := e.putClient(c, c.RAT, c.RedirectURIs[0], "https://app.test/other")
	wantStatus(t, "PUT", r, http.StatusOK, "")
	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		t.Errorf("CD-07: after the update /authorize answered %d, want the consent page", r.Status)
	}
}

// TestConsentDeny_CD08: deny sends access_denied to the client and GitHub
// never hears of it.
func TestConsentDeny_CD08(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	b := e.newBrowser()
	a := newAuthReq(c)
	r := b.submit(b.openConsent(a), "deny", nil)
	loc := r.location(t)
	if r.Status != http.StatusSeeOther || loc == nil {
		t.Fatalf("CD-08: deny: %s", r)
	}
	q := loc.Query()
	if loc.Host != "app.test" || q.Get("error") != "access_denied" || q.Get("state") != a.Query.Get("state") || q.Has("code") {
		t.Errorf("CD-08: deny redirected to %v", loc)
	}
	wantOneIss(t, "CD-08 deny", loc, e.issuer)
	if e.gh.Contacted() {
		t.Errorf("CD-08: GitHub was contacted: %+v", e.gh.Requests())
	}
	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusOK {
		t.Errorf("CD-08: after a deny the next /authorize answered %d, want the consent page again", r.Status)
	}
}

// TestAllowList_CD09: a GitHub user not on the list gets access_denied at
// the client; a numeric id entry lets that user in; an id entry does not
// match a login made of digits; and a login entry must not let in a
// different account that later took over the login.
func TestAllowList_CD09(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{AllowedUsers: "alice 4242"})
	c := e.newClient(basic)
	b := e.newBrowser()
	b.approveOnce(c)
	login := func(user string) *flow {
		e.gh.NextLogin(user)
		return b.login(c, nil)
	}
	wantDenied := func(what string, f *flow) {
		t.Helper()
		q := f.Final.Query()
		if q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != f.Req.Query.Get("state") {
			t.Errorf("CD-09 %s: redirected to %v, want error=access_denied with state and no code", what, f.Final)
		}
		wantOneIss(t, "CD-09 "+what, f.Final, e.issuer)
	}
	wantDenied("mallory (not listed)", login("mallory"))
	if f := login("bob"); f.Code == "" {
		t.Errorf("CD-09: bob (listed by id 4242) got no code: %v", f.Final)
	} else if tok := e.exchange(c, f); tok.Access == "" {
		t.Error("CD-09: bob's code did not redeem")
	}
	e.gh.AddUser(fakegithub.User{ID: 777, Login: "4242", Name: "Digits"})
	wantDenied("login 4242 with id 777", login("4242"))

	t.Run("login reuse", func(t *testing.T) {
		// alice renames her account; someone else registers "alice".
		e.gh.AddUser(fakegithub.User{ID: 999999, Login: "alice", Name: "Not Alice"})
		f := login("alice")
		q := f.Final.Query()
		if q.Has("code") || q.Get("error") != "access_denied" {
			t.Errorf("CD-09: a different GitHub account (id 999999) that took over the login \"alice\" got a code "+
				"(error=%q); the allow-list entry alice should be resolved to alice's numeric id (1001) and matched by id",
				q.Get("error"))
		}
	})
}

// TestGitHubLoginCancelled_CD08: when the user cancels at GitHub, the client
// is told access_denied and no code exists.
func TestGitHubLoginCancelled_CD08(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public)
	e.gh.CancelNextLogin()
	f := e.newBrowser().login(c, nil)
	q := f.Final.Query()
	if f.Final.Host != "app.test" || q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != f.Req.Query.Get("state") {
		t.Errorf("GitHub cancel: the client got %v", f.Final)
	}
	wantOneIss(t, "GitHub cancel", f.Final, e.issuer)
	if n := e.gh.Count("/login/oauth/access_token"); n != 0 {
		t.Errorf("GitHub's token endpoint was called %d times after a cancel", n)
	}
}

// TestGitHubTimeout_CD11: a hanging GitHub token endpoint makes /callback
// answer within the configured timeout, without a code.
func TestGitHubTimeout_CD11(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{GitHubTimeout: "1s"})
	c := e.newClient(public)
	e.gh.HangTokenEndpoint(true)
	start := time.Now()
	f := e.newBrowser().login(c, nil)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("CD-11: the flow took %s with a 1s GitHub timeout", d)
	}
	q := f.Final.Query()
	if q.Has("code") || q.Get("error") == "" {
		t.Errorf("CD-11: hanging GitHub: the client got %v", f.Final)
	}
	if e.gh.Count("/login/oauth/access_token") != 1 {
		t.Errorf("GitHub's token endpoint saw %d requests, want 1", e.gh.Count("/login/oauth/access_token"))
	}
}
