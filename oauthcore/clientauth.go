package oauthcore

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
)

// authFailed is the one answer for every client-authentication failure, so
// unknown ids and wrong secrets look alike (CL-06).
func authFailed() *Error { return invalidClient("client authentication failed") }

// credentials are what a request presented to authenticate a client.
type credentials struct {
	id, secret string
	method     string // AuthBasic, AuthPost or AuthNone
}

// readCredentials takes client credentials from HTTP Basic or the form,
// never both (RFC 6749 §2.3.1).
func readCredentials(r *http.Request, p params) (credentials, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		cr := credentials{id: p.get("client_id"), secret: p.get("client_secret"), method: AuthNone}
		if cr.secret != "" {
			cr.method = AuthPost
		}
		if cr.id == "" {
			return cr, authFailed()
		}
		return cr, nil
	}
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") || p.get("client_secret") != "" {
		return credentials{}, authFailed()
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return credentials{}, authFailed()
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return credentials{}, authFailed()
	}
	// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
	if id, err = url.QueryUnescape(id); err != nil {
		return credentials{}, authFailed()
	}
	if secret, err = url.QueryUnescape(secret); err != nil {
		return credentials{}, authFailed()
	}
	if formID := p.get("client_id"); formID != "" && formID != id {
		return credentials{}, authFailed()
	}
	return credentials{id: id, secret: secret, method: AuthBasic}, nil
}

// clientAuthenticator authenticates clients at /token, /revoke and
// /introspect.
type clientAuthenticator struct {
	clients *clientResolver
	now     func() time.Time
	// limits and maxFailures bound wrong secrets per client
	// (Limits.AuthFailuresPerClient).
	limits      *limiter
	maxFailures int
}

// authenticate authenticates the client the way its registration
// allows: a public client presents no secret; a confidential one presents
// its secret in exactly one transport, Basic or the body, whichever it
// registered (RFC 6749 §2.3.1 lets the server accept both; clients such as
// Codex register client_secret_post and send Basic). The secret itself is
// never optional (CL-01, S3).
func (a *clientAuthenticator) authenticate(r *http.Request, p params) (*Client, error) {
	cr, err := readCredentials(r, p)
	if err != nil {
		return nil, err
	}
	// A client_id URL names a public client: one presenting a secret is
	// refused before its document is fetched (SS-04).
	if cimd.IsClientIDURL(cr.id) && cr.method != AuthNone {
		return nil, authFailed()
	}
	c, err := a.clients.client(r, cr.id)
	if err != nil {
		return nil, clientAuthErr(err)
	}
	if c.Public() {
		if cr.method != AuthNone {
			return nil, authFailed()
		}
		return c, nil
	}
	if cr.method == AuthNone {
		return nil, authFailed()
	}
	failures := clientKey("authfail", c.ID)
	if err := a.limits.over(r.Context(), failures, a.maxFailures, "failed authentications of this client"); err != nil {
		return nil, err
	}
	if !hashMatches(cr.secret, c.SecretHash) {
		_ = a.limits.hit(r.Context(), failures, a.maxFailures, "")
		return nil, authFailed()
	}
	if !c.SecretExpiresAt.IsZero() && a.now().After(c.SecretExpiresAt) && !keptAlive(c) {
		return nil, authFailed()
	}
	return c, nil
}

// keptAlive reports whether the registration outlived its expiry because a
// grant of it is live: the store returns such a client only then (see
// ClientStore.GetClient). Its secret, issued for the registration's
// lifetime, lives as long: a confidential client that keeps refreshing is
// never stranded with invalid_client (DR-06), and a registration with no
// live grant is gone, secret and all (CL-07).
func keptAlive(c *Client) bool {
	return !c.ExpiresAt.IsZero() && c.SecretExpiresAt.Equal(c.ExpiresAt)
}
