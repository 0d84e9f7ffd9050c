package oauthcore

import (
	"net/http"
	"slices"
	"strings"
)

// Metadata returns the RFC 8414 authorization-server metadata. Only what
// exists is advertised (the original listed endpoints and features it did
// not have).
func (s *Server) Metadata() map[string]any {
	iss := s.cfg.Issuer
	authMethods := []string{AuthNone, AuthPost, AuthBasic}
	// offline_access is accepted as a no-op (refresh tokens are always
	// issued), so the authorization server may list it; resources never do.
	scopes := s.cfg.Scopes
	if !contains(scopes, scopeOfflineAccess) {
		scopes = append(slices.Clip(scopes), scopeOfflineAccess)
	}
	m := map[string]any{
		"issuer":                                     iss,
		"authorization_endpoint":                     iss + pathAuthorize,
		"token_endpoint":                             iss + pathToken,
		"registration_endpoint":                      iss + pathRegister,
		"revocation_endpoint":                        iss + pathRevoke,
		"introspection_endpoint":                     iss + pathIntrospect,
		"response_types_supported":                   []string{"code"},
		"response_modes_supported":                   []string{"query"},
		"grant_types_supported":                      []string{grantCode, grantRefresh},
		"code_challenge_methods_supported":           []string{"S256"},
		"token_endpoint_auth_methods_supported":      authMethods,
		"revocation_endpoint_auth_methods_supported": authMethods,
		// Only confidential clients may introspect.
		"introspection_endpoint_auth_methods_supported": []string{AuthPost, AuthBasic},
		"scopes_supported": scopes,
		// RFC 9207: every authorization response carries iss.
		"authorization_response_iss_parameter_supported": true,
		"resource_indicators_supported":                  true,
	}
	if s.tokens.secret == nil {
		m["jwks_uri"] = iss + pathJWKS
	}
	return m
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cors(w.Header())
	writeJSON(w, http.StatusOK, s.Metadata())
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cors(w.Header())
	jwks := s.tokens.JWKS()
	if jwks == nil {
		s.fail(w, r, "jwks", "", unavailable(errSigningKeys))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(jwks)
}

// allowMethods answers 405 for methods not listed and reports whether the
// request may go on. OPTIONS gets 204 with Allow, and no CORS headers:
// browsers must not call these endpoints cross-origin.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	return checkMethod(w, r, false, methods)
}

// corsMethods is allowMethods for endpoints browsers may call cross-origin:
// it answers CORS preflights.
func corsMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	return checkMethod(w, r, true, methods)
}

func checkMethod(w http.ResponseWriter, r *http.Request, allowCORS bool, methods []string) bool {
	if contains(methods, r.Method) {
		return true
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	if r.Method == http.MethodOptions {
		if allowCORS {
			cors(w.Header())
			w.Header().Set("Access-Control-Allow-Methods", allow)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	WriteError(w, newError(http.StatusMethodNotAllowed, "invalid_request", "method not allowed"))
	return false
}

// cors allows any origin without credentials: browser MCP clients call the
// metadata, registration and token endpoints cross-origin (MD-04). Never
// used on the authorization endpoint or the consent page.
func cors(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}
