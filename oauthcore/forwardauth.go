package oauthcore

import (
	"net/http"
)

// serveVerify is the ForwardAuth endpoint for deployments that keep Traefik
// or nginx in front: 200 with the identity headers, or the gate's 401/403.
// The audience is fixed by the operator, never taken from X-Forwarded-*
// headers (the original's defect #19): the resource query parameter of the
// configured auth URL (e.g. /verify?resource=https://mcp.example.com/github),
// or else one of the configured resources or the issuer.
func (s *Server) serveVerify(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodPost, http.MethodHead) {
		return
	}
	resource := s.cfg.Issuer
	if res := r.URL.Query().Get("resource"); res != "" {
		canon, err := CanonicalResource(res)
		if err != nil {
			WriteError(w, invalidRequest("resource: "+err.Error()))
			return
		}
		resource = canon
	}
	_, path := SplitResource(resource)
	c, err := s.forwardAuthGate(resource).Check(w, r, s.verifier, path)
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

// maxForwardAuthGates bounds the gates kept for /verify: the resource
// parameter is operator config, but anyone can call /verify directly.
const maxForwardAuthGates = 64

func (s *Server) forwardAuthGate(resource string) *Gate {
	if g, ok := s.faGates.Load(resource); ok {
		return g.(*Gate)
	}
	g := s.NewGate(resource, nil, true)
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
