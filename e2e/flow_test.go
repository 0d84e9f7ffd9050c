package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
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

// parseConsent extracts the hidden inputs, or fails the test.
func (b *browser) parseConsent(r *response) *consentForm {
	b.e.t.Helper()
	c, err := login.ParseConsent((*login.Reply)(r))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return &consentForm{Page: r, Flow: c.Flow, CSRF: c.CSRF}
}

// openConsent GETs /authorize and expects the consent page.
func (b *browser) openConsent(a *authReq) *consentForm {
	b.e.t.Helper()
	return b.parseConsent(b.e.get(b.c, a.path()))
}

// submit posts the consent form as Chromium does (login.ConsentRequest).
func (b *browser) submit(cf *consentForm, action string, mod func(*http.Request)) *response {
	b.e.t.Helper()
	req := login.ConsentRequest(b.e.issuer, login.Consent{Flow: cf.Flow, CSRF: cf.CSRF}, action)
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
	leg, err := b.leg(f).Authorize(authURL)
	if leg != nil {
		f.GitHub = leg.GitHub
	}
	b.fill(f, leg, err)
}

// finish follows the GitHub leg and the callback, filling f.
func (b *browser) finish(f *flow) {
	b.e.t.Helper()
	leg := &login.Leg{GitHub: f.GitHub}
	if f.GitHub == nil {
		b.e.t.Fatal("no redirect to GitHub to follow")
	}
	b.fill(f, leg, b.leg(f).Finish(leg))
}

// leg is a login.Browser on this browser's client that records Caddy's
// responses in f.
func (b *browser) leg(f *flow) *login.Browser {
	return &login.Browser{Client: b.c, Issuer: b.e.issuer, GitHub: b.e.gh.URL,
		Seen: func(r *login.Reply) { f.add((*response)(r)) }}
}

func (b *browser) fill(f *flow, leg *login.Leg, err error) {
	b.e.t.Helper()
	if err != nil {
		b.e.t.Fatal(err)
	}
	f.Final, f.Code, f.State, f.Iss = leg.Final, leg.Code, leg.State, leg.Iss
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
