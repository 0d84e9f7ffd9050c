package oauthcore

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// atJWTType is the RFC 9068 §2.1 media type our access tokens carry in
// "typ"; requiring it keeps other JWTs from passing as access tokens
// (RFC 8725 §3.11).
const atJWTType = "at+jwt"

// maxTokenBytes bounds what is parsed at all (JW-08).
const maxTokenBytes = 8 << 10

// Tokens signs and verifies access tokens. With an HMAC secret it is HS256
// (the mcp-oauth-dynamicclient format); otherwise ES256 keys from the keyring.
type Tokens struct {
	issuer string
	secret []byte
	keys   *keyring
	leeway time.Duration
	now    func() time.Time
}

// Sign returns the compact JWT for c.
func (t *Tokens) Sign(c *Claims) (string, error) {
	if t.secret != nil {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = atJWTType
		return tok.SignedString(t.secret)
	}
	v := t.keys.cur.Load()
	if v == nil {
		return "", errors.New("signing keys not loaded")
	}
	sk := v.signing(t.now())
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"] = atJWTType
	tok.Header["kid"] = sk.kid
	return tok.SignedString(sk.key)
}

// JWKS returns the published key set, or nil in HS256 mode (a symmetric
// key is never published).
func (t *Tokens) JWKS() []byte {
	if t.secret != nil || t.keys == nil {
		return nil
	}
	if v := t.keys.cur.Load(); v != nil {
		return v.jwks
	}
	return nil
}

// Verify checks signature, type, issuer and time claims of an access token
// and that every claim we rely on is present. It does no I/O: the key is
// chosen by kid from memory and the algorithm is pinned per mode, so
// alg=none, HS/ES confusion and keys embedded in the token all fail
// (RFC 8725 §2.1, §3.1, §3.10). Audience, scope and revocation are the
// caller's checks.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	if len(raw) > maxTokenBytes {
		return nil, errors.New("token too large")
	}
	method := jwt.SigningMethodES256.Alg()
	if t.secret != nil {
		method = jwt.SigningMethodHS256.Alg()
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{method}),
		jwt.WithIssuer(t.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(t.now),
	)
	c := &Claims{}
	tok, err := p.ParseWithClaims(raw, c, t.keyFor)
	if err != nil {
		return nil, err
	}
	if typ, _ := tok.Header["typ"].(string); typ != atJWTType {
		return nil, errors.New("token type is not at+jwt")
	}
	if c.Subject == "" || c.ID == "" || c.ClientID == "" || c.IssuedAt == nil || len(c.RegisteredClaims.Audience) == 0 {
		return nil, errors.New("token lacks a required claim")
	}
	return c, nil
}

func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	if t.secret != nil {
		return t.secret, nil
	}
	kid, _ := tok.Header["kid"].(string)
	if !validKID(kid) {
		return nil, errors.New("malformed kid")
	}
	v := t.keys.cur.Load()
	if v == nil {
		return nil, errors.New("signing keys not loaded")
	}
	pub, ok := v.pub[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid")
	}
	return pub, nil
}

// validKID limits kid to [A-Za-z0-9_-]{1,64} (JW-02).
func validKID(kid string) bool {
	if len(kid) == 0 || len(kid) > 64 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
