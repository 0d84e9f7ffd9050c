package oauthcore

import (
	"context"
	"net/http"
)

// serveIntrospect is RFC 7662. Only confidential clients may introspect,
// and only their own tokens; everything else is {"active": false}, so the
// endpoint cannot be used to scan tokens or read identities (RV-02).
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	p, err := parsePostForm(w, r)
	var c *Client
	if err == nil {
		c, err = s.authenticateClient(r.Context(), r, p)
	}
	if err == nil && c.Public() {
		err = authFailed()
	}
	var resp map[string]any
	if err == nil {
		resp, err = s.introspect(r.Context(), c, p.get("token"))
	}
	if err != nil {
		s.fail(w, r, "introspect", p.get("client_id"), err)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) introspect(ctx context.Context, c *Client, token string) (map[string]any, error) {
	inactive := map[string]any{"active": false}
	claims, err := s.tokens.Verify(token)
	if err != nil || claims.ClientID != c.ID {
		return inactive, nil
	}
	revoked, err := s.Revoked(ctx, claims)
	if err != nil {
		return nil, unavailable(err)
	}
	if revoked {
		return inactive, nil
	}
	return map[string]any{
		"active": true, "token_type": "Bearer", "scope": claims.Scope, "client_id": claims.ClientID,
		"username": claims.Username, "sub": claims.Subject, "aud": claims.Aud(), "iss": claims.Issuer,
		"exp": claims.ExpiresAt.Unix(), "iat": claims.IssuedAt.Unix(), "jti": claims.ID,
	}, nil
}

// Revoked reports whether a verified token was revoked, directly or through
// its grant (code replay, refresh reuse, client deletion, RFC 7009).
func (s *Server) Revoked(ctx context.Context, c *Claims) (bool, error) {
	if revoked, err := s.store.TokenRevoked(ctx, c.ID); err != nil || revoked {
		return revoked, err
	}
	if c.GrantID == "" {
		return false, nil
	}
	return s.store.GrantRevoked(ctx, c.GrantID)
}
