package caddymodule

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/bounded"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func init() {
	caddy.RegisterModule(VerifyHandler{})
}

// VerifyHandler is the gate in front of an MCP server: it checks the
// access token of every request in process (signature, issuer, expiry,
// audience, scopes, revocation) before the next handler, usually
// reverse_proxy, sees it. It answers the RFC 9728 protected-resource
// metadata and the MCP challenges itself, removes the token and any
// client-sent identity headers, and hands the user's identity to the
// upstream in headers and to Caddy in {http.auth.user.*} placeholders.
type VerifyHandler struct {
	// Resource is the canonical URL of the protected MCP server: the
	// audience tokens must carry, and the `resource` of its metadata.
	// Default: the request's origin plus ResourcePath.
	Resource string `json:"resource,omitempty"`

	// ResourcePath is the path of the protected resource on its origin
	// when Resource is not set. The Caddyfile fills it from the
	// directive's path matcher; when empty it is read from the path
	// matcher of the route the gate sits in (`route /github/*` gives
	// /github), or the resource is the whole origin.
	ResourcePath string `json:"resource_path,omitempty"`

	// Scopes every token must carry (all of them). Default: none beyond
	// being issued for this resource.
	Scopes []string `json:"scopes,omitempty"`

	// UserIDHeader is the request header the upstream receives the
	// GitHub numeric user id in. Default: X-User-Id.
	UserIDHeader string `json:"user_id_header,omitempty"`

	// UserNameHeader carries the GitHub login. Default: X-User-Name.
	UserNameHeader string `json:"user_name_header,omitempty"`

	// GitHubToken hands the user's own GitHub token to the upstream as
	// `Authorization: Bearer <token>` (the client's token for this server
	// is removed first, as always: it is never passed through), for MCP
	// servers that call GitHub as the user, such as github-mcp-server. A
	// grant made before the token was kept, or whose token lacks the
	// scopes in github { scopes }, gets 401 invalid_token, so the client
	// signs in again; the upstream is never called without the token. The
	// token is also the placeholder {http.auth.user.github_token} (empty
	// at gates without this option), which Caddy's access log never
	// records.
	GitHubToken bool `json:"github_token,omitempty"`

	// OrgsHeader and TeamsHeader carry the allow-listed orgs and teams
	// (org/slug) the user is in, comma-separated; only those, never every
	// membership. Default: X-User-Orgs and X-User-Teams. Client-sent
	// copies are always removed.
	OrgsHeader  string `json:"orgs_header,omitempty"`
	TeamsHeader string `json:"teams_header,omitempty"`

	// AllowedOrigins are the browser origins (scheme://host[:port]) that may
	// call the MCP server; "*" allows any. Requests with an Origin header
	// that is neither listed nor the server's own origin are refused with
	// 403, which stops DNS-rebinding attacks on local servers. Requests
	// without Origin (non-browser clients) are not affected. Default
	// (unset): the server's own origin and loopback origins
	// (http or https on localhost, 127.0.0.1 or [::1], any port), where MCP
	// Inspector and local tools run; a DNS-rebinding page never has a
	// loopback Origin. When set, add those explicitly if you need them.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`

	// MetadataRoute is set by the Caddyfile when it also routes the
	// well-known metadata path of ResourcePath to this gate, so the
	// standard RFC 9728 URL is the one to advertise.
	MetadataRoute bool `json:"metadata_route,omitempty"`

	app       *App
	verifier  *oauthcore.Verifier
	hosts     *hostGates
	idHeader  string
	nameHdr   string
	orgsHdr   string
	teamsHdr  string
	stripped  []string // lowercased identity header names, '_' as '-'
	anyOrigin bool
	// gateOK is this gate's counter of passed requests, looked up once:
	// the label lookup costs an allocation per request.
	gateOK prometheus.Counter
	logger *zap.Logger
}

// hostGates holds what the handler learns at run time.
type hostGates struct {
	fixed    atomic.Pointer[oauthcore.Gate] // one gate for every host
	resolved atomic.Pointer[placementInfo]
	byHost   [2]bounded.Map // by Host; [0] plain http, [1] TLS
}

// placementInfo is what the gate learned about the route it sits in.
type placementInfo struct {
	prefix  string
	inRoute bool // the prefix came from an enclosing path matcher
}

// CaddyModule returns the Caddy module information.
func (VerifyHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.mcp_oauth_verify", New: func() caddy.Module { return new(VerifyHandler) }}
}

// Provision finds the mcp_oauth app and prepares the gate.
func (h *VerifyHandler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.hosts = &hostGates{byHost: [2]bounded.Map{{Max: maxHostGates}, {Max: maxHostGates}}}
	app, err := findApp(ctx, "mcp_oauth_verify")
	if err != nil {
		return err
	}
	h.app = app
	h.verifier = h.app.Server().Verifier()
	repl := caddy.NewReplacer()
	h.Resource = repl.ReplaceKnown(h.Resource, "")
	h.Scopes = splitList(repl, h.Scopes)
	h.gateOK = metrics.gateRequests.WithLabelValues(h.metricsResource(), oauthcore.GateOutcome(nil))
	h.AllowedOrigins = splitList(repl, h.AllowedOrigins)
	h.idHeader = headerOr(h.UserIDHeader, "X-User-Id")
	h.nameHdr = headerOr(h.UserNameHeader, "X-User-Name")
	h.orgsHdr = headerOr(h.OrgsHeader, "X-User-Orgs")
	h.teamsHdr = headerOr(h.TeamsHeader, "X-User-Teams")
	h.stripped = append([]string{normalizeHeader(h.idHeader), normalizeHeader(h.nameHdr),
		normalizeHeader(h.orgsHdr), normalizeHeader(h.teamsHdr)}, spoofableHeaders...)
	for _, o := range h.AllowedOrigins {
		h.anyOrigin = h.anyOrigin || o == "*"
	}
	if h.ResourcePath != "" {
		h.hosts.resolved.Store(&placementInfo{prefix: strings.TrimRight(h.ResourcePath, "/"), inRoute: !h.MetadataRoute})
	}
	if h.Resource != "" {
		res, err := oauthcore.CanonicalResource(h.Resource)
		if err != nil {
			return fmt.Errorf("mcp_oauth_verify: resource %q: %v", h.Resource, err)
		}
		h.Resource = res
	}
	return nil
}

// Validate checks the options.
func (h *VerifyHandler) Validate() error {
	if h.ResourcePath != "" && !strings.HasPrefix(h.ResourcePath, "/") {
		return fmt.Errorf("mcp_oauth_verify: resource_path %q must start with /", h.ResourcePath)
	}
	for _, o := range h.AllowedOrigins {
		if o != "*" && (!strings.Contains(o, "://") || strings.HasSuffix(o, "/")) {
			return fmt.Errorf("mcp_oauth_verify: allowed origin %q must look like https://app.example.com (scheme and host, no path), or be *", o)
		}
	}
	return nil
}

func headerOr(v, def string) string {
	if v == "" {
		return def
	}
	return http.CanonicalHeaderKey(v)
}

// normalizeHeader folds the spellings upstreams treat as one header name
// (case, and '_' for '-' as CGI-style servers do).
func normalizeHeader(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// ServeHTTP gates the request.
func (h *VerifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !h.checkOrigin(w, r) {
		return nil
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.preflight(w)
		return nil
	}
	gate := h.gateFor(r)
	path := originalPath(r)
	if strings.Contains(path, "/.well-known/") && h.serveDiscovery(w, r, gate, path) {
		return nil
	}
	claims, sess, err := gate.CheckSession(w, r, h.verifier, path, h.GitHubToken)
	if err != nil {
		metrics.gate(h.metricsResource(), err)
		if ce := h.logger.Check(zapcore.DebugLevel, "request refused"); ce != nil {
			ce.Write(zap.String("reason", err.Error()), zap.String("resource", gate.Resource))
		}
		return nil
	}
	h.gateOK.Inc()
	h.passIdentity(r, claims, sess)
	return next.ServeHTTP(w, r)
}

// originalPath is the path the client asked for, before any handle_path or
// uri strip_prefix: audiences are URLs as clients know them.
func originalPath(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.Path
	}
	return r.URL.Path
}

// passIdentity removes the token (no token passthrough to upstreams) and
// any identity header the client sent under any spelling, then sets ours
// and the placeholders.
func (h *VerifyHandler) passIdentity(r *http.Request, c *oauthcore.Claims, s *oauthcore.Session) {
	hdr := r.Header
	hdr.Del("Authorization")
	for name := range hdr {
		if h.isIdentityHeader(name) {
			delete(hdr, name)
		}
	}
	hdr[h.idHeader] = []string{c.Subject}
	hdr[h.nameHdr] = []string{c.Username}
	sv := sessionValues(s)
	if sv[0] != "" {
		hdr[h.orgsHdr] = []string{sv[0].(string)}
	}
	if sv[1] != "" {
		hdr[h.teamsHdr] = []string{sv[1].(string)}
	}
	if h.GitHubToken {
		// Only after the client's Authorization is gone: a separate
		// credential the gate attaches, not token passthrough (RS-05).
		hdr["Authorization"] = []string{sv[3].(string)}
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return
	}
	vals := placeholderValues(c)
	for i, name := range placeholderNames {
		repl.Set(name, vals[i])
	}
	repl.Set(sessionPlaceholders[0], sv[0])
	repl.Set(sessionPlaceholders[1], sv[1])
	// Only gates that opted in expose the token, to headers too.
	if h.GitHubToken {
		repl.Set(sessionPlaceholders[2], sv[2])
	} else {
		repl.Set(sessionPlaceholders[2], "")
	}
}

// sessionPlaceholders are the placeholders a grant's session fills, in the
// order of sessionValues (which adds the Authorization value last). The
// GitHub token placeholder is never logged: Caddy's access log records
// headers, not placeholders, and redacts the Authorization header the
// gate sets (unless log_credentials is on).
var sessionPlaceholders = [...]string{"http.auth.user.orgs", "http.auth.user.teams", "http.auth.user.github_token"}

// noSession are the values of a grant without session.
var noSession = &[len(sessionPlaceholders) + 1]any{"", "", "", ""}

// sessionValues boxes a session's values once, kept with the session.
func sessionValues(s *oauthcore.Session) *[len(sessionPlaceholders) + 1]any {
	if s == nil {
		return noSession
	}
	if v, ok := s.Attachment.Load().(*[len(sessionPlaceholders) + 1]any); ok {
		return v
	}
	v := &[len(sessionPlaceholders) + 1]any{s.Orgs, s.Teams, s.GitHubToken, "Bearer " + s.GitHubToken}
	s.Attachment.Store(v)
	return v
}

// placeholderNames are the placeholders the gate sets, in the order of
// placeholderValues.
var placeholderNames = [...]string{"http.auth.user.id", "http.auth.user.login", "http.auth.user.email",
	"http.auth.user.client_id", "http.auth.user.scope", "http.auth.user.jti"}

// placeholderValues returns the placeholder values of a verified token,
// boxed once and kept with the cached token, so repeat requests do not
// allocate them again.
func placeholderValues(c *oauthcore.Claims) *[len(placeholderNames)]any {
	if v, ok := c.Attachment.Load().(*[len(placeholderNames)]any); ok {
		return v
	}
	v := &[len(placeholderNames)]any{c.Subject, c.Username, c.Email, c.ClientID, c.Scope, c.ID}
	c.Attachment.Store(v)
	return v
}

// spoofableHeaders are identity headers other gateways set, which an
// upstream moved behind this gate may still trust: a client must never be
// able to send them (normalized: lowercase, '-' for '_'). X-Auth-Token
// was mcp-oauth-dynamicclient's: it carried the client's token itself,
// which MCP forbids passing through, so the gate never sets it.
var spoofableHeaders = []string{"x-auth-token", "x-forwarded-user", "x-forwarded-email",
	"remote-user", "x-remote-user"}

// spoofablePrefix covers oauth2-proxy's X-Auth-Request-User, -Email,
// -Groups, -Access-Token ...
const spoofablePrefix = "x-auth-request-"

func (h *VerifyHandler) isIdentityHeader(name string) bool {
	if len(name) >= len(spoofablePrefix) && equalFoldDash(name[:len(spoofablePrefix)], spoofablePrefix) {
		return true
	}
	for _, s := range h.stripped {
		if len(name) == len(s) && equalFoldDash(name, s) {
			return true
		}
	}
	return false
}

// equalFoldDash compares a header name with a normalized one without
// allocating: ASCII case-insensitive, '_' equal to '-'.
func equalFoldDash(name, norm string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == '_' {
			c = '-'
		}
		if c != norm[i] {
			return false
		}
	}
	return true
}

// Interface guards
var (
	_ caddy.Provisioner           = (*VerifyHandler)(nil)
	_ caddy.Validator             = (*VerifyHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*VerifyHandler)(nil)
)
