package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
)

// browser is a user agent with its own cookie jar.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, c: e.client(jar), jar: jar}
}

// authReq is an authorization request a client builds.
type authReq struct {
	Verifier string
	Query    url.Values
}

// newAuthReq is a correct request for c: code flow, PKCE S256, a random
// state and c's first redirect URI.
func newAuthReq(c *regClient) *authReq {
	v := oauth2.GenerateVerifier()
	return &authReq{Verifier: v, Query: url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {c.RedirectURIs[0]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(v)},
		"code_challenge_method": {"S256"},
		"state":                 {randomState()},
	}}
}

func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// path is the /authorize URL path and query (raw, so tests can repeat or
// mangle parameters by editing Query).
func (a *authReq) path() string { return "/authorize?" + a.Query.Encode() }

// consentForm is the consent page and its hidden fields.
type consentForm struct {
	Page *response
	Flow string
	CSRF string
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(flow|csrf)" value="([^"]*)">`)

// parseConsent extracts the hidden inputs, or fails the test.
func (b *browser) parseConsent(r *response) *consentForm {
	b.e.t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		b.e.t.Fatalf("want the consent page, got %s", r)
	}
	cf := &consentForm{Page: r}
	for _, m := range hiddenInput.FindAllStringSubmatch(r.Body, -1) {
		v := html.UnescapeString(m[2])
		if m[1] == "flow" {
			cf.Flow = v
		} else {
			cf.CSRF = v
		}
	}
	if cf.Flow == "" || cf.CSRF == "" {
		b.e.t.Fatalf("consent page without flow or csrf inputs:\n%s", r.Body)
	}
	return cf
}

// openConsent GETs /authorize and expects the consent page.
func (b *browser) openConsent(a *authReq) *consentForm {
	b.e.t.Helper()
	return b.parseConsent(b.e.get(b.c, a.path()))
}

// submit posts the consent form as Chromium does: our pages send no
// referrer, so the same-origin POST says "Origin: null" and
// "Sec-Fetch-Site: same-origin".
func (b *browser) submit(cf *consentForm, action string, mod func(*http.Request)) *response {
	b.e.t.Helper()
	form := url.Values{"flow": {cf.Flow}, "csrf": {cf.CSRF}, "action": {action}}
	req := formRequest(b.e.url("/consent"), form)
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if mod != nil {
		mod(req)
	}
	return b.e.do(b.c, req)
}

// flow is one pass through the browser leg.
type flow struct {
	Req      *authReq
	Code     string
	State    string
	Iss      string
	Final    *url.URL    // where Caddy finally sent the browser
	Redirect []int       // every redirect status Caddy used
	Pages    []*response // every response from Caddy, in order
	GitHub   *url.URL    // the GitHub authorize URL
}

func (f *flow) add(r *response) {
	f.Pages = append(f.Pages, r)
	if r.Status >= 300 && r.Status < 400 {
		f.Redirect = append(f.Redirect, r.Status)
	}
}

// login runs the browser leg: /authorize, consent if asked, GitHub, and
// the callback, returning where Caddy finally redirects. mod may change
// the request first.
func (b *browser) login(c *regClient, mod func(*authReq)) *flow {
	b.e.t.Helper()
	a := newAuthReq(c)
	if mod != nil {
		mod(a)
	}
	f := &flow{Req: a}
	b.run(f, a.path())
	return f
}

// run drives the browser from an authorization URL to the client.
func (b *browser) run(f *flow, authURL string) {
	b.e.t.Helper()
	r := b.e.get(b.c, authURL)
	f.add(r)
	if r.Status == http.StatusOK {
		r = b.submit(b.parseConsent(r), "approve", nil)
		f.add(r)
	}
	f.GitHub = r.location(b.e.t)
	if f.GitHub == nil || !strings.HasPrefix(f.GitHub.String(), b.e.gh.URL+"/login/oauth/authorize?") {
		b.e.t.Fatalf("want a redirect to GitHub, got %s", r)
	}
	b.finish(f)
}

// finish follows the GitHub leg and the callback, filling f.
func (b *browser) finish(f *flow) {
	b.e.t.Helper()
	gh := b.e.get(b.c, f.GitHub.String())
	cb := gh.location(b.e.t)
	if gh.Status != http.StatusFound || cb == nil || !strings.HasPrefix(cb.String(), b.e.issuer+"/callback?") {
		b.e.t.Fatalf("fake GitHub did not send the browser to /callback: %s", gh)
	}
	r := b.e.get(b.c, cb.String())
	f.add(r)
	f.Final = r.location(b.e.t)
	if f.Final == nil {
		b.e.t.Fatalf("callback did not redirect to the client: %s", r)
	}
	q := f.Final.Query()
	f.Code, f.State, f.Iss = q.Get("code"), q.Get("state"), q.Get("iss")
	b.e.remember(f.Code)
}

// approveOnce makes this browser approve c once, so later requests for
// it skip consent.
func (b *browser) approveOnce(c *regClient) *flow {
	b.e.t.Helper()
	f := b.login(c, nil)
	if f.Code == "" {
		b.e.t.Fatalf("approval flow got no code: %s", f.Final)
	}
	return f
}

// cookies returns this browser's cookies for the issuer.
func (b *browser) cookies() []*http.Cookie {
	u, _ := url.Parse(b.e.issuer)
	return b.jar.Cookies(u)
}
