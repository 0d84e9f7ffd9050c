package e2e

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAuthorizeRedirectMatching_RU01_RU02_RU07_AZ01 is the redirect
// matching table: only the exact registered URI (and, for loopback http,
// the same URI on another port) reaches the consent page; everything else
// is a local 400 page with no Location, and GitHub is never contacted.
func TestAuthorizeRedirectMatching_RU01_RU02_RU07_AZ01(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	b := e.newBrowser()
	try := func(c *regClient, redirect string, omit bool) *response {
		a := newAuthReq(c)
		if omit {
			a.Query.Del("redirect_uri")
		} else {
			a.Query.Set("redirect_uri", redirect)
		}
		return e.get(b.c, a.path())
	}

	web := e.newClient(public, "https://app.test/cb")
	for _, bad := range []string{
		"https://app.test/cb/", "https://app.test/cb?x=1", "https://app.test/CB", "https://app.test/cb#f",
		"https://app.test/cb/../cb", "https://app.test/cb%2F", "https://app.test:443/cb", "https://APP.test/cb",
		"http://app.test/cb", "https://app.test/c", "https://app.test/cbx", "https://evil.test/cb", "https://app.test.evil.test/cb",
	} {
		wantLocalPage(t, "RU-01 "+bad, try(web, bad, false), http.StatusBadRequest)
	}
	if r := try(web, "https://app.test/cb", false); r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		t.Errorf("RU-01 exact URI: want the consent page, got %s", r)
	}

	loop := e.newClient(public, "http://127.0.0.1:33418/")
	if r := try(loop, "http://127.0.0.1:59656/", false); r.Status != http.StatusOK {
		t.Errorf("RU-02 loopback on another port: want the consent page, got %s", r)
	}
	for _, bad := range []string{"http://127.0.0.1:59656/x", "http://[::1]:59656/", "https://127.0.0.1:1/",
		"http://localhost:59656/", "http://127.0.0.1:59656/?x=1", "http://127.0.0.2:33418/"} {
		wantLocalPage(t, "RU-02 "+bad, try(loop, bad, false), http.StatusBadRequest)
	}
	// Port flexibility is for loopback http only, never https.
	tlsLoop := e.newClient(public, "https://127.0.0.1:8443/cb")
	wantLocalPage(t, "RU-02 https loopback on another port", try(tlsLoop, "https://127.0.0.1:9443/cb", false), http.StatusBadRequest)

	two := e.newClient(public, "https://app.test/a", "https://app.test/b")
	wantLocalPage(t, "RU-07 two URIs, none given", try(two, "", true), http.StatusBadRequest)
	if r := try(web, "", true); r.Status != http.StatusOK {
		t.Errorf("RU-07 single URI, none given: want the consent page, got %s", r)
	}

	// AZ-01: unknown client, unregistered URI.
	unknown := url.Values{"response_type": {"code"}, "client_id": {"nope"}, "redirect_uri": {"https://evil.test"},
		"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
	wantLocalPage(t, "AZ-01 unknown client", e.get(b.c, "/authorize?"+unknown.Encode()), http.StatusBadRequest)
	wantLocalPage(t, "AZ-01 unregistered URI", try(web, "https://evil.test", false), http.StatusBadRequest)
	wantLocalPage(t, "AZ-01 no parameters", e.get(b.c, "/authorize"), http.StatusBadRequest)
	if e.gh.Contacted() {
		t.Errorf("GitHub was contacted: %+v", e.gh.Requests())
	}

	// RU-07/RU-09: a single-URI client that omits redirect_uri gets its
	// code there and may omit it at the token endpoint too.
	f := e.newBrowser().login(web, func(a *authReq) { a.Query.Del("redirect_uri") })
	if f.Final == nil || f.Final.Scheme+"://"+f.Final.Host+f.Final.Path != "https://app.test/cb" || f.Code == "" {
		t.Fatalf("RU-07: the code went to %v", f.Final)
	}
	r := e.call(web, "/token", url.Values{"grant_type": {"authorization_code"}, "code": {f.Code}, "code_verifier": {f.Req.Verifier}})
	wantStatus(t, "RU-09 token request without redirect_uri", r, http.StatusOK, "")
}

// TestAuthorizeEscapingAndHeaders_AZ02_AZ11_CD04 reflects hostile values
// into every page and checks they come back escaped, under a strict CSP,
// and that every page and browser redirect forbids caching, referrers and
// framing.
func TestAuthorizeEscapingAndHeaders_AZ02_AZ11_CD04(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	b := e.newBrowser()

	r := e.get(b.c, "/authorize?client_id="+url.QueryEscape("<svg/onload=alert(1)>")+"&redirect_uri=https://evil.test")
	wantLocalPage(t, "AZ-02 hostile client_id", r, http.StatusBadRequest)
	if strings.Contains(r.Body, "<svg") {
		t.Error("AZ-02: <svg reflected unescaped")
	}
	wantPageHeaders(t, "error page", r)

	m := clientMeta(basic)
	m["client_name"] = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	c := e.registerMeta(m)
	cf := b.openConsent(newAuthReq(c))
	if strings.Contains(cf.Page.Body, "<script>") || strings.Contains(cf.Page.Body, "<img") {
		t.Error("AZ-02: client_name markup reflected unescaped on the consent page")
	}
	if !strings.Contains(cf.Page.Body, "&lt;script&gt;") {
		t.Error("AZ-02: the escaped client_name is not shown")
	}
	wantPageHeaders(t, "consent page", cf.Page)

	for _, path := range []string{"/error?error=<script>alert(1)</script>", "/success?msg=<script>x</script>"} {
		if r := e.get(b.c, path); strings.Contains(r.Body, "<script>") {
			t.Errorf("AZ-02: %s reflected <script>: %s", path, r)
		}
	}

	// Headers on the consent redirect, the callback redirect, and error pages
	// of /consent and /callback.
	f := b.login(c, nil)
	for i, p := range f.Pages {
		wantPageHeaders(t, "flow step "+string(rune('1'+i)), p)
	}
	wantPageHeaders(t, "callback without state", e.get(b.c, "/callback?code=x"))
	wantPageHeaders(t, "consent without form", b.submit(&consentForm{}, "approve", nil))
}

func wantPageHeaders(t *testing.T, what string, r *response) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("AZ-11/CD-04 %s (%d): Cache-Control %q, Referrer-Policy %q, X-Frame-Options %q, CSP %q",
			what, r.Status, h.Get("Cache-Control"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"), csp)
	}
}

// TestAuthorizeRequestParameters_AZ07_AZ08_AZ09 covers response types,
// repeated parameters and state handling.
func TestAuthorizeRequestParameters_AZ07_AZ08_AZ09(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{SiteExtra: gatesFor("mcp.test", "other.test")})
	c := e.newClient(basic)
	b := e.newBrowser()

	for _, rt := range []string{"token", "code id_token", "", "id_token", "code token", "CODE"} {
		a := newAuthReq(c)
		a.Query.Set("response_type", rt)
		r := e.get(b.c, a.path())
		if r.Status == http.StatusOK || r.Status == http.StatusFound && !strings.Contains(r.Header.Get("Location"), "error=") {
			t.Errorf("AZ-07 response_type=%q: %s", rt, r)
		}
		if loc := r.Header.Get("Location"); strings.Contains(loc, "#") || strings.Contains(loc, "access_token") || strings.Contains(loc, "code=") {
			t.Errorf("AZ-07 response_type=%q leaked a token or code: %s", rt, loc)
		}
	}

	for _, name := range []string{"client_id", "redirect_uri", "state", "code_challenge", "response_type", "scope"} {
		a := newAuthReq(c)
		if a.Query.Get(name) == "" {
			a.Query.Set(name, "mcp")
		}
		a.Query.Add(name, a.Query.Get(name)+"x")
		r := e.get(b.c, a.path())
		wantLocalPage(t, "AZ-08 repeated "+name, r, http.StatusBadRequest)
		if !strings.Contains(r.Body, "invalid_request") {
			t.Errorf("AZ-08 repeated %s: page does not say invalid_request", name)
		}
	}
	a := newAuthReq(c)
	a.Query["resource"] = []string{"https://mcp.test/mcp", "https://mcp.test/mcp"}
	if r := e.get(b.c, a.path()); r.Status != http.StatusOK {
		t.Errorf("AZ-08 identical resource twice: want the consent page, got %s", r)
	}
	a.Query["resource"] = []string{"https://mcp.test/mcp", "https://other.test/mcp"}
	if r := e.get(b.c, a.path()); r.Status == http.StatusOK {
		t.Error("AZ-08 two different resources reached the consent page")
	}

	// AZ-09: a 1000-byte state with every awkward character comes back
	// byte for byte; an oversized one is refused before anything is stored.
	state := strings.Repeat("a&b=c+d%20e é/?#;", 60)[:1000]
	f := b.login(c, func(a *authReq) { a.Query.Set("state", state) })
	if f.State != state || len(f.Final.Query()["state"]) != 1 {
		t.Errorf("AZ-09: state came back as %q (%d values)", short(f.State), len(f.Final.Query()["state"]))
	}
	for _, n := range []int{1025, 100 << 10} {
		a := newAuthReq(c)
		a.Query.Set("state", strings.Repeat("s", n))
		// HTTP/1.1: Go's HTTP/2 client refuses to send such a header block
		// at all, and the point is what the server answers.
		r, err := e.try(e.http1(), mustGet(e.url(a.path())))
		if err != nil {
			t.Errorf("AZ-09 %d-byte state: %s", n, short(err.Error()))
			continue
		}
		if r.Status != 400 && r.Status != 414 && r.Status != 431 {
			t.Errorf("AZ-09 %d-byte state: got %d, want 400/414/431", n, r.Status)
		}
		if strings.Contains(r.Header.Get("Location"), "sss") {
			t.Errorf("AZ-09 %d-byte state was redirected", n)
		}
	}
	// Without state (PKCE present) the flow works and no state comes back.
	f = b.login(c, func(a *authReq) { a.Query.Del("state") })
	if f.Code == "" || f.Final.Query().Has("state") {
		t.Errorf("AZ-09 no state: %v", f.Final)
	}
}

func mustGet(u string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// TestErrorRedirectEncoding_AZ03_MD02: for a client this browser already
// approved, a protocol error goes back to the client by redirect, built
// with an encoder: state=a%26code%3DEVIL must arrive as one state
// "a&code=EVIL", with no code and exactly one iss equal to the issuer.
// Successful responses carry exactly one iss as well.
func TestErrorRedirectEncoding_AZ03_MD02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic, "https://app.test/cb?tenant=1")
	b := e.newBrowser()
	ok := b.approveOnce(c)
	wantOneIss(t, "MD-02 success", ok.Final, e.issuer)
	if ok.Final.Query().Get("tenant") != "1" {
		t.Errorf("the registered query was lost: %v", ok.Final)
	}

	// An error found after the scope is resolved (a bad resource) goes
	// back to the approved client.
	a := newAuthReq(c)
	a.Query.Set("resource", "mcp")
	r := e.get(b.c, a.path())
	if loc := r.location(t); r.Status != http.StatusFound || loc == nil || loc.Query().Get("error") != "invalid_target" {
		t.Errorf("AZ-03 invalid_target for an approved client: got %d %s", r.Status, textOf(r.Body))
	} else {
		wantOneIss(t, "MD-02 invalid_target", loc, e.issuer)
	}

	// The checklist's case: the error is found before the scope is.
	a = newAuthReq(c)
	a.Query.Set("state", "a&code=EVIL") // encoded as a%26code%3DEVIL
	a.Query.Set("response_type", "token")
	r = e.get(b.c, a.path())
	loc := r.location(t)
	if r.Status != http.StatusFound || loc == nil {
		t.Fatalf("AZ-03: an error for a client this browser approved must go back to its redirect URI with state and iss "+
			"(RFC 6749 §4.1.2.1), got a local %d page %q", r.Status, textOf(r.Body))
	}
	q := loc.Query()
	if loc.Host != "app.test" || q.Get("error") != "unsupported_response_type" {
		t.Errorf("AZ-03: redirect %v", loc)
	}
	if len(q["state"]) != 1 || q.Get("state") != "a&code=EVIL" || q.Has("code") || q.Get("tenant") != "1" {
		t.Errorf("AZ-03: state %q, code present %t, tenant %q in %v", q["state"], q.Has("code"), q.Get("tenant"), loc)
	}
	wantOneIss(t, "MD-02 error", loc, e.issuer)
}

func wantOneIss(t *testing.T, what string, u *url.URL, issuer string) {
	t.Helper()
	if u == nil {
		t.Errorf("%s: no redirect", what)
		return
	}
	if iss := u.Query()["iss"]; len(iss) != 1 || iss[0] != issuer {
		t.Errorf("%s: iss = %q, want exactly one %q", what, iss, issuer)
	}
}

var pageField = regexp.MustCompile(`id="error-(?:code|description)">(?:<code>)?([^<]*)`)

// textOf returns the error code and description an error page shows.
func textOf(page string) string {
	var parts []string
	for _, m := range pageField.FindAllStringSubmatch(page, -1) {
		parts = append(parts, html.UnescapeString(m[1]))
	}
	if parts == nil {
		return short(page)
	}
	return strings.Join(parts, ": ")
}

// TestUnapprovedClientErrorsStayLocal_AZ04: a fresh DCR client whose
// request is invalid gets a local page, never a redirect to its (possibly
// phishing) redirect URI.
func TestUnapprovedClientErrorsStayLocal_AZ04(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(public, "https://phish.test/cb")
	b := e.newBrowser()
	for name, mod := range map[string]func(url.Values){
		"code_challenge short":  func(q url.Values) { q.Set("code_challenge", "short") },
		"response_type=token":   func(q url.Values) { q.Set("response_type", "token") },
		"no code_challenge":     func(q url.Values) { q.Del("code_challenge") },
		"resource=javascript:x": func(q url.Values) { q.Set("resource", "javascript:x") },
		"prompt=none, bad pkce": func(q url.Values) { q.Set("prompt", "none"); q.Set("code_challenge_method", "plain") },
	} {
		a := newAuthReq(c)
		mod(a.Query)
		r := e.get(b.c, a.path())
		wantLocalPage(t, "AZ-04 "+name, r, http.StatusBadRequest)
	}
	if e.gh.Contacted() {
		t.Error("GitHub was contacted")
	}
}

// TestRedirectStatuses_AZ06 walks the success, deny, remembered-consent and
// GitHub-cancel paths without following redirects: every redirect Caddy
// sends is 302 or 303, never 307/308.
func TestRedirectStatuses_AZ06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	b := e.newBrowser()
	var statuses []int
	f := b.login(c, nil)
	statuses = append(statuses, f.Redirect...)
	f = b.login(c, nil) // remembered consent: /authorize redirects at once
	statuses = append(statuses, f.Redirect...)
	e.gh.CancelNextLogin()
	f = b.login(c, nil)
	statuses = append(statuses, f.Redirect...)
	deny := e.newBrowser()
	r := deny.submit(deny.openConsent(newAuthReq(c)), "deny", nil)
	statuses = append(statuses, r.Status)
	if len(statuses) < 7 {
		t.Fatalf("only %d redirects seen: %v", len(statuses), statuses)
	}
	for _, s := range statuses {
		if s != http.StatusFound && s != http.StatusSeeOther {
			t.Errorf("AZ-06: redirect status %d in %v", s, statuses)
		}
	}
	// RFC 9700 §4.12: after the consent POST the redirect must be 303.
	if r.Status != http.StatusSeeOther {
		t.Errorf("AZ-06: deny answered %d, want 303", r.Status)
	}
}
