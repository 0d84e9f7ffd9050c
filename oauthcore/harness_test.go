package oauthcore_test

// The harness: one authorization server over an in-memory store
// (internal/memstore), with a settable clock and a fake GitHub
// (internal/fakegithub, on an httptest server) reached through the real
// GitHub client, so github.go is exercised too. Every request to the
// server goes through httptest.NewRecorder and Server.ServeHTTP; only the
// GitHub leg crosses a (loopback httptest) socket. Nothing sleeps: expiry
// is tested by advancing the clock.
//
//	h := newHarness(t)                  // or newHarness(t, func(o *harnessOptions) { o.Config.CodeLifetime = time.Second })
//	c := h.newClient(authBasic)         // POST /register
//	b := h.newBrowser()                 // one cookie jar
//	f := b.login(c, nil)                // /authorize, consent, GitHub, /callback: f.Code
//	tok := h.exchange(c, f)             // POST /token, authorization_code
//	next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
//	h.clock.Advance(time.Hour)          // the server's (and the store's) time moves
//
// In a subtest, rebind first: h := h.sub(t).
//
// Only oauthcore's exported API is used, so the tests survive changes to
// the package's internals.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/memstore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// asIssuer is the harness server's issuer (unless a test sets another).
// It is https, so the server sets __Host- cookies, as in production. Every
// request the harness builds is for a URL on it.
const asIssuer = "https://auth.example.com"

// Token endpoint authentication methods, as clients register them.
const (
	authBasic  = oauthcore.AuthBasic
	authPost   = oauthcore.AuthPost
	authPublic = oauthcore.AuthNone
)

// harnessOptions adjust a harness before its server is built.
type harnessOptions struct {
	// Config is the server's configuration. The harness presets Issuer,
	// the GitHub app credentials and base URLs (those of the fake) and
	// AllowedUsers ("alice" and the id 4242, which is bob); a field a test
	// sets stays as set.
	Config oauthcore.Config
	// GitHub configures the fake GitHub; CallbackURL is the harness's.
	GitHub fakegithub.Options
	// WrapStore, when set, puts a wrapper between the server and the
	// memstore (e.g. one that fails on demand).
	WrapStore func(oauthcore.Store) oauthcore.Store
	// FrozenClock stops the clock: it then moves only by Advance. By
	// default it runs with real time, shifted by what Advance added.
	FrozenClock bool
}

// harness is one server with its store, clock and fake GitHub, bound to
// the test its helpers fail. A subtest must use its own binding, h.sub(t)
// (failing a parent test from a subtest's goroutine panics); every binding
// shares the same server, store, clock and GitHub.
type harness struct {
	t testing.TB
	*harnessState
}

type harnessState struct {
	Server *oauthcore.Server
	// Store is the memstore under the server (unwrapped).
	Store *memstore.Store
	// store is what the server was given (Store, or its wrapper).
	store oauthcore.Store
	cfg   oauthcore.Config // as given to NewServer (before defaults)
	clock *testClock
	gh    *fakegithub.Server
	log   *syncBuffer
}

// sub is the harness bound to subtest t.
func (h *harness) sub(t testing.TB) *harness { return &harness{t: t, harnessState: h.harnessState} }

// newHarness builds and syncs a server; everything is cleaned up with t.
func newHarness(t testing.TB, opts ...func(*harnessOptions)) *harness {
	t.Helper()
	var o harnessOptions
	for _, fn := range opts {
		fn(&o)
	}
	cfg := o.Config
	setDefault(&cfg.Issuer, asIssuer)
	o.GitHub.CallbackURL = cfg.Issuer + "/callback"
	gh := fakegithub.Start(t, o.GitHub)
	setDefault(&cfg.GitHub.ClientID, gh.ClientID())
	setDefault(&cfg.GitHub.ClientSecret, gh.ClientSecret())
	setDefault(&cfg.GitHub.WebURL, gh.URL)
	setDefault(&cfg.GitHub.APIURL, gh.URL)
	if cfg.GitHub.AllowedUsers == nil {
		cfg.GitHub.AllowedUsers = []string{"alice", "4242"}
	}
	clk := &testClock{frozen: o.FrozenClock, base: time.Now()}
	h := &harness{t: t, harnessState: &harnessState{Store: memstore.New(clk.Now), cfg: cfg, clock: clk, gh: gh, log: &syncBuffer{}}}
	h.store = h.Store
	if o.WrapStore != nil {
		h.store = o.WrapStore(h.Store)
	}
	h.Server = h.build(cfg)
	return h
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func (h *harness) build(cfg oauthcore.Config) *oauthcore.Server {
	h.t.Helper()
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := oauthcore.NewServer(cfg, h.store, oauthcore.Options{Now: h.clock.Now, Logger: logger})
	if err != nil {
		h.t.Fatalf("NewServer: %v", err)
	}
	h.t.Cleanup(s.Close)
	if err := s.Sync(h.t.Context()); err != nil {
		h.t.Fatalf("Sync: %v", err)
	}
	return s
}

// restart replaces the server with a new one over the same store, clock
// and GitHub, its config changed by mutate (a config reload: the
// allow-list, lifetimes...). Cookies, clients and grants survive.
func (h *harness) restart(mutate func(*oauthcore.Config)) {
	h.t.Helper()
	h.Server.Close()
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.Server = h.build(h.cfg)
}

// logs returns everything the server logged so far (debug level).
func (h *harness) logs() string { return h.log.String() }

// testClock is the clock of the server and the store: real time (or a
// fixed instant when frozen) plus what Advance added.
type testClock struct {
	mu     sync.Mutex
	frozen bool
	base   time.Time
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.base.Add(c.offset)
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// reply is a response as the tests read it.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

func (r *reply) String() string {
	body := r.Body
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%d Location=%q %s", r.Status, r.Header.Get("Location"), body)
}

// location is the parsed Location header, nil when there is none.
func (r *reply) location() *url.URL {
	loc := r.Header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

// json decodes a JSON body, failing the test if it is not an object.
func (r *reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("want a JSON object, got %s", r)
	}
	return m
}

var pageCode = regexp.MustCompile(`id="error-code"><code>([^<]*)</code>`)

// oauthError is the RFC 6749 error code of a JSON error or an error page.
func (r *reply) oauthError() string {
	var m struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(r.Body), &m) == nil && m.Error != "" {
		return m.Error
	}
	if sm := pageCode.FindStringSubmatch(r.Body); sm != nil {
		return html.UnescapeString(sm[1])
	}
	return ""
}

// serve runs one request through the server.
func (h *harness) serve(req *http.Request) *reply {
	w := httptest.NewRecorder()
	h.Server.ServeHTTP(w, req)
	return &reply{Status: w.Code, Header: w.Result().Header, Body: w.Body.String()}
}

// request builds a request to path on the issuer; a url.Values body is
// sent form-encoded, anything else as JSON.
func request(method, path string, body any) *http.Request {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req := httptest.NewRequest(method, asIssuer+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

// testClient is a registered client with its credentials.
type testClient struct {
	ID, Secret, RAT, Method string
	RedirectURIs            []string
	Resp                    map[string]any
}

// clientMeta is an MCP-shaped registration (default redirect
// https://app.test/cb); method "" leaves the server's default (basic).
func clientMeta(method string, redirects ...string) map[string]any {
	if len(redirects) == 0 {
		redirects = []string{"https://app.test/cb"}
	}
	m := map[string]any{"redirect_uris": redirects, "client_name": "Test App"}
	if method != "" {
		m["token_endpoint_auth_method"] = method
	}
	return m
}

// register posts a registration and returns the answer.
func (h *harness) register(meta any) *reply {
	return h.serve(request(http.MethodPost, "/register", meta))
}

// newClient registers a client with method and redirect URIs, failing the
// test unless it is created.
func (h *harness) newClient(method string, redirects ...string) *testClient {
	h.t.Helper()
	return h.registerMeta(clientMeta(method, redirects...))
}

// registerMeta registers meta, failing the test unless it is created.
func (h *harness) registerMeta(meta map[string]any) *testClient {
	h.t.Helper()
	r := h.register(meta)
	if r.Status != http.StatusCreated {
		h.t.Fatalf("register %v: %s", meta, r)
	}
	m := r.json(h.t)
	c := &testClient{Resp: m}
	c.ID, _ = m["client_id"].(string)
	c.Secret, _ = m["client_secret"].(string)
	c.RAT, _ = m["registration_access_token"].(string)
	c.Method, _ = m["token_endpoint_auth_method"].(string)
	for _, u := range m["redirect_uris"].([]any) {
		c.RedirectURIs = append(c.RedirectURIs, u.(string))
	}
	return c
}

// manage sends an RFC 7592 request for c with its registration access
// token; body nil sends none.
func (h *harness) manage(method string, c *testClient, body any) *reply {
	req := request(method, "/register/"+c.ID, body)
	req.Header.Set("Authorization", "Bearer "+c.RAT)
	return h.serve(req)
}

// updateClient replaces c's redirect URIs (RFC 7592 PUT), failing the test
// unless it succeeds; c's RAT is replaced by the rotated one.
func (h *harness) updateClient(c *testClient, redirects ...string) {
	h.t.Helper()
	r := h.manage(http.MethodPut, c, map[string]any{"client_id": c.ID, "redirect_uris": redirects,
		"client_name": "Test App", "token_endpoint_auth_method": c.Method})
	if r.Status != http.StatusOK {
		h.t.Fatalf("update client: %s", r)
	}
	c.RAT, _ = r.json(h.t)["registration_access_token"].(string)
	c.RedirectURIs = redirects
}

// deleteClient deletes c (RFC 7592 DELETE), failing the test unless 204.
func (h *harness) deleteClient(c *testClient) {
	h.t.Helper()
	if r := h.manage(http.MethodDelete, c, nil); r.Status != http.StatusNoContent {
		h.t.Fatalf("delete client: %s", r)
	}
}

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

// clientRequest is a POST of form to path authenticated the way c
// registered: Basic (both parts form-encoded, RFC 6749 §2.3.1), the body,
// or client_id alone for public clients.
func (h *harness) clientRequest(c *testClient, path string, form url.Values) *http.Request {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	switch c.Method {
	case authPost:
		f.Set("client_id", c.ID)
		f.Set("client_secret", c.Secret)
	case authPublic:
		f.Set("client_id", c.ID)
	}
	req := request(http.MethodPost, path, f)
	if c.Method == authBasic {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	return req
}

// call posts form to path as client c.
func (h *harness) call(c *testClient, path string, form url.Values) *reply {
	return h.serve(h.clientRequest(c, path, form))
}

// tokenWith posts form to /token with a raw Authorization header ("" for
// none): for client-authentication tests.
func (h *harness) tokenWith(form url.Values, authorization string) *reply {
	req := request(http.MethodPost, "/token", form)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.serve(req)
}

// codeForm is the authorization_code grant for f, without client
// authentication.
func codeForm(f *flowResult) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {f.Code},
		"redirect_uri": {f.Req.Query.Get("redirect_uri")}, "code_verifier": {f.Req.Verifier}}
}

// redeem posts the authorization_code grant for f as c; extra replaces
// parameters (an empty value list deletes one).
func (h *harness) redeem(c *testClient, f *flowResult, extra url.Values) *reply {
	form := codeForm(f)
	for k, v := range extra {
		if len(v) == 0 {
			form.Del(k)
			continue
		}
		form[k] = v
	}
	return h.call(c, "/token", form)
}

// tokenSet is a successful token response.
type tokenSet struct {
	Access, Refresh, Scope, Type string
	ExpiresIn                    float64
	Resp                         *reply
}

// parseTokens reads a token response, failing the test unless it is 200
// with an access token.
func (h *harness) parseTokens(r *reply) tokenSet {
	h.t.Helper()
	if r.Status != http.StatusOK {
		h.t.Fatalf("token request: %s", r)
	}
	m := r.json(h.t)
	ts := tokenSet{Resp: r}
	ts.Access, _ = m["access_token"].(string)
	ts.Refresh, _ = m["refresh_token"].(string)
	ts.Scope, _ = m["scope"].(string)
	ts.Type, _ = m["token_type"].(string)
	ts.ExpiresIn, _ = m["expires_in"].(float64)
	if ts.Access == "" {
		h.t.Fatalf("token response without access_token: %s", r.Body)
	}
	return ts
}

// exchange redeems f's code as c, failing the test unless tokens come back.
func (h *harness) exchange(c *testClient, f *flowResult) tokenSet {
	h.t.Helper()
	return h.parseTokens(h.redeem(c, f, nil))
}

// refresh posts the refresh_token grant as c with extra parameters.
func (h *harness) refresh(c *testClient, rt string, extra url.Values) *reply {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return h.call(c, "/token", form)
}

// fullFlow runs a fresh browser through the flow for c and redeems the code.
func (h *harness) fullFlow(c *testClient) (*flowResult, tokenSet) {
	h.t.Helper()
	f := h.newBrowser().mustLogin(c, nil)
	return f, h.exchange(c, f)
}

// verify checks an access token as the gate does (signature, claims,
// revocation), through the server's shared verifier.
func (h *harness) verify(at string) (*oauthcore.Claims, error) {
	return h.Server.Verifier().Verify(h.t.Context(), at)
}

// valid reports whether the gate would accept the access token.
func (h *harness) valid(at string) bool {
	_, err := h.verify(at)
	return err == nil
}

// wantOAuthError checks a JSON error response of the token-style endpoints:
// status, RFC 6749 error code, and no caching (RFC 6749 §5.1).
func wantOAuthError(t testing.TB, what string, r *reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.oauthError() != code {
		t.Errorf("%s: got %s, want %d %s", what, r, status, code)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Content-Type %q Cache-Control %q, want JSON and no-store", what,
			r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
}

// wantLocalPage checks an error shown on our own HTML page, never
// redirected (AZ-01, AZ-04), with code as its error code when non-empty.
func wantLocalPage(t testing.TB, what string, r *reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: got %s, want a local %d page without Location", what, r, status)
		return
	}
	if code != "" && r.oauthError() != code {
		t.Errorf("%s: the page says %q, want %q", what, r.oauthError(), code)
	}
}

// wantRedirectError checks an error sent back to the client's redirect
// URI (RFC 6749 §4.1.2.1) with the request's state and exactly one iss
// (RFC 9207), and no code; it returns the redirect.
func wantRedirectError(t testing.TB, what string, r *reply, status int, code string, a *authRequest) *url.URL {
	t.Helper()
	loc := r.location()
	if r.Status != status || loc == nil {
		t.Errorf("%s: got %s, want a %d redirect with error=%s", what, r, status, code)
		return nil
	}
	q := loc.Query()
	redirect, _ := url.Parse(a.Query.Get("redirect_uri"))
	if redirect != nil && a.Query.Get("redirect_uri") != "" && (loc.Scheme != redirect.Scheme || loc.Host != redirect.Host || loc.Path != redirect.Path) {
		t.Errorf("%s: redirected to %v, not to the client's %v", what, loc, redirect)
	}
	if q.Get("error") != code || q.Has("code") || q.Get("error_description") == "" {
		t.Errorf("%s: redirect %v, want error=%s with a description and no code", what, loc, code)
	}
	if st := a.Query.Get("state"); len(q["state"]) != boolInt(st != "") || q.Get("state") != st {
		t.Errorf("%s: state %q, want %q once", what, q["state"], st)
	}
	if iss := q["iss"]; len(iss) != 1 || iss[0] != asIssuer {
		t.Errorf("%s: iss %q, want exactly one %q", what, iss, asIssuer)
	}
	return loc
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestHarnessFullFlow drives the whole flow once through the harness, as a
// check of the harness itself: consent, GitHub, code, tokens, refresh.
func TestHarnessFullFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, method := range []string{authBasic, authPost, authPublic} {
		t.Run(method, func(t *testing.T) {
			h := h.sub(t)
			c := h.newClient(method)
			f, tok := h.fullFlow(c)
			if f.Iss != asIssuer || f.State != f.Req.Query.Get("state") {
				t.Errorf("iss %q state %q", f.Iss, f.State)
			}
			claims, err := h.verify(tok.Access)
			if err != nil || claims.ClientID != c.ID || claims.Subject != "1001" || claims.Username != "alice" {
				t.Fatalf("access token: %+v %v", claims, err)
			}
			next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
			if next.Refresh == "" || next.Refresh == tok.Refresh {
				t.Errorf("refresh did not rotate")
			}
		})
	}
	if n := h.gh.Count("/login/oauth/access_token"); n != 3 {
		t.Errorf("GitHub's token endpoint saw %d exchanges, want 3", n)
	}
}
