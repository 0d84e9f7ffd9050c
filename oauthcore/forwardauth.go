package oauthcore

import (
	"net/http"
	"net/url"
	"strings"
)

// serveVerify is the ForwardAuth endpoint for deployments that keep Traefik
// or nginx in front: 200 with the identity headers, or the gate's 401/403.
// The resource space is fixed by the operator in the auth URL
// (/verify?resource=https://mcp.example.com/github), never taken from
// request headers (the original's defect #19); without it, the issuer.
// Within that space X-Forwarded-Uri, which the proxy sets, names the URL
// the client asked for: a token is good there if its audience lies in the
// space and the URL at or below the audience. A forged X-Forwarded-Uri can
// only name another URL inside the operator's space.
func (s *Server) serveVerify(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodPost, http.MethodHead) {
		return
	}
	g, err := s.verifyGate(r.URL.RawQuery)
	if err != nil {
		WriteError(w, err)
		return
	}
	c, err := g.Check(w, r, s.verifier, forwardedPath(r, g))
	if err != nil {
		return
	}
	h := w.Header()
	h.Set("X-User-Id", c.Subject)
	h.Set("X-User-Name", c.Username)
	h.Set("X-User-Email", c.Email)
	h.Set("X-Client-Id", c.ClientID)
	h.Set("X-Scope", c.Scope)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// forwardedPath is the path of X-Forwarded-Uri when it lies in the gate's
// space, else the space's own path.
func forwardedPath(r *http.Request, g *Gate) string {
	if xfu := r.Header.Get("X-Forwarded-Uri"); xfu != "" {
		if u, err := url.ParseRequestURI(xfu); err == nil && within(strings.TrimRight(u.Path, "/"), g.path) {
			return u.Path
		}
	}
	return g.path
}

// serveVerifyMetadata publishes the RFC 9728 metadata of a resource that
// a ForwardAuth deployment protects: the proxy in front of the MCP server
// gates every path, so the metadata lives here and /verify's 401 points
// at it. Only resources the operator listed in `resources` are described
// when that list is set.
func (s *Server) serveVerifyMetadata(w http.ResponseWriter, r *http.Request) {
	canon, err := CanonicalResource(r.URL.Query().Get("resource"))
	if err != nil || (len(s.cfg.Resources) > 0 && !s.inConfiguredSpace(canon)) {
		WriteError(w, newError(http.StatusNotFound, "invalid_target", "no metadata for this resource"))
		return
	}
	s.forwardAuthGate(canon).ServeMetadata(w, r, canon)
}

// inConfiguredSpace reports whether res lies at or below a configured
// resource.
func (s *Server) inConfiguredSpace(res string) bool {
	for _, r := range s.cfg.Resources {
		canon, err := CanonicalResource(r)
		if err != nil {
			continue
		}
		o, p := SplitResource(canon)
		ro, rp := SplitResource(res)
		if o == ro && within(rp, p) {
			return true
		}
	}
	return false
}

// maxForwardAuthGates bounds the gates kept for /verify: the resource
// parameter is operator config, but anyone can call /verify directly.
const maxForwardAuthGates = 64

// verifyGate returns the gate for /verify's query string (the operator's
// auth URL, so the same few strings every time: they key the cache, and a
// repeat request parses nothing).
func (s *Server) verifyGate(rawQuery string) (*Gate, error) {
	if g, ok := s.faQueries.Load(rawQuery); ok {
		return g.(*Gate), nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, invalidRequest("the query is not valid URL encoding")
	}
	resource := s.cfg.Issuer
	if res := q.Get("resource"); res != "" {
		if resource, err = CanonicalResource(res); err != nil {
			return nil, invalidRequest("resource: " + err.Error())
		}
	}
	g := s.forwardAuthGate(resource)
	if s.faGateCount.Add(1) <= maxForwardAuthGates {
		s.faQueries.Store(rawQuery, g)
	}
	return g, nil
}

func (s *Server) forwardAuthGate(resource string) *Gate {
	if g, ok := s.faGates.Load(resource); ok {
		return g.(*Gate)
	}
	g := s.NewGate(resource, nil, true)
	g.metadataBase = s.cfg.Issuer + pathVerifyMetadata
	if s.faGateCount.Add(1) <= maxForwardAuthGates {
		s.faGates.Store(resource, g)
	}
	return g
}

// serveIssuerMetadata publishes RFC 9728 metadata for the issuer as a
// resource: tokens requested without a resource carry it as audience, and
// /verify's challenge for them points here.
func (s *Server) serveIssuerMetadata(w http.ResponseWriter, r *http.Request) {
	s.forwardAuthGate(s.cfg.Issuer).ServeMetadata(w, r, s.cfg.Issuer)
}
