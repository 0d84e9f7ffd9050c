package oauthcore

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/bounded"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
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
	// ClientIDMetadata, when set, adjusts the Client ID Metadata Document
	// resolver's configuration before it is built: a transport trusting a
	// test CA, a name resolver, a dialer, a shared cache.
	ClientIDMetadata func(*cimd.Config)
	// Metrics, when set, counts protocol events (metrics.go).
	Metrics Metrics
	// GitHubTransport, when set, carries every call to GitHub (to time
	// and count them); the default upstream's policy is kept.
	GitHubTransport http.RoundTripper
}

// Server is the authorization server: the endpoints, each holding only
// the stores and services it uses, and the routes to them. It only wires;
// the protocol lives in the endpoint types.
type Server struct {
	env      *env
	store    Store
	tokens   *Tokens
	verifier *Verifier
	allow    *allowList
	policy   *policy
	check    *grantChecker
	// clients finds clients, by their metadata documents too.
	clients *clientResolver
	trusted *cimd.HostPatterns
	routes  map[string]http.HandlerFunc
	manage  http.HandlerFunc // /register/{client_id}
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
	e := &env{cfg: cfg, now: opts.Now, rand: opts.Rand, log: opts.Logger, metrics: opts.Metrics}
	if e.metrics == nil {
		e.metrics = noMetrics{}
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rand == nil {
		e.rand = rand.Reader
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.limits = newLimiter(store, e.now, func(ctx context.Context, msg string, err error) {
		e.log.WarnContext(ctx, msg, "error", err)
	})
	upstream := opts.Upstream
	if upstream == nil {
		gh := NewGitHub(cfg.GitHub, cfg.Issuer+pathCallback, githubClient(cfg.GitHub, opts.GitHubTransport))
		gh.now = e.now
		upstream = gh
	}
	s := &Server{env: e, store: store, allow: newAllowList(cfg.GitHub.AllowedUsers, upstream, e.log)}
	s.policy = &policy{users: s.allow, members: newMemberships(&e.cfg.GitHub, upstream, e.log),
		webURL: strings.TrimSuffix(cfg.GitHub.WebURL, "/"), scopes: cfg.GitHub.requestedScopes()}
	var err error
	if s.clients, err = newClientResolver(&e.cfg, store, e.now, e.log, opts.ClientIDMetadata); err != nil {
		return nil, err
	}
	if s.trusted, err = cimd.ParseHostPatterns(cfg.ClientIDMetadata.TrustedHosts); err != nil {
		return nil, clientIDMetadataErr(err)
	}
	s.tokens = &Tokens{issuer: cfg.Issuer, leeway: cfg.Leeway, now: e.now}
	if len(cfg.JWTSecret) > 0 {
		s.tokens.secret = cfg.JWTSecret
	} else {
		s.tokens.keys = &keyring{store: store, now: e.now, rand: e.rand, rotation: cfg.KeyRotation,
			retain: cfg.AccessTokenLifetime + cfg.Leeway, tokenRetain: cfg.RefreshTokenLifetime + cfg.CodeLifetime}
	}
	sealer, err := newSealer(cfg.JWTSecret, s.tokens.keys, e.rand)
	if err != nil {
		return nil, err
	}
	s.check = &grantChecker{policy: s.policy, sealer: sealer, grants: store, now: e.now, log: e.log}
	s.check.refresher, _ = upstream.(tokenRefresher)
	s.check.revoker, _ = upstream.(tokenRevoker)
	s.check.validator, _ = upstream.(tokenValidator)
	s.verifier = newVerifier(s.tokens, store, e.now, cfg.Leeway, defaultCacheEntries)
	s.verifier.sessions = newSessions(s.check, store, e.now, cfg.GitHub.MembershipTTL, defaultCacheEntries)
	s.route(upstream)
	return s, nil
}

// route builds every endpoint with the parts it uses and maps the paths.
func (s *Server) route(upstream Upstream) {
	e, st := s.env, s.store
	auth := &clientAuthenticator{clients: s.clients, now: e.now, limits: e.limits, maxFailures: e.cfg.Limits.AuthFailuresPerClient}
	// Document clients are public, and only confidential clients may
	// introspect: its client_id URLs are never fetched.
	registered := &clientAuthenticator{clients: &clientResolver{cfg: &e.cfg, store: st}, now: e.now,
		limits: e.limits, maxFailures: e.cfg.Limits.AuthFailuresPerClient}
	flows := &browserFlows{env: e, clients: s.clients, flows: st, consents: st, upstream: upstream, trusted: s.trusted}
	disco := &discoveryEndpoint{env: e, tokens: s.tokens}
	fa := &forwardAuth{env: e, verifier: s.verifier,
		gates: bounded.Map{Max: maxForwardAuthGates}, queries: bounded.Map{Max: maxForwardAuthGates}}
	s.manage = (&manageEndpoint{env: e, clients: st,
		failures:     newThrottle(ratFailureLimit, time.Minute),
		addrFailures: newThrottle(ratAddrFailureLimit, time.Minute)}).serve
	s.routes = map[string]http.HandlerFunc{
		pathMetadata:   disco.serveMetadata,
		pathOIDCConfig: disco.serveMetadata,
		pathRegister: (&registerEndpoint{env: e, clients: st,
			limit: newThrottle(e.cfg.RegistrationLimit, time.Minute)}).serve,
		pathAuthorize: (&authorizeEndpoint{flows}).serve,
		pathConsent:   (&consentEndpoint{flows}).serve,
		pathCallback: (&callbackEndpoint{browserFlows: flows, codes: st, policy: s.policy,
			sealer: s.check.sealer}).serve,
		pathToken: (&tokenEndpoint{env: e, auth: auth, codes: st, grants: st, tokens: s.tokens,
			check: s.check}).serve,
		pathRevoke: (&revokeEndpoint{env: e, auth: auth, tokens: s.tokens, grants: st,
			revocations: st, check: s.check}).serve,
		pathIntrospect: (&introspectEndpoint{env: e, auth: registered, tokens: s.tokens,
			revoked: revocationCheck{st, st}}).serve,
		pathVerify:         fa.serveVerify,
		pathVerifyMetadata: fa.serveVerifyMetadata,
		PRMPath:            fa.serveIssuerMetadata,
		pathHealth:         (&healthEndpoint{env: e, store: st, tokens: s.tokens}).serve,
	}
	if s.tokens.secret == nil {
		s.routes[pathJWKS] = disco.serveJWKS
	}
}

// Endpoint paths.
const (
	pathMetadata   = "/.well-known/oauth-authorization-server"
	pathOIDCConfig = "/.well-known/openid-configuration"
	pathJWKS       = "/jwks"
	pathRegister   = "/register" // and /register/{client_id} (RFC 7592)
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

// defaultCacheEntries bounds the verified-token cache (about 1 KiB each).
const defaultCacheEntries = 1 << 16

// Handler returns the endpoint for path, including the RFC 7592 client
// configuration URLs /register/{client_id}, or nil when the path is not
// one of ours (the Caddy handler then passes the request on).
func (s *Server) Handler(path string) http.HandlerFunc {
	if h := s.routes[path]; h != nil {
		return h
	}
	if _, ok := managedClientID(path); ok {
		return s.manage
	}
	return nil
}

// ServeHTTP serves every endpoint and 404s the rest; handy for tests and
// for embedding outside Caddy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.Handler(r.URL.Path); h != nil {
		h(w, r)
		return
	}
	WriteError(w, NewError(http.StatusNotFound, CodeInvalidRequest, "no such endpoint"))
}

// Verifier returns the server's shared access-token verifier.
func (s *Server) Verifier() *Verifier { return s.verifier }

// NewVerifier returns a verifier of this server's tokens with its own
// cache of at most maxEntries tokens. Close it when done.
func (s *Server) NewVerifier(maxEntries int) *Verifier {
	v := newVerifier(s.tokens, s.store, s.env.now, s.env.cfg.Leeway, maxEntries)
	v.sessions = newSessions(s.check, s.store, s.env.now, s.env.cfg.GitHub.MembershipTTL, maxEntries)
	return v
}

// NewGate prepares a gate for a canonical resource space. standardMetadata
// tells where the metadata of a resource URL is advertised: at its RFC 9728
// well-known URL, or (for a gate that only sees requests below its path)
// at the resource URL plus the well-known suffix, which the gate answers.
func (s *Server) NewGate(resource string, scopes []string, standardMetadata bool) *Gate {
	return newGate(&s.env.cfg, resource, scopes, standardMetadata)
}

// Close releases the server's subscription to the store.
func (s *Server) Close() { s.verifier.Close() }

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.env.cfg }

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

// ResolveAllowedUsers pins the GitHub ids of allow-listed logins not
// resolved yet. The Caddy app runs it at start and then every minute; a
// login still unresolved when its user logs in is resolved then.
func (s *Server) ResolveAllowedUsers(ctx context.Context) error {
	err := s.allow.resolveAll(ctx)
	if s.policy.members != nil {
		err = errors.Join(err, s.policy.members.resolveOrgs(ctx))
	}
	return err
}
