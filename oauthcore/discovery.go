package oauthcore

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// discoveryEndpoint publishes the authorization server's RFC 8414 metadata
// (also at the OpenID Connect path) and, with ES256 keys, the JWKS.
type discoveryEndpoint struct {
	*env
	tokens *Tokens
}

// errSigningKeys: the JWKS is asked for before Sync loaded the keys.
var errSigningKeys = errors.New("signing keys are not loaded")

// metadata is the RFC 8414 authorization-server metadata. Only what exists
// is advertised.
func (d *discoveryEndpoint) metadata() map[string]any {
	iss := d.cfg.Issuer
	authMethods := []string{AuthNone, AuthPost, AuthBasic}
	// offline_access is accepted as a no-op (refresh tokens are always
	// issued), so the authorization server may list it; resources never do.
	scopes := d.cfg.Scopes
	if !slices.Contains(scopes, scopeOfflineAccess) {
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
	if d.tokens.secret == nil {
		m["jwks_uri"] = iss + pathJWKS
	}
	// draft-ietf-oauth-client-id-metadata-document §6: clients use a URL
	// client_id only with a server that says it fetches them.
	if d.cfg.ClientIDMetadata.Enabled() {
		m["client_id_metadata_document_supported"] = true
	}
	return m
}

func (d *discoveryEndpoint) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cors(w.Header())
	writeJSON(w, http.StatusOK, d.metadata())
}

func (d *discoveryEndpoint) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cors(w.Header())
	jwks := d.tokens.JWKS()
	if jwks == nil {
		d.fail(w, r, "jwks", "", unavailable(errSigningKeys))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", jwksCacheControl)
	_, _ = w.Write(jwks)
}

// jwksCacheControl lets a resource server cache the JWKS for less than a
// new key's head start (keyActivationDelay, 3 min): one that fetched just
// before a rotation knows the new key before any token carries it (JW-07).
var jwksCacheControl = "public, max-age=" + strconv.Itoa(int(keyActivationDelay/time.Second/3))
