package oauthcore_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestConsentBeforeGitHub_CD01_CD05: a fresh browser and a new DCR client
// get our consent page, not a redirect to GitHub; the browser-binding
// cookie and the GitHub state appear only with the approval, which is a
// 303 to our GitHub app with our callback and a fresh 256-bit state.
func TestConsentBeforeGitHub_CD01_CD05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	b := h.newBrowser()
	a := newAuthRequest(c)
	r := b.get(a.path())
	if r.Status != http.StatusOK || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("CD-01: /authorize for an unapproved client: %s", r)
	}
	if b.cookie(browserCookie) != "" || b.cookie(csrfCookie) == "" {
		t.Errorf("CD-05: after the consent page: browser cookie %q, csrf cookie %q; want only the csrf one",
			b.cookie(browserCookie), b.cookie(csrfCookie))
	}
	if h.gh.Contacted() {
		t.Fatal("CD-01: GitHub was contacted before approval")
	}
	r = b.submit(parseConsent(t, r), "approve", nil)
	gh := r.location()
	if r.Status != http.StatusSeeOther || gh == nil || !strings.HasPrefix(gh.String(), h.gh.URL+"/login/oauth/authorize?") {
		t.Fatalf("CD-01: approve: want 303 to GitHub, got %s", r)
	}
	q := gh.Query()
	if q.Get("client_id") != h.gh.ClientID() || q.Get("redirect_uri") != asIssuer+"/callback" || !base64URL43(q.Get("state")) {
		t.Errorf("CD-05: GitHub authorize URL %v: want our GitHub app, our callback and a 256-bit state", gh)
	}
	if q.Get("state") == a.Query.Get("state") || strings.Contains(gh.String(), a.Query.Get("code_challenge")) {
		t.Error("the client's state or challenge was passed to GitHub")
	}
	if !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), "\n"), browserCookie+"=") || b.cookie(browserCookie) == "" {
		t.Errorf("CD-05: the approval did not set %s: %q", browserCookie, r.Header.Values("Set-Cookie"))
	}
	wantPageHeaders(t, "the approval redirect", r)
	if h.gh.Contacted() {
		t.Error("CD-01: the server itself contacted GitHub during consent")
	}
}

func base64URL43(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// TestConsentCSRF_CD03: the consent POST needs this browser's CSRF token,
// for this flow, in a same-origin request. Every forgery is a 403 page,
// GitHub hears nothing, and the victim's flow is not burned: the genuine
// form still works afterwards, once.
func TestConsentCSRF_CD03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	victim, attacker := h.newBrowser(), h.newBrowser()
	cfA := victim.openConsent(newAuthRequest(c))
	cfB := attacker.openConsent(newAuthRequest(c))
	noCookie := h.newBrowser()
	forgeries := []struct {
		name string
		b    *browser
		cf   *consentForm
		mod  func(*http.Request)
	}{
		{"missing csrf", victim, &consentForm{Flow: cfA.Flow}, nil},
		{"missing flow", victim, &consentForm{CSRF: cfA.CSRF}, nil},
		{"unknown flow", victim, &consentForm{Flow: strings.Repeat("A", 43), CSRF: cfA.CSRF}, nil},
		{"another browser's csrf", victim, &consentForm{Flow: cfA.Flow, CSRF: cfB.CSRF}, nil},
		{"attacker's own csrf on the victim's flow", attacker, &consentForm{Flow: cfA.Flow, CSRF: cfB.CSRF}, nil},
		{"victim's form from the attacker's browser", attacker, cfA, nil},
		{"victim's form from a browser without cookies", noCookie, cfA, nil},
		{"Origin evil.test", victim, cfA, func(r *http.Request) { r.Header.Set("Origin", "https://evil.test") }},
		{"Origin of the issuer on another port", victim, cfA, func(r *http.Request) { r.Header.Set("Origin", asIssuer+":8443") }},
		{"Origin null, cross-site", victim, cfA, func(r *http.Request) {
			r.Header.Set("Origin", "null")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}},
		{"Origin null, no Sec-Fetch-Site", victim, cfA, func(r *http.Request) { r.Header.Del("Sec-Fetch-Site") }},
		{"Sec-Fetch-Site same-site", victim, cfA, func(r *http.Request) {
			r.Header.Del("Origin")
			r.Header.Set("Sec-Fetch-Site", "same-site")
		}},
	}
	for _, f := range forgeries {
		r := f.b.submit(f.cf, "approve", f.mod)
		wantLocalPage(t, "CD-03 "+f.name, r, http.StatusForbidden, "access_denied")
	}
	if h.gh.Contacted() {
		t.Errorf("CD-03: GitHub was contacted: %+v", h.gh.Requests())
	}
	if r := victim.submit(cfA, "approve", nil); r.Status != http.StatusSeeOther {
		t.Errorf("the genuine form after the forgeries: %s", r)
	}
	wantLocalPage(t, "the consent form replayed", victim.submit(cfA, "approve", nil), http.StatusForbidden, "access_denied")
	// The attacker's own, untouched flow was not affected either.
	if r := attacker.submit(cfB, "deny", nil); r.Status != http.StatusSeeOther {
		t.Errorf("the attacker's own flow: %s", r)
	}
}

// TestConsentRequestShape_CD03: besides Origin: null from our own page, a
// same-origin post with the issuer's Origin or a user-initiated one
// (Sec-Fetch-Site: none) is accepted; anything but a form POST is refused
// without consuming the flow.
func TestConsentRequestShape_CD03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	accepted := map[string]func(*http.Request){
		"Origin: issuer":      func(r *http.Request) { r.Header.Set("Origin", asIssuer); r.Header.Del("Sec-Fetch-Site") },
		"Sec-Fetch-Site none": func(r *http.Request) { r.Header.Del("Origin"); r.Header.Set("Sec-Fetch-Site", "none") },
		"no Origin at all":    func(r *http.Request) { r.Header.Del("Origin"); r.Header.Del("Sec-Fetch-Site") },
	}
	for name, mod := range accepted {
		b := h.newBrowser()
		if r := b.submit(b.openConsent(newAuthRequest(c)), "approve", mod); r.Status != http.StatusSeeOther {
			t.Errorf("%s: %s, want 303 to GitHub", name, r)
		}
	}

	b := h.newBrowser()
	cf := b.openConsent(newAuthRequest(c))
	form := url.Values{"flow": {cf.Flow}, "csrf": {cf.CSRF}, "action": {"approve"}}
	get := b.get("/consent?" + form.Encode())
	if get.Status != http.StatusMethodNotAllowed || get.Header.Get("Allow") != "POST" {
		t.Errorf("GET /consent: %s, want 405 Allow: POST", get)
	}
	asJSON := request(http.MethodPost, "/consent", map[string]string{"flow": cf.Flow, "csrf": cf.CSRF, "action": "approve"})
	wantLocalPage(t, "a JSON consent body", b.do(asJSON), http.StatusBadRequest, "invalid_request")
	inQuery := request(http.MethodPost, "/consent?"+form.Encode(), url.Values{})
	wantLocalPage(t, "the consent form in the query", b.do(inQuery), http.StatusBadRequest, "invalid_request")
	twice := request(http.MethodPost, "/consent", url.Values{"flow": {cf.Flow, cf.Flow}, "csrf": {cf.CSRF}, "action": {"approve"}})
	wantLocalPage(t, "the flow field twice", b.do(twice), http.StatusBadRequest, "invalid_request")
	if r := b.submit(cf, "approve", nil); r.Status != http.StatusSeeOther {
		t.Errorf("the form after the refused requests: %s, want 303", r)
	}
}

// TestConsentDeny_CD08: deny (or any action but approve) sends
// access_denied to the client by 303 with state and iss; GitHub hears
// nothing, no browser binding is set, and nothing is remembered.
func TestConsentDeny_CD08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	for _, action := range []string{"deny", "", "APPROVE", "approve "} {
		b := h.newBrowser()
		a := newAuthRequest(c)
		r := b.submit(b.openConsent(a), action, nil)
		wantRedirectError(t, "CD-08 action "+action, r, http.StatusSeeOther, "access_denied", a)
		if b.cookie(browserCookie) != "" {
			t.Errorf("CD-08 action %q: the browser-binding cookie was set", action)
		}
		parseConsent(t, b.get(newAuthRequest(c).path())) // asked again
		bad := newAuthRequest(c)
		bad.Query.Set("response_type", "token")
		wantLocalPage(t, "AZ-04 after a deny the client is still unapproved", b.get(bad.path()), http.StatusBadRequest, "unsupported_response_type")
	}
	if h.gh.Contacted() {
		t.Errorf("CD-08: GitHub was contacted: %+v", h.gh.Requests())
	}
}

// TestConsentCookieAttributes_CD06: every cookie of a flow is __Host-,
// Secure, HttpOnly, SameSite=Lax, Path=/, without Domain and with the
// lifetime of what it binds; with a loopback http issuer the names lose
// the prefix and Secure (browsers would drop them otherwise).
func TestConsentCookieAttributes_CD06(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		issuer, prefix string
		secure         bool
	}{{asIssuer, "__Host-", true}, {"http://127.0.0.1:8080", "", false}} {
		t.Run(tc.issuer, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *harnessOptions) {
				o.Config.Issuer = tc.issuer
				o.Config.FlowLifetime = 5 * time.Minute
				o.Config.ConsentLifetime = 7 * 24 * time.Hour
			})
			c := h.newClient(authBasic)
			b := h.newBrowser()
			f := b.mustLogin(c, nil)
			want := map[string]int{tc.prefix + "mcpoauth_csrf": 300, tc.prefix + "mcpoauth_browser": 7 * 24 * 3600}
			seen := map[string]bool{}
			for _, p := range f.Pages {
				for _, line := range p.Header.Values("Set-Cookie") {
					ck, err := http.ParseSetCookie(line)
					if err != nil {
						t.Errorf("Set-Cookie %q: %v", line, err)
						continue
					}
					seen[ck.Name] = true
					if maxAge, ok := want[ck.Name]; !ok || ck.MaxAge != maxAge || ck.Secure != tc.secure || !ck.HttpOnly ||
						ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
						t.Errorf("CD-06: cookie %q: want one of %v with Secure=%t, HttpOnly, SameSite=Lax, Path=/, no Domain",
							line, want, tc.secure)
					}
				}
			}
			if len(seen) != 2 {
				t.Errorf("CD-06: cookies set during the flow: %v, want %v", seen, want)
			}
		})
	}
}

// TestConsentRemembered_CD06: an approval is remembered for this browser,
// client registration, redirect URI (any loopback port), scope and
// resource, until the consent lifetime ends; anything else asks again.
func TestConsentRemembered_CD06(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.Scopes = []string{"mcp", "read"}
		o.Config.DefaultScope = "mcp"
		o.Config.ConsentLifetime = time.Hour
	})
	c := h.newClient(authPublic, "https://app.test/cb", "http://127.0.0.1:4000/cb")
	b := h.newBrowser()
	b.mustLogin(c, nil)
	b.mustLogin(c, func(a *authRequest) { a.Query.Set("redirect_uri", "http://127.0.0.1:4000/cb") })
	remembered := func(what string, mod func(*authRequest), want bool) {
		t.Helper()
		a := newAuthRequest(c)
		if mod != nil {
			mod(a)
		}
		r := b.get(a.path())
		switch {
		case want && (r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), h.gh.URL)):
			t.Errorf("%s: %s, want 302 straight to GitHub", what, r)
		case !want && (r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`)):
			t.Errorf("%s: %s, want the consent page", what, r)
		}
	}
	remembered("the same request again", nil, true)
	remembered("another loopback port", func(a *authRequest) { a.Query.Set("redirect_uri", "http://127.0.0.1:5999/cb") }, true)
	remembered("another scope", func(a *authRequest) { a.Query.Set("scope", "read") }, false)
	remembered("a resource", func(a *authRequest) { a.Query.Set("resource", "https://mcp.test/mcp") }, false)
	if r := h.newBrowser().get(newAuthRequest(c).path()); r.Status != http.StatusOK {
		t.Errorf("another browser: %s, want the consent page", r)
	}
	other := h.newClient(authPublic, "https://app.test/cb")
	if r := b.get(newAuthRequest(other).path()); r.Status != http.StatusOK {
		t.Errorf("another client with the same redirect URI: %s, want the consent page", r)
	}
	browser := b.cookie(browserCookie)
	b.setCookie(browserCookie, browser[:21]+string(browser[21]^1)+browser[22:])
	remembered("CD-06 a flipped byte in the browser cookie", nil, false)
	b.setCookie(browserCookie, browser)
	remembered("the genuine cookie again", nil, true)
	h.clock.Advance(time.Hour + time.Second)
	remembered("after the consent lifetime", nil, false)
}

// TestConsentAfterClientUpdate_CD07_RU08: an RFC 7592 update of the
// client voids remembered approvals, and a consent form or GitHub round
// trip started before the update cannot complete after it: the request is
// validated again against the registration as it is now.
func TestConsentAfterClientUpdate_CD07_RU08(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic, "https://app.test/cb")
	b := h.newBrowser()
	b.mustLogin(c, nil)
	if r := b.get(newAuthRequest(c).path()); r.Status != http.StatusFound {
		t.Fatalf("remembered consent: want 302, got %s", r)
	}
	pending := h.newBrowser()
	cf := pending.openConsent(newAuthRequest(c))
	atGitHub := h.newBrowser()
	ghURL := atGitHub.submit(atGitHub.openConsent(newAuthRequest(c)), "approve", nil).location()
	callback := atGitHub.github(ghURL)

	h.updateClient(c, "https://app.test/cb", "https://app.test/other")
	parseConsent(t, b.get(newAuthRequest(c).path()))
	wantLocalPage(t, "RU-08 a consent form from before the update", pending.submit(cf, "approve", nil),
		http.StatusBadRequest, "invalid_request")
	r := atGitHub.callback(callback)
	wantLocalPage(t, "RU-08 a GitHub callback from before the update", r, http.StatusBadRequest, "invalid_request")
	if strings.Contains(r.Header.Get("Location"), "code=") {
		t.Error("a code was issued against the old registration")
	}
	b.mustLogin(c, nil) // a fresh approval works
}

// TestConsentAfterClientDeleted: a consent form for a client deleted
// meanwhile is refused on our page.
func TestConsentAfterClientDeleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	b := h.newBrowser()
	cf := b.openConsent(newAuthRequest(c))
	h.deleteClient(c)
	wantLocalPage(t, "approve for a deleted client", b.submit(cf, "approve", nil), http.StatusBadRequest, "invalid_client")
	if h.gh.Contacted() {
		t.Error("GitHub was contacted")
	}
}

// TestConsentFlowExpiry: a consent form lives for the flow lifetime.
func TestConsentFlowExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.FlowLifetime = time.Minute })
	c := h.newClient(authPublic)
	b := h.newBrowser()
	fresh, stale := b.openConsent(newAuthRequest(c)), b.openConsent(newAuthRequest(c))
	h.clock.Advance(50 * time.Second)
	if r := b.submit(fresh, "approve", nil); r.Status != http.StatusSeeOther {
		t.Errorf("within the flow lifetime: %s", r)
	}
	h.clock.Advance(11 * time.Second)
	wantLocalPage(t, "after the flow lifetime", b.submit(stale, "approve", nil), http.StatusForbidden, "access_denied")
}

// TestConsentContent_CD02_RU10: the page names the client (escaped, no
// bidi or control characters), says it is unverified, where the code goes,
// what is asked and for which resource; loopback-only clients get a
// warning, native apps the scheme.
func TestConsentContent_CD02_RU10(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := clientMeta(authPublic, "https://evil.test/cb")
	m["client_name"] = "Claude\u202Eevil\u200b\u2066x\u0007"
	c := h.registerMeta(m)
	a := newAuthRequest(c)
	a.Query.Set("resource", "https://mcp.test/mcp")
	page := h.newBrowser().openConsent(a).Page.Body
	for _, bad := range []string{"\u202e", "&#8238;", "\u2066", "\u200b", "\u0007"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("CD-02: the consent page contains %q", bad)
		}
	}
	for _, want := range []string{"Claudeevilx", "evil.test", "<code>mcp</code>", "Unverified application", c.ID, "https://mcp.test/mcp"} {
		if !strings.Contains(page, want) {
			t.Errorf("CD-02/RU-10: the consent page lacks %q", want)
		}
	}
	if strings.Contains(page, "loopback-warning") || strings.Contains(page, "app-scheme") {
		t.Error("RU-10: a loopback or app warning is shown for an https client")
	}
	loop := h.newClient(authPublic, "http://127.0.0.1:4000/cb")
	page = h.newBrowser().openConsent(newAuthRequest(loop)).Page.Body
	if !strings.Contains(page, `id="loopback-warning"`) || !strings.Contains(page, "127.0.0.1:4000") {
		t.Error("RU-10: a loopback-only client got no warning or no host")
	}
	app := h.newClient(authPublic, "cursor://anysphere.cursor-mcp/oauth/callback")
	page = h.newBrowser().openConsent(newAuthRequest(app)).Page.Body
	if !strings.Contains(page, `id="app-scheme"`) || !strings.Contains(page, "cursor://anysphere.cursor-mcp") {
		t.Error("RU-10: a private-use scheme client is not named as an app on this device")
	}
}

// TestConsentStoreOutage_RD03: a store failing at the consent POST is a
// 503 page with Retry-After; failing before the flow is consumed, the same
// form works once the store is back.
func TestConsentStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method    string
		formLives bool
	}{{"GetFlow", true}, {"TakeFlow", true}, {"GetClient", false}, {"PutConsent", false}, {"PutFlow", false}} {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			var fs *faultStore
			h := newHarness(t, withFaults(&fs))
			c := h.newClient(authPublic)
			b := h.newBrowser()
			cf := b.openConsent(newAuthRequest(c))
			fs.fail(tc.method)
			r := b.submit(cf, "approve", nil)
			fs.heal()
			wantLocalPage(t, tc.method+" failing", r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
				t.Errorf("Retry-After %q; the body leaks the cause: %t", r.Header.Get("Retry-After"), strings.Contains(r.Body, "10.9.8.7"))
			}
			again := b.submit(cf, "approve", nil)
			if tc.formLives && again.Status != http.StatusSeeOther {
				t.Errorf("the form once the store is back: %s, want 303", again)
			}
			if !tc.formLives && again.Status != http.StatusForbidden {
				t.Errorf("the consumed form once the store is back: %s, want 403", again)
			}
		})
	}
}

// TestConsentNamesServerAndScopes: the consent page names the server the
// user grants access to (the issuer's host, or the configured name) and
// says in words what each requested scope allows (mcp has a default).
func TestConsentNamesServerAndScopes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		mod        func(*harnessOptions)
		server     string
		scope      string
		wantScopes []string
	}{
		{"defaults", nil, "auth.example.com", "", []string{"<code>mcp</code>: use the MCP servers"}},
		{"named, described", func(o *harnessOptions) {
			o.Config.Name = "Acme <MCP>"
			o.Config.Scopes = []string{"mcp", "read"}
			o.Config.ScopeDescriptions = map[string]string{"read": "read your repositories"}
		}, "Acme &lt;MCP&gt;", "mcp read", []string{"<code>mcp</code>: use the MCP servers", "<code>read</code>: read your repositories"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []func(*harnessOptions)
			if tt.mod != nil {
				opts = append(opts, tt.mod)
			}
			h := newHarness(t, opts...)
			c := h.newClient(authPublic)
			a := newAuthRequest(c)
			if tt.scope != "" {
				a.Query.Set("scope", tt.scope)
			}
			page := h.newBrowser().openConsent(a).Page.Body
			if !strings.Contains(page, `id="server-name">`+tt.server+`</strong>`) {
				t.Errorf("the page does not name the server %q", tt.server)
			}
			for _, want := range tt.wantScopes {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
}
