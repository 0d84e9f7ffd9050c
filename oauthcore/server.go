package oauthcore

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/bounded"
)

// Upstream is the identity provider users log in with (GitHub).
type Upstream interface {
	// AuthCodeURL is where the browser goes to log in; state comes back.
	AuthCodeURL(state string) string
	// Exchange trades the upstream's code for the user it identifies.
	Exchange(ctx context.Context, code string) (User, error)
}

// Options are the server's collaborators; zero fields get real defaults.
type Options struct {
	Now      func() time.Time
	Rand     io.Reader
	Logger   *slog.Logger
	Upstream Upstream
}

// Server is the authorization server.
type Server struct {
	cfg      Config
	store    Store
	upstream Upstream
	tokens   *Tokens
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	routes   map[string]http.HandlerFunc
	verifier *Verifier
	allow    *allowList
	// ratFailures throttles guessing of registration access tokens per
	// client address and client, ratAddrFailures per address;
	// registrations bounds registrations per client address (DR-01).
	ratFailures     *throttle
	ratAddrFailures *throttle
	registrations   *throttle
	// faGates caches the gates of the ForwardAuth endpoint by resource,
	// faQueries by the query string of the auth URL.
	faGates   bounded.Map
	faQueries bounded.Map
}

// NewServer validates cfg (after applying defaults) and builds a server.
// Call Sync before serving so the signing keys are loaded.
func NewServer(cfg Config, store Store, opts Options) (*Server, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("no store")
	}
	s := &Server{cfg: cfg, store: store, now: opts.Now, rand: opts.Rand, log: opts.Logger, upstream: opts.Upstream,
		faGates: bounded.Map{Max: maxForwardAuthGates}, faQueries: bounded.Map{Max: maxForwardAuthGates}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.upstream == nil {
		s.upstream = NewGitHub(cfg.GitHub, cfg.Issuer+"/callback", nil)
	}
	s.allow = newAllowList(cfg.GitHub.AllowedUsers)
	s.ratFailures = newThrottle(ratFailureLimit, time.Minute)
	s.ratAddrFailures = newThrottle(ratAddrFailureLimit, time.Minute)
	s.registrations = newThrottle(cfg.RegistrationLimit, time.Minute)
	s.tokens = &Tokens{issuer: cfg.Issuer, leeway: cfg.Leeway, now: s.now}
	if len(cfg.JWTSecret) > 0 {
		s.tokens.secret = cfg.JWTSecret
	} else {
		s.tokens.keys = &keyring{store: store, now: s.now, rand: s.rand, rotation: cfg.KeyRotation,
			retain: cfg.AccessTokenLifetime + cfg.Leeway}
	}
	s.routes = s.buildRoutes()
	s.verifier = s.NewVerifier(defaultCacheEntries)
	return s, nil
}

// defaultCacheEntries bounds the verified-token cache (about 1 KiB each).
const defaultCacheEntries = 1 << 16

// Verifier returns the server's shared access-token verifier.
func (s *Server) Verifier() *Verifier { return s.verifier }

// Close releases the server's subscription to the store.
func (s *Server) Close() { s.verifier.Close() }

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// Tokens returns the access-token signer and verifier.
func (s *Server) Tokens() *Tokens { return s.tokens }

// Store returns the server's store.
func (s *Server) Store() Store { return s.store }

// Sync loads the signing keys, creating or rotating them when due. Run it
// once before serving and then periodically (every instance sharing a
// store converges on the same keys).
func (s *Server) Sync(ctx context.Context) error {
	if s.tokens.keys == nil {
		return nil
	}
	return s.tokens.keys.sync(ctx)
}

// Handler returns the endpoint for path, or nil when the path is not one of
// ours (the Caddy handler then passes the request on).
func (s *Server) Handler(path string) http.HandlerFunc {
	return s.routes[path]
}

// ServeHTTP serves every endpoint and 404s the rest; handy for tests and
// for embedding outside Caddy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.Handler(r.URL.Path); h != nil {
		h(w, r)
		return
	}
	if id, ok := managedClientID(r.URL.Path); ok {
		s.serveManage(w, r, id)
		return
	}
	WriteError(w, newError(404, "not_found", "no such endpoint"))
}

func (s *Server) buildRoutes() map[string]http.HandlerFunc {
	m := map[string]http.HandlerFunc{
		pathMetadata:   s.serveMetadata,
		pathOIDCConfig: s.serveMetadata,
		pathRegister:   s.serveRegister,
		pathAuthorize:  s.serveAuthorize,
		pathConsent:    s.serveConsent,
		pathCallback:   s.serveCallback,
		pathToken:      s.serveToken,
		pathRevoke:     s.serveRevoke,
		pathIntrospect: s.serveIntrospect,
		pathVerify:     s.serveVerify,
		PRMPath:        s.serveIssuerMetadata,

		pathVerifyMetadata: s.serveVerifyMetadata,
	}
	if s.tokens.secret == nil {
		m[pathJWKS] = s.serveJWKS
	}
	return m
}

// Endpoint paths, as the original served them.
const (
	pathMetadata   = "/.well-known/oauth-authorization-server"
	pathOIDCConfig = "/.well-known/openid-configuration"
	pathJWKS       = "/jwks"
	pathRegister   = "/register"
	pathAuthorize  = "/authorize"
	pathConsent    = "/consent"
	pathCallback   = "/callback"
	pathToken      = "/token"
	pathRevoke     = "/revoke"
	pathIntrospect = "/introspect"
	pathVerify     = "/verify"
	// pathVerifyMetadata serves RFC 9728 metadata for ForwardAuth setups.
	pathVerifyMetadata = "/verify/metadata"
)

// secret draws a new random secret; failure of the system RNG is fatal to
// the request, never silently weak.
func (s *Server) secret(prefix string) (string, error) {
	return newSecret(s.rand, prefix)
}

// fail writes err as JSON and logs it: client mistakes at debug, outages at
// error with their cause. Never a secret: causes come from our own code
// and the stores, which see only hashes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, step, clientID string, err error) {
	e := AsError(err)
	s.logFailure(r, step, clientID, e)
	WriteError(w, e)
}

func (s *Server) logFailure(r *http.Request, step, clientID string, e *Error) {
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("step", step), slog.String("error", e.Code), slog.String("reason", e.Description)}
	if clientID != "" {
		attrs = append(attrs, slog.String("client_id", clientID))
	}
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "request denied", attrs...)
}
