package oauthcore

import (
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of our access tokens: the RFC 9068 profile plus
// the GitHub identity under mcp-oauth-dynamicclient's claim names, and the id of the
// grant that produced the token so revoking the grant ends it.
type Claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Username string `json:"username,omitempty"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name,omitempty"`
	GrantID  string `json:"gid,omitempty"`

	// Attachment lets an adapter keep data derived from a verified token
	// next to it for as long as the verifier caches the token (the Caddy
	// handler keeps its placeholder values there, built once).
	Attachment atomic.Value `json:"-"`
}

// Aud returns the single audience our tokens carry.
func (c *Claims) Aud() string {
	if len(c.RegisteredClaims.Audience) == 0 {
		return ""
	}
	return c.RegisteredClaims.Audience[0]
}

// HasScope reports whether the space-separated scope list contains want.
func (c *Claims) HasScope(want string) bool {
	s := c.Scope
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ' ' {
			i++
		}
		if s[:i] == want {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}
