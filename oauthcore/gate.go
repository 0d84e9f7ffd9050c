package oauthcore

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// PRMPath is the RFC 9728 well-known prefix; a resource's metadata lives at
// this prefix followed by the resource's path.
const PRMPath = "/.well-known/oauth-protected-resource"

// Gate guards a protected resource space: an origin and a path, such as
// https://mcp.example.com/github. Every URL at or below that path is a
// resource identifier in the space: MCP clients use their server's URL
// (https://mcp.example.com/github/mcp) as the RFC 8707 resource, and some
// SDKs insist that the metadata names exactly that URL. A token is
// accepted when its audience lies in the space and the request's URL lies
// at or below the audience, so a token issued for /github/mcp is refused at
// /github-other and at /fetch (RS-03).
type Gate struct {
	// Resource is the space's canonical URL.
	Resource string
	Scopes   []string

	origin     string // scheme://host of Resource
	path       string // path of Resource, "" for the whole origin
	issuer     string
	inRoute    bool   // metadata is served under the resource path
	scopeParam string // `, scope="..."` or ""
	scopesJSON []string
	// metadataBase, when set, serves the metadata of every resource in the
	// space at metadataBase?resource=<url> (ForwardAuth deployments).
	metadataBase string
}

// NewGate prepares a gate for a canonical resource space. standardMetadata
// tells where the metadata of a resource URL is advertised: at its RFC 9728
// well-known URL, or (for a gate that only sees requests below its path)
// at the resource URL plus the well-known suffix, which the gate answers.
func newGate(cfg *Config, resource string, scopes []string, standardMetadata bool) *Gate {
	origin, path := SplitResource(resource)
	// The challenge and the metadata name what to ask for: the required
	// scopes, or the default scope when none is required, so a client
	// never requests a scope this server would not grant.
	ask := cfg.challengeScope(scopes)
	g := &Gate{Resource: resource, Scopes: scopes, origin: origin, path: path, issuer: cfg.Issuer,
		inRoute: !standardMetadata, scopesJSON: ask}
	if len(ask) > 0 {
		g.scopeParam = `, scope="` + strings.Join(ask, " ") + `"`
	}
	return g
}

// ResourceFor is the resource identifier of a request path: the URL itself
// (without a trailing slash) when it is in the space, else the space.
func (g *Gate) ResourceFor(path string) string {
	path = strings.TrimRight(path, "/")
	if !within(path, g.path) {
		return g.Resource
	}
	return g.origin + path
}

// MetadataURL is where the metadata of a resource in the space is served.
func (g *Gate) MetadataURL(resource string) string {
	if g.metadataBase != "" {
		return g.metadataBase + "?resource=" + url.QueryEscape(resource)
	}
	if g.inRoute {
		return resource + PRMPath
	}
	origin, path := SplitResource(resource)
	return origin + PRMPath + path
}

// MetadataResource tells whether path asks for the RFC 9728 metadata of a
// resource in the space, and which: the well-known prefix followed by the
// resource's path, the bare prefix (the space itself, for a host with one
// resource), or, for a gate inside a route, the resource's path followed by
// the well-known suffix.
func (g *Gate) MetadataResource(path string) (string, bool) {
	var res string
	switch {
	case path == PRMPath:
		return g.Resource, true
	case strings.HasPrefix(path, PRMPath+"/"):
		res = path[len(PRMPath):]
	case strings.HasSuffix(path, PRMPath):
		res = path[:len(path)-len(PRMPath)]
	default:
		return "", false
	}
	res = strings.TrimRight(res, "/")
	if !within(res, g.path) {
		return "", false
	}
	return g.origin + res, true
}

// Gate failures besides the bearer ones (httpio.go).
var (
	errWrongAudience = errors.New("token audience is another resource")
	errScope         = errors.New("token lacks a required scope")
	errDotPath       = errors.New("the request path has dot segments")
)

// The gate's refusals (RFC 6750 §3, §3.1), rendered once; refuse adds the
// per-request challenge.
var (
	refuseNoToken = (&Error{Code: CodeNone, Status: http.StatusUnauthorized,
		Description: "an access token is required"}).prerender()
	refuseQueryToken = (&Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest,
		Description: "send the access token in the Authorization header, not the URL"}).prerender()
	refuseScope = (&Error{Code: CodeInsufficientScope, Status: http.StatusForbidden,
		Description: "the access token lacks a required scope"}).prerender()
	refuseDotPath = (&Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest,
		Description: "the request path must not contain . or .. segments"}).prerender()
	refuseInvalid = (&Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized,
		Description: "the access token is invalid, expired, revoked or not for this resource"}).prerender()
)

// Check authenticates a request for path (as the client sent it, before
// any prefix stripping). On success it returns the claims; otherwise it has
// written the 400/401/403/503 answer and returns the reason for the log.
func (g *Gate) Check(w http.ResponseWriter, r *http.Request, v *Verifier, path string) (*Claims, error) {
	c, _, err := g.CheckSession(w, r, v, path, false)
	return c, err
}

// CheckSession is Check that also confirms the grant's user within
// membership_ttl (CD-09) and returns the grant's session. needToken is
// set by gates that hand the user's GitHub token to the upstream: a grant
// without one, or whose token lacks the configured GitHub scopes, gets
// 401 invalid_token so the client signs in again, never an upstream call
// without credentials.
func (g *Gate) CheckSession(w http.ResponseWriter, r *http.Request, v *Verifier, path string, needToken bool) (*Claims, *Session, error) {
	raw, err := bearerToken(r)
	if err == nil {
		var c *Claims
		if c, err = v.Verify(r.Context(), raw); err == nil {
			if err = g.authorize(c, path); err == nil {
				var s *Session
				if s, err = v.Session(r.Context(), c, needToken); err == nil {
					if err = needsToken(s, needToken); err == nil {
						return c, s, nil
					}
				}
			}
		}
	}
	g.refuse(w, err, path)
	return nil, nil, err
}

// errNoGitHubToken: the gate hands the GitHub token on and the grant has
// none it can use.
var errNoGitHubToken = errors.New("the grant has no GitHub token with the configured scopes")

func needsToken(s *Session, need bool) error {
	if need && (s == nil || s.GitHubToken == "" || s.MissingScopes) {
		return errNoGitHubToken
	}
	return nil
}

// authorize applies audience (RFC 8707; MCP servers must accept only
// tokens issued for themselves) and scope checks.
func (g *Gate) authorize(c *Claims, path string) error {
	// A path with dot segments names another URL once an upstream cleans
	// it (/github/mcp/../../fetch is /fetch): refused, whatever the token.
	if hasDotSegment(path) {
		return errDotPath
	}
	aud := c.Aud()
	if len(c.RegisteredClaims.Audience) != 1 || len(aud) < len(g.origin) || aud[:len(g.origin)] != g.origin {
		return errWrongAudience
	}
	audPath := aud[len(g.origin):]
	if len(audPath) > 0 && audPath[0] != '/' {
		return errWrongAudience // another port or host sharing our prefix
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if !within(audPath, g.path) || !within(path, audPath) {
		return errWrongAudience
	}
	for _, sc := range g.Scopes {
		if !c.HasScope(sc) {
			return errScope
		}
	}
	return nil
}

// refuse writes the RFC 6750 answer for err, pointing the client at the
// metadata of the resource it asked for (RFC 9728 §5.1).
func (g *Gate) refuse(w http.ResponseWriter, err error, path string) {
	var oe *Error
	if errors.As(err, &oe) {
		WriteError(w, oe) // outage: 503, never 401
		return
	}
	res := g.Resource
	if !errors.Is(err, errDotPath) {
		res = g.ResourceFor(path)
	}
	challenge := `Bearer resource_metadata="` + g.MetadataURL(res) + `"` + g.scopeParam
	e := refuseInvalid
	switch {
	case errors.Is(err, errNoToken):
		e = refuseNoToken
	case errors.Is(err, errQueryToken):
		e = refuseQueryToken
	case errors.Is(err, errDotPath):
		e = refuseDotPath
	case errors.Is(err, errScope):
		e = refuseScope
	}
	if e.Code != CodeNone {
		challenge += `, error="` + string(e.Code) + `"`
	}
	writeErrorChallenge(w, e, challenge)
}

// ServeMetadata writes the RFC 9728 metadata of a resource in the space.
func (g *Gate) ServeMetadata(w http.ResponseWriter, r *http.Request, resource string) {
	if !corsMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	body, _ := json.Marshal(map[string]any{
		"resource":                 resource,
		"authorization_servers":    []string{g.issuer},
		"bearer_methods_supported": []string{"header"},
		"scopes_supported":         g.scopesJSON,
	})
	cors(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(body)
}
