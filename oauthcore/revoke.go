package oauthcore

import (
	"errors"
	"net/http"
)

// revokeEndpoint is RFC 7009 token revocation, /revoke.
type revokeEndpoint struct {
	*env
	auth        *clientAuthenticator
	tokens      *Tokens
	grants      GrantStore
	revocations RevocationStore
	// check revokes an ended grant's GitHub token at GitHub.
	check *grantChecker
}

// serve is RFC 7009. The client must authenticate and can revoke
// only its own tokens; anything else is answered 200 and does nothing
// (RFC 7009 §2.2), so the endpoint is no oracle (RV-01). Revoking an
// access token ends that token; revoking a refresh token ends the grant.
func (rv *revokeEndpoint) serve(w http.ResponseWriter, r *http.Request) {
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
		c, err = rv.auth.authenticate(r, p)
	}
	if err == nil {
		err = rv.revoke(r, c, p.get("token"))
	}
	if err != nil {
		rv.fail(w, r, "revoke", p.get("client_id"), err)
		return
	}
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}

func (rv *revokeEndpoint) revoke(r *http.Request, c *Client, token string) error {
	ctx := r.Context()
	if claims, err := rv.tokens.Verify(token); err == nil {
		if claims.ClientID != c.ID {
			return nil
		}
		if err := rv.revocations.RevokeToken(ctx, claims.ID, claims.ExpiresAt.Time); err != nil {
			return unavailable(err)
		}
		rv.log.InfoContext(ctx, "access token revoked", "step", "revoke", "client_id", c.ID, "jti", claims.ID)
		rv.metrics.Revocation("access_token")
		return nil
	}
	g, err := rv.grants.GrantByRefresh(ctx, HashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil // unknown tokens are not an error (RFC 7009 §2.2)
	}
	if err != nil {
		return unavailable(err)
	}
	if g.ClientID != c.ID {
		return nil
	}
	if err := rv.grants.RevokeGrant(ctx, g.ID); err != nil {
		return unavailable(err)
	}
	rv.log.InfoContext(ctx, "grant revoked", "step", "revoke", "client_id", c.ID)
	rv.check.revokeAtGitHub(ctx, g)
	rv.metrics.Revocation("grant")
	return nil
}
