package oauthcore

import (
	"errors"
	"net/http"
)

// serveRevoke is RFC 7009. The client must authenticate and can revoke
// only its own tokens; anything else is answered 200 and does nothing
// (RFC 7009 §2.2), so the endpoint is no oracle (RV-01). Revoking an
// access token ends that token; revoking a refresh token ends the grant.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	p, err := parsePostForm(w, r)
	if err == nil && p.get("token") == "" {
		err = invalidRequest("token is required")
	}
	var c *Client
	if err == nil {
		c, err = s.authenticateClient(r.Context(), r, p)
	}
	if err == nil {
		err = s.revoke(r, c, p.get("token"))
	}
	if err != nil {
		s.fail(w, r, "revoke", p.get("client_id"), err)
		return
	}
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revoke(r *http.Request, c *Client, token string) error {
	ctx := r.Context()
	if claims, err := s.tokens.Verify(token); err == nil {
		if claims.ClientID != c.ID {
			return nil
		}
		if err := s.store.RevokeToken(ctx, claims.ID, claims.ExpiresAt.Time); err != nil {
			return unavailable(err)
		}
		s.log.InfoContext(ctx, "access token revoked", "step", "revoke", "client_id", c.ID, "jti", claims.ID)
		return nil
	}
	g, err := s.store.GrantByRefresh(ctx, HashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil // unknown tokens are not an error (RFC 7009 §2.2)
	}
	if err != nil {
		return unavailable(err)
	}
	if g.ClientID != c.ID {
		return nil
	}
	if err := s.store.RevokeGrant(ctx, g.ID); err != nil {
		return unavailable(err)
	}
	s.log.InfoContext(ctx, "grant revoked", "step", "revoke", "client_id", c.ID)
	return nil
}
