package oauthcore

import (
	"slices"
	"strings"
)

// scopeOfflineAccess asks for a refresh token (OpenID Connect Core §11).
// Refresh tokens are always issued, so it is accepted and ignored: it never
// counts toward a granted scope and never appears in a challenge or in
// protected-resource metadata (MCP 2026-07-28).
const scopeOfflineAccess = "offline_access"

// narrowScope is the part of requested this server grants within allowed:
// RFC 7591 §3.2.1 and RFC 6749 §3.3 let the server replace or ignore part
// of a requested scope, so unknown scopes (a client's own, such as
// claudeai or openid) are dropped, not refused. Duplicates are removed
// and the order of the request kept.
func narrowScope(requested string, allowed []string) []string {
	var out []string
	for _, sc := range strings.Fields(requested) {
		if sc != scopeOfflineAccess && slices.Contains(allowed, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// registeredScope is the scope a registration stores: the requested scope
// narrowed to the configured ones, the default scope when nothing of it is
// known, and "" when the registration named no scope at all (such a client
// may later request any configured scope).
func (c *Config) registeredScope(requested string) string {
	if strings.TrimSpace(requested) == "" {
		return ""
	}
	if got := narrowScope(requested, c.Scopes); len(got) > 0 {
		return strings.Join(got, " ")
	}
	return c.DefaultScope
}

// clientScopes are the scopes a client may be granted: its registered
// scope, or every configured scope when it registered none.
func (c *Config) clientScopes(cl *Client) []string {
	if cl.Metadata.Scope == "" {
		return c.Scopes
	}
	return narrowScope(cl.Metadata.Scope, c.Scopes)
}

// grantScope decides the scope of an authorization request (RFC 6749
// §3.3): the requested scopes this client may have; the default scope
// (within what the client may have) when the request names none of them.
// Only a client that registered a scope and asks for a configured scope
// outside it is refused, with invalid_scope: its registration is the
// limit it chose (AZ-10), and silently granting less would hide that.
func (c *Config) grantScope(cl *Client, requested string) (string, bool) {
	if len(requested) > maxFieldBytes {
		return "", false
	}
	allowed := c.clientScopes(cl)
	for _, sc := range narrowScope(requested, c.Scopes) {
		if !slices.Contains(allowed, sc) {
			return "", false
		}
	}
	if got := narrowScope(requested, allowed); len(got) > 0 {
		return strings.Join(got, " "), true
	}
	if def := narrowScope(c.DefaultScope, allowed); len(def) > 0 {
		return strings.Join(def, " "), true
	}
	return strings.Join(allowed, " "), len(allowed) > 0
}

// challengeScope is what a protected resource tells clients to ask for
// (RFC 6750 §3 scope, RFC 9728 scopes_supported): the gate's required
// scopes, or the default scope when it requires none, so that a client
// requests a scope this server grants.
func (c *Config) challengeScope(required []string) []string {
	if len(required) > 0 {
		return required
	}
	return narrowScope(c.DefaultScope, c.Scopes)
}
