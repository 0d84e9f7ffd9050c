package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
)

// env is one test's world: a fake GitHub, a Caddy using it, and clients
// that talk to Caddy without following redirects.
type env struct {
	t      *testing.T
	gh     *fakegithub.Server
	caddy  *caddyProc
	issuer string
	tr     *http.Transport
	api    *http.Client // no cookies

	mu         sync.Mutex
	transcript []string // every response Caddy sent
	secrets    []string // every credential Caddy issued
}

// newEnv starts a fake GitHub and a Caddy configured to use it.
func newEnv(t *testing.T, cfg caddyConfig) *env {
	t.Helper()
	gh := fakegithub.Start(t, cfg.GitHub)
	e := &env{t: t, gh: gh}
	e.caddy = startCaddy(t, cfg, gh.URL, func(issuer string) { gh.SetCallbackURL(issuer + "/callback") })
	e.issuer = e.caddy.issuer
	e.tr = &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // test only: tls internal
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}
	t.Cleanup(e.tr.CloseIdleConnections)
	e.api = e.client(nil)
	return e
}

// client returns an HTTP client that never follows redirects and records
// what Caddy answers.
func (e *env) client(jar http.CookieJar) *http.Client {
	return &http.Client{Transport: recorder{e}, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// http1 returns a client like e.api that speaks HTTP/1.1 only.
func (e *env) http1() *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // test only
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type recorder struct{ e *env }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.e.tr.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.String(), r.e.issuer) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var dump bytes.Buffer
	_ = resp.Header.Write(&dump)
	r.e.mu.Lock()
	r.e.transcript = append(r.e.transcript, dump.String()+"\n"+string(body))
	r.e.mu.Unlock()
	return resp, nil
}

// remember adds issued credentials to the list the log tests grep for.
func (e *env) remember(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			e.secrets = append(e.secrets, s)
		}
	}
}

func (e *env) issuedSecrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.secrets...)
}

func (e *env) transcriptText() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.transcript, "\n")
}

// response is a fully read HTTP response: a login.Reply with the tests'
// methods.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// try sends req; safe to call from goroutines.
func (e *env) try(c *http.Client, req *http.Request) (*response, error) {
	r, err := login.Send(c, req)
	return (*response)(r), err
}

func (e *env) do(c *http.Client, req *http.Request) *response {
	e.t.Helper()
	r, err := e.try(c, req)
	if err != nil {
		e.t.Fatalf("%s %s: %s", req.Method, short(req.URL.String()), short(err.Error()))
	}
	return r
}

// url makes path absolute on the issuer.
func (e *env) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return e.issuer + path
}

func (e *env) get(c *http.Client, path string) *response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url(path), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(c, req)
}

func formRequest(target string, form url.Values) *http.Request {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// jsonRequest builds a request with a JSON body (raw when body is a string).
func (e *env) jsonRequest(method, path string, body any, bearer string) *http.Request {
	e.t.Helper()
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.url(path), bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req
}

// json decodes an object body, failing the test if it is not one.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// oauthError returns the "error" member of a JSON body, or "".
func (r *response) oauthError() string {
	var m struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(r.Body), &m)
	return m.Error
}

// location parses the Location header (nil when absent).
func (r *response) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

func (r *response) String() string {
	return http.StatusText(r.Status) + " " + r.Header.Get("Location") + "\n" + tail(r.Body, 2000)
}

// wantStatus fails unless r has the status (and, for JSON errors, code).
func wantStatus(t *testing.T, what string, r *response, status int, errCode string) {
	t.Helper()
	if r.Status != status || (errCode != "" && r.oauthError() != errCode) {
		t.Errorf("%s: got %d %s, want %d %s\n%s", what, r.Status, r.oauthError(), status, errCode, tail(r.Body, 600))
	}
}

// wantLocalPage checks an error shown locally: an HTML page, no redirect.
func wantLocalPage(t *testing.T, what string, r *response, status int) {
	t.Helper()
	if r.Status != status || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: got %d %q Location %q, want a local %d HTML page without Location", what, r.Status,
			r.Header.Get("Content-Type"), r.Header.Get("Location"), status)
	}
}
