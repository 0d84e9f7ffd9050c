package fakegithub

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is a GitHub account the fake can sign in as.
type User struct {
	ID    int64
	Login string
	Name  string
	// Email is the public profile address. Empty means the user keeps it
	// private: GET /user then answers "email": null, as GitHub does, and
	// only GET /user/emails (scope user:email) reveals it.
	Email string
	// Emails is what GET /user/emails lists. Nil: one primary, verified,
	// private address, login@example.test.
	Emails []Email
}

// Email is one entry of GET /user/emails.
type Email struct {
	Email    string
	Primary  bool
	Verified bool
	// Visibility is "public" or "private"; GitHub sends null for
	// non-primary addresses, which an empty value reproduces.
	Visibility string
}

// DefaultUsers are the accounts a zero Options provides: alice is signed
// in; bob has the id 4242 (for allow-lists by id); mallory is on no list.
func DefaultUsers() []User {
	return []User{
		{ID: 1001, Login: "alice", Name: "Alice Liddell", Email: "alice@example.test"},
		{ID: 4242, Login: "bob", Name: "Bob Builder"},
		{ID: 6666, Login: "mallory", Name: "Mallory"},
	}
}

// Options configure a fake. The zero value is usable.
type Options struct {
	// ClientID and ClientSecret are the OAuth app's credentials. Default:
	// "gh-client" and "gh-secret".
	ClientID     string
	ClientSecret string
	// CallbackURL is the app's registered callback URL. When set, a
	// redirect_uri must be on the same host and port and under its path,
	// as GitHub requires; when empty any absolute redirect_uri is taken.
	CallbackURL string
	// Users are the accounts that exist. Default: DefaultUsers().
	Users []User
	// SignedIn is the login of the user the browser is signed in as.
	// Default: the first user.
	SignedIn string
	// TokenDelay delays every access_token response (timeout tests).
	TokenDelay time.Duration
	// CodeLifetime is how long GitHub's codes live. Default: 10 minutes.
	CodeLifetime time.Duration
	// App makes the fake a GitHub App with expiring user tokens: ghu_
	// access tokens with expires_in (8 hours, or AppTokenLifetime), ghr_
	// refresh tokens for grant_type=refresh_token, no scopes.
	App              bool
	AppTokenLifetime time.Duration
	// Orgs and Teams exist from the start (see AddOrg, AddTeam).
	Orgs  []Org
	Teams []Team
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	// Token reports whether it carried an access token
	// (Authorization: Bearer or token).
	Token bool
	// ClientAuth reports whether it carried the app's client secret
	// (HTTP Basic or the client_secret form field).
	ClientAuth bool
	At         time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL once started with Start or Serve (web and API
	// share it).
	URL string

	opts Options
	mux  *http.ServeMux
	done chan struct{}
	once sync.Once

	mu         sync.Mutex
	users      map[string]User
	signedIn   string
	nextLogin  string
	cancelNext bool
	hang       bool
	delay      time.Duration
	codes      map[string]*codeGrant
	tokens     map[string]*tokenGrant
	requests   []Request
	issued     []string
	issuedCode []string

	orgs            map[int64]*orgState
	teams           map[int64]*teamState
	outage          Outage
	refreshTokens   map[string]*tokenGrant
	refreshes       int
	badRefreshes    int
	revokedAtGitHub []string
}

// codeGrant is what a code GitHub issued stands for.
type codeGrant struct {
	login       string
	scope       string
	redirectURI string
	challenge   string
	expires     time.Time
	used        bool
}

type tokenGrant struct {
	login string
	scope string
	// app marks a GitHub App user token, which expires.
	app     bool
	expires time.Time
}

// New returns a fake serving GitHub's web and API paths on one handler.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "gh-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "gh-secret"
	}
	if opts.Users == nil {
		opts.Users = DefaultUsers()
	}
	if opts.CodeLifetime == 0 {
		opts.CodeLifetime = 10 * time.Minute
	}
	s := &Server{opts: opts, done: make(chan struct{}), users: map[string]User{},
		codes: map[string]*codeGrant{}, tokens: map[string]*tokenGrant{}, delay: opts.TokenDelay,
		orgs: map[int64]*orgState{}, teams: map[int64]*teamState{}, refreshTokens: map[string]*tokenGrant{}}
	if opts.AppTokenLifetime == 0 {
		s.opts.AppTokenLifetime = 8 * time.Hour
	}
	for _, o := range opts.Orgs {
		s.AddOrg(o)
	}
	for _, t := range opts.Teams {
		s.AddTeam(t)
	}
	for _, u := range opts.Users {
		s.users[strings.ToLower(u.Login)] = u
	}
	s.signedIn = opts.SignedIn
	if s.signedIn == "" && len(opts.Users) > 0 {
		s.signedIn = opts.Users[0].Login
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/login/oauth/authorize", s.serveAuthorize)
	s.mux.HandleFunc("/login/oauth/access_token", s.serveAccessToken)
	// GitHub Enterprise Server serves the REST API under /api/v3.
	for _, prefix := range []string{"", "/api/v3"} {
		s.mux.HandleFunc(prefix+"/user", s.serveUser)
		s.mux.HandleFunc(prefix+"/user/emails", s.serveEmails)
		s.mux.HandleFunc(prefix+"/users/{username}", s.servePublicUser)
		s.mux.HandleFunc(prefix+"/user/orgs", s.serveUserOrgs)
		s.mux.HandleFunc(prefix+"/user/teams", s.serveUserTeams)
		s.mux.HandleFunc(prefix+"/user/memberships/orgs/{org}", s.serveUserOrgMembership)
		s.mux.HandleFunc(prefix+"/orgs/{org}", s.serveOrg)
		s.mux.HandleFunc(prefix+"/orgs/{org}/members/{username}", s.serveOrgMember)
		s.mux.HandleFunc(prefix+"/orgs/{org}/teams/{team_slug}", s.serveTeam)
		s.mux.HandleFunc(prefix+"/orgs/{org}/teams/{team_slug}/memberships/{username}", s.serveTeamMembership)
		s.mux.HandleFunc(prefix+"/applications/{client_id}/token", s.serveRevokeToken)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	})
	return s
}

// Start serves a new fake on a loopback httptest server until the test
// ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, stop := Serve(opts)
	t.Cleanup(stop)
	return s
}

// Serve serves a new fake on a loopback httptest server until stop is
// called, for programs without a testing.TB (the benchmarks).
func Serve(opts Options) (s *Server, stop func()) {
	s = New(opts)
	hs := httptest.NewServer(s)
	s.URL = hs.URL
	return s, func() {
		s.Close()
		hs.Close()
	}
}

// ServeHTTP records the request and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	if s.apiDown(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Close releases requests held by a hanging token endpoint.
func (s *Server) Close() { s.once.Do(func() { close(s.done) }) }

// SetCallbackURL changes the app's registered callback URL (see
// Options.CallbackURL), for a test that learns its address late.
func (s *Server) SetCallbackURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.CallbackURL = u
}

// ClientID returns the OAuth app's client id.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret returns the OAuth app's client secret.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// AddUser creates or replaces an account (matched by login).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(u.Login)] = u
}

// SignIn makes login the signed-in user for every later login.
func (s *Server) SignIn(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signedIn = login
}

// NextLogin makes login the user of the next authorization only.
func (s *Server) NextLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextLogin = login
}

// CancelNextLogin makes the user press "Cancel" at the next authorization:
// GitHub then redirects with error=access_denied.
func (s *Server) CancelNextLogin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelNext = true
}

// SetTokenDelay delays every later access_token response by d.
func (s *Server) SetTokenDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// HangTokenEndpoint makes the access_token endpoint (when on) hold every
// request until the caller gives up or the fake is closed.
func (s *Server) HangTokenEndpoint(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = on
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests were made to path ("" counts all).
func (s *Server) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if path == "" || r.Path == path {
			n++
		}
	}
	return n
}

// Contacted reports whether a login flow reached the fake: any request but
// the public GET /users/{login} lookups with which the server pins its
// allow-listed logins to ids when it starts (those carry no user data).
func (s *Server) Contacted() bool {
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r.Path, "/users/") {
			return true
		}
	}
	return false
}

// IssuedTokens returns every access token the fake handed out.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// IssuedCodes returns every authorization code the fake handed out.
func (s *Server) IssuedCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedCode...)
}

// Secrets returns every value that must never leave the authorization
// server: the issued tokens and codes and the app's client secret.
func (s *Server) Secrets() []string {
	out := append(s.IssuedTokens(), s.IssuedCodes()...)
	return append(out, s.opts.ClientSecret)
}

func (s *Server) record(r *http.Request) {
	auth := r.Header.Get("Authorization")
	lower := strings.ToLower(auth)
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: time.Now(),
		Token:      strings.HasPrefix(lower, "bearer ") || strings.HasPrefix(lower, "token "),
		ClientAuth: strings.HasPrefix(lower, "basic ")}
	if !rec.ClientAuth && r.Method == http.MethodPost && r.URL.Path == "/login/oauth/access_token" {
		// Peeking parses the form; handlers read it from r.PostForm later.
		rec.ClientAuth = r.PostFormValue("client_secret") != ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
}

// randomString draws n characters from alphabet with crypto/rand.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hex   = "0123456789abcdef"
)
