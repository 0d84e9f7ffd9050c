package oauthcore_test

// The harness's browser: a cookie jar driving /authorize, the consent
// page, the fake GitHub and /callback (see harness_test.go).

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// authRequest is an authorization request a client builds.
type authRequest struct {
	Verifier string
	Query    url.Values
}

// newAuthRequest is a correct request for c: the code flow, PKCE S256, a
// random state and c's first redirect URI.
func newAuthRequest(c *testClient) *authRequest {
	v := oauth2.GenerateVerifier()
	return &authRequest{Verifier: v, Query: url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {c.RedirectURIs[0]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(v)},
		"code_challenge_method": {"S256"},
		"state":                 {oauth2.GenerateVerifier()[:22]},
	}}
}

// path is the /authorize path with the query (edit Query to mangle it).
func (a *authRequest) path() string { return "/authorize?" + a.Query.Encode() }

// browser is one user agent: a cookie jar for the issuer.
type browser struct {
	h   *harness
	jar *cookiejar.Jar
}

func (h *harness) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &browser{h: h, jar: jar}
}

var issuerURL, _ = url.Parse(asIssuer)

// do sends req to the server with this browser's cookies and keeps the
// cookies the response sets.
func (b *browser) do(req *http.Request) *reply {
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	r := b.h.serve(req)
	b.jar.SetCookies(req.URL, (&http.Response{Header: r.Header}).Cookies())
	return r
}

// get is a GET of path (with query) on the issuer.
func (b *browser) get(path string) *reply { return b.do(request(http.MethodGet, path, nil)) }

// cookies are this browser's cookies for the issuer.
func (b *browser) cookies() []*http.Cookie { return b.jar.Cookies(issuerURL) }

// cookie is the value of the named cookie ("" if unset).
func (b *browser) cookie(name string) string {
	for _, c := range b.cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie replaces (or, with value "", deletes) a cookie in the jar.
func (b *browser) setCookie(name, value string) {
	maxAge := 0
	if value == "" {
		maxAge = -1
	}
	b.jar.SetCookies(issuerURL, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, MaxAge: maxAge}})
}

// Cookie names with an https issuer.
const (
	browserCookie = "__Host-mcpoauth_browser"
	csrfCookie    = "__Host-mcpoauth_csrf"
)

// consentForm is the consent page and its hidden fields.
type consentForm struct {
	Page *reply
	Flow string
	CSRF string
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(flow|csrf)" value="([^"]*)">`)

// parseConsent extracts the consent form from a page, or fails the test.
func parseConsent(t testing.TB, r *reply) *consentForm {
	t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		t.Fatalf("want the consent page, got %s", r)
	}
	cf := &consentForm{Page: r}
	for _, m := range hiddenInput.FindAllStringSubmatch(r.Body, -1) {
		if m[1] == "flow" {
			cf.Flow = html.UnescapeString(m[2])
		} else {
			cf.CSRF = html.UnescapeString(m[2])
		}
	}
	if cf.Flow == "" || cf.CSRF == "" {
		t.Fatalf("consent page without flow or csrf inputs:\n%s", r.Body)
	}
	return cf
}

// openConsent GETs /authorize for a and expects the consent page.
func (b *browser) openConsent(a *authRequest) *consentForm {
	b.h.t.Helper()
	return parseConsent(b.h.t, b.get(a.path()))
}

// submit posts the consent form as Chromium does (our pages send no
// referrer, so the same-origin POST says Origin: null and Sec-Fetch-Site:
// same-origin); mod may change the request first.
func (b *browser) submit(cf *consentForm, action string, mod func(*http.Request)) *reply {
	req := request(http.MethodPost, "/consent", url.Values{"flow": {cf.Flow}, "csrf": {cf.CSRF}, "action": {action}})
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if mod != nil {
		mod(req)
	}
	return b.do(req)
}

// githubClient talks to the fake GitHub and never follows redirects.
var githubClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// github follows the server's redirect to the fake GitHub's authorize page
// and returns where GitHub sends the browser back (our /callback).
func (b *browser) github(authorizeURL *url.URL) *url.URL {
	b.h.t.Helper()
	if authorizeURL == nil || !strings.HasPrefix(authorizeURL.String(), b.h.gh.URL+"/login/oauth/authorize?") {
		b.h.t.Fatalf("want a redirect to GitHub's authorize URL, got %v", authorizeURL)
	}
	resp, err := githubClient.Get(authorizeURL.String())
	if err != nil {
		b.h.t.Fatalf("fake GitHub: %v", err)
	}
	_ = resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(cb.String(), b.h.cfg.Issuer+"/callback?") {
		b.h.t.Fatalf("fake GitHub did not send the browser to /callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return cb
}

// callback GETs a /callback URL (as GitHub redirected to it).
func (b *browser) callback(u *url.URL) *reply { return b.get(u.RequestURI()) }

// flowResult is one pass of a browser through the authorization flow.
type flowResult struct {
	Req      *authRequest
	Pages    []*reply // every response of the server, in order
	GitHub   *url.URL // the GitHub authorize URL the server redirected to
	Callback *url.URL // where GitHub sent the browser back
	Final    *url.URL // where the server finally sent the browser (the client)
	Code     string
	State    string
	Iss      string
}

// login runs the browser leg for c: /authorize, consent (approved) when
// asked, GitHub, /callback. mod may change the request first. It fails
// the test unless the flow ends in a redirect to the client (with a code
// or with an error).
func (b *browser) login(c *testClient, mod func(*authRequest)) *flowResult {
	b.h.t.Helper()
	a := newAuthRequest(c)
	if mod != nil {
		mod(a)
	}
	f := &flowResult{Req: a}
	r := b.get(a.path())
	f.Pages = append(f.Pages, r)
	if r.Status == http.StatusOK {
		r = b.submit(parseConsent(b.h.t, r), "approve", nil)
		f.Pages = append(f.Pages, r)
	}
	f.GitHub = r.location()
	f.Callback = b.github(f.GitHub)
	r = b.callback(f.Callback)
	f.Pages = append(f.Pages, r)
	if f.Final = r.location(); f.Final == nil {
		b.h.t.Fatalf("the callback did not redirect to the client: %s", r)
	}
	q := f.Final.Query()
	f.Code, f.State, f.Iss = q.Get("code"), q.Get("state"), q.Get("iss")
	return f
}

// mustLogin is login that fails the test unless a code came back.
func (b *browser) mustLogin(c *testClient, mod func(*authRequest)) *flowResult {
	b.h.t.Helper()
	f := b.login(c, mod)
	if f.Code == "" {
		b.h.t.Fatalf("the flow ended without a code: %v", f.Final)
	}
	return f
}
