package oauthcore

import (
	"context"
	"net/http"
)

// introspectEndpoint is RFC 7662 token introspection, /introspect.
type introspectEndpoint struct {
	*env
	auth    *clientAuthenticator
	tokens  *Tokens
	revoked revocationCheck
}

// serve is RFC 7662. Only confidential clients may introspect,
// and only their own tokens; everything else is {"active": false}, so the
// endpoint cannot be used to scan tokens or read identities (RV-02).
func (in *introspectEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !corsMethods(w, r, http.MethodPost) {
		return
	}
	cors(w.Header())
	p, err := parsePostForm(w, r)
	var c *Client
	if err == nil {
		c, err = in.auth.authenticate(r, p)
	}
	if err == nil && c.Public() {
		err = authFailed()
	}
	var resp map[string]any
	if err == nil {
		resp, err = in.introspect(r.Context(), c, p.get("token"))
	}
	if err != nil {
		in.fail(w, r, "introspect", p.get("client_id"), err)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusOK, resp)
}

func (in *introspectEndpoint) introspect(ctx context.Context, c *Client, token string) (map[string]any, error) {
	inactive := map[string]any{"active": false}
	claims, err := in.tokens.Verify(token)
	if err != nil || claims.ClientID != c.ID {
		return inactive, nil
	}
	revoked, err := in.revoked.revoked(ctx, claims)
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
