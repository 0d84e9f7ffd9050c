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
// Store outages: newHarness(t, withFaults(&fs)), then fs.fail("Method").
// Files: harness_test.go (server, clock, replies, assertions),
// harness_browser_test.go (cookie jar, consent, GitHub, login),
// harness_client_test.go (registration, token calls), faults_test.go,
// harness_documents_test.go (a client metadata document server).
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
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
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
	// ClientIDMetadata adjusts the document resolver's configuration
	// (Options.ClientIDMetadata); withDocuments sets it.
	ClientIDMetadata func(*cimd.Config)
	// FrozenClock stops the clock: it then moves only by Advance. By
	// default it runs with real time, shifted by what Advance added.
	FrozenClock bool
	// DiscardLogs drops the server's log instead of keeping it for logs():
	// for fuzzing, which would otherwise keep every line of a long run.
	DiscardLogs bool
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
	cimd  func(*cimd.Config)
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
	h := &harness{t: t, harnessState: &harnessState{Store: memstore.New(clk.Now), cfg: cfg, cimd: o.ClientIDMetadata,
		clock: clk, gh: gh, log: &syncBuffer{discard: o.DiscardLogs}}}
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
	s, err := oauthcore.NewServer(cfg, h.store, oauthcore.Options{Now: h.clock.Now, Logger: logger, ClientIDMetadata: h.cimd})
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
	mu      sync.Mutex
	buf     bytes.Buffer
	discard bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.discard {
		return len(p), nil
	}
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
