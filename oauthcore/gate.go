package oauthcore

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// PRMPath is the RFC 9728 well-known prefix; a resource's metadata lives at
// this prefix followed by the resource's path.
const PRMPath = "/.well-known/oauth-protected-resource"

// Gate guards one protected resource (an MCP server URL): the token's
// audience must be Resource and it must carry every scope in Scopes. All
// strings it sends are built once, so checking a request allocates nothing
// beyond what the verifier's cache already holds.
type Gate struct {
	Resource    string
	MetadataURL string
	Scopes      []string

	challenge        string // no credentials
	challengeInvalid string // a bad token
	challengeScope   string // a token without the required scopes
	metadata         []byte
}

// NewGate prepares a gate for a canonical resource whose RFC 9728 metadata
// is published at metadataURL.
func (s *Server) NewGate(resource, metadataURL string, scopes []string) *Gate {
	g := &Gate{Resource: resource, MetadataURL: metadataURL, Scopes: scopes}
	base := `Bearer resource_metadata="` + metadataURL + `"`
	if len(scopes) > 0 {
		base += `, scope="` + strings.Join(scopes, " ") + `"`
	}
	g.challenge = base
	g.challengeInvalid = base + `, error="invalid_token"`
	g.challengeScope = base + `, error="insufficient_scope"`
	scopesSupported := scopes
	if len(scopesSupported) == 0 {
		scopesSupported = s.cfg.Scopes
	}
	g.metadata, _ = json.Marshal(map[string]any{
		"resource":                 resource,
		"authorization_servers":    []string{s.cfg.Issuer},
		"bearer_methods_supported": []string{"header"},
		"scopes_supported":         scopesSupported,
	})
	return g
}

// Gate failures, each with its RFC 6750 §3 answer.
var (
	errNoToken       = errors.New("no access token")
	errQueryToken    = errors.New("access token in the URL")
	errWrongAudience = errors.New("token audience is another resource")
	errScope         = errors.New("token lacks a required scope")
)

// Check authenticates r against the gate. On success it returns the claims;
// otherwise it has written the 400/401/403/503 answer and returns nil and
// the reason (for the log).
func (g *Gate) Check(w http.ResponseWriter, r *http.Request, v *Verifier) (*Claims, error) {
	raw, err := bearerFromRequest(r)
	if err != nil {
		g.refuse(w, err)
		return nil, err
	}
	c, err := v.Verify(r.Context(), raw)
	if err != nil {
		g.refuse(w, err)
		return nil, err
	}
	// RFC 8707 / MCP: accept only tokens issued for this very resource.
	if c.Aud() != g.Resource || len(c.RegisteredClaims.Audience) != 1 {
		g.refuse(w, errWrongAudience)
		return nil, errWrongAudience
	}
	for _, sc := range g.Scopes {
		if !c.HasScope(sc) {
			g.refuse(w, errScope)
			return nil, errScope
		}
	}
	return c, nil
}

// bearerFromRequest takes the token from "Authorization: Bearer" only; a
// token in the query (RFC 6750 §2.3) ends up in logs and is refused.
func bearerFromRequest(r *http.Request) (string, error) {
	if strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token") {
		return "", errQueryToken
	}
	vals := r.Header["Authorization"]
	if len(vals) == 0 {
		return "", errNoToken
	}
	if len(vals) > 1 {
		return "", ErrInvalidToken
	}
	h := vals[0]
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", errNoToken
	}
	tok := strings.TrimSpace(h[7:])
	if tok == "" {
		return "", errNoToken
	}
	return tok, nil
}

// refuse writes the RFC 6750 answer for err.
func (g *Gate) refuse(w http.ResponseWriter, err error) {
	h := w.Header()
	var oe *Error
	switch {
	case errors.As(err, &oe):
		WriteError(w, oe) // outage: 503, never 401
		return
	case errors.Is(err, errNoToken):
		h.Set("WWW-Authenticate", g.challenge)
		writeGateError(w, http.StatusUnauthorized, `{"error":"unauthorized","error_description":"an access token is required"}`)
	case errors.Is(err, errQueryToken):
		h.Set("WWW-Authenticate", g.challenge+`, error="invalid_request"`)
		writeGateError(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"send the access token in the Authorization header, not the URL"}`)
	case errors.Is(err, errScope):
		h.Set("WWW-Authenticate", g.challengeScope)
		writeGateError(w, http.StatusForbidden, `{"error":"insufficient_scope","error_description":"the access token lacks a required scope"}`)
	default:
		h.Set("WWW-Authenticate", g.challengeInvalid)
		writeGateError(w, http.StatusUnauthorized, `{"error":"invalid_token","error_description":"the access token is invalid, expired, revoked or not for this resource"}`)
	}
}

func writeGateError(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// ServeMetadata writes the resource's RFC 9728 metadata document.
func (g *Gate) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cors(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(g.metadata)
}
