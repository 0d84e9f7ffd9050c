package oauthcore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func randReader() io.Reader { return rand.Reader }

// memKeys is a KeyStore for unit tests.
type memKeys struct {
	mu sync.Mutex
	ks *KeySet
}

func (m *memKeys) LoadKeys(context.Context) (*KeySet, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ks == nil {
		return nil, ErrNotFound
	}
	cp := *m.ks
	cp.Keys = append([]SigningKey(nil), m.ks.Keys...)
	return &cp, nil
}

func (m *memKeys) SaveKeys(_ context.Context, ks *KeySet) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := 0
	if m.ks != nil {
		cur = m.ks.Version
	}
	if ks.Version != cur+1 {
		return ErrConflict
	}
	m.ks = ks
	return nil
}

const testIssuer = "https://auth.example.com"

func testTokens(t *testing.T, now *time.Time) (*Tokens, *keyring) {
	t.Helper()
	clock := func() time.Time { return *now }
	kr := &keyring{store: &memKeys{}, now: clock, rand: rand.Reader, rotation: 24 * time.Hour, retain: 2 * time.Hour}
	if err := kr.sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &Tokens{issuer: testIssuer, keys: kr, leeway: 30 * time.Second, now: clock}, kr
}

func goodClaims(now time.Time) *Claims {
	return &Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: "4242", Audience: jwt.ClaimStrings{"https://mcp.example.com/github"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-1"},
		ClientID: "client_x", Scope: "mcp",
	}
}

func TestTokensSignVerify(t *testing.T) {
	now := time.Now()
	tk, _ := testTokens(t, &now)
	raw, err := tk.Sign(goodClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "4242" || c.Aud() != "https://mcp.example.com/github" || !c.HasScope("mcp") || c.HasScope("mc") {
		t.Fatalf("claims = %+v", c)
	}
}

// TestTokensForgeryMatrix covers JW-01..JW-04, JW-08 and JW-09: every
// forged or malformed token is refused.
func TestTokensForgeryMatrix(t *testing.T) {
	now := time.Now()
	tk, kr := testTokens(t, &now)
	v := kr.cur.Load()
	sk := v.signing(now)
	pubDER, _ := x509.MarshalPKIXPublicKey(&sk.key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	sign := func(method jwt.SigningMethod, key any, header map[string]any, mutate func(*Claims)) string {
		c := goodClaims(now)
		if mutate != nil {
			mutate(c)
		}
		tok := jwt.NewWithClaims(method, c)
		tok.Header["typ"] = atJWTType
		tok.Header["kid"] = sk.kid
		for k, val := range header {
			if val == nil {
				delete(tok.Header, k)
			} else {
				tok.Header[k] = val
			}
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, goodClaims(now))
		tok.Header["typ"] = atJWTType
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	jwkJSON, _ := json.Marshal(ecJWK(sk.kid, &sk.key.PublicKey))
	es := jwt.SigningMethodES256
	tests := map[string]string{
		"alg none":                   none(),
		"alg NONE":                   strings.Replace(none(), "eyJhbGciOiJub25lIi", "eyJhbGciOiJOT05FIi", 1),
		"HS256 with public PEM":      sign(jwt.SigningMethodHS256, pubPEM, nil, nil),
		"HS256 with public DER":      sign(jwt.SigningMethodHS256, pubDER, nil, nil),
		"HS256 with public JWK":      sign(jwt.SigningMethodHS256, jwkJSON, nil, nil),
		"attacker key, our kid":      sign(es, attacker, nil, nil),
		"attacker key, embedded jwk": sign(es, attacker, map[string]any{"jwk": ecJWK("x", &attacker.PublicKey), "kid": nil}, nil),
		"kid path traversal":         sign(es, sk.key, map[string]any{"kid": "../../x"}, nil),
		"huge kid":                   sign(es, sk.key, map[string]any{"kid": strings.Repeat("a", 10000)}, nil),
		"unknown kid":                sign(es, sk.key, map[string]any{"kid": "nope"}, nil),
		"typ JWT":                    sign(es, sk.key, map[string]any{"typ": "JWT"}, nil),
		"no typ":                     sign(es, sk.key, map[string]any{"typ": nil}, nil),
		"no exp":                     sign(es, sk.key, nil, func(c *Claims) { c.ExpiresAt = nil }),
		"no aud":                     sign(es, sk.key, nil, func(c *Claims) { c.RegisteredClaims.Audience = nil }),
		"no sub":                     sign(es, sk.key, nil, func(c *Claims) { c.Subject = "" }),
		"no jti":                     sign(es, sk.key, nil, func(c *Claims) { c.ID = "" }),
		"no iat":                     sign(es, sk.key, nil, func(c *Claims) { c.IssuedAt = nil }),
		"no client_id":               sign(es, sk.key, nil, func(c *Claims) { c.ClientID = "" }),
		"other issuer":               sign(es, sk.key, nil, func(c *Claims) { c.Issuer = "https://evil.test" }),
		"expired beyond leeway":      sign(es, sk.key, nil, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-2 * time.Minute)) }),
		"nbf in the future":          sign(es, sk.key, nil, func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) }),
		"iat in the future":          sign(es, sk.key, nil, func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(5 * time.Minute)) }),
		"oversized":                  strings.Repeat("a", 16<<10),
		"garbage":                    "not-a-jwt",
		"opaque refresh token":       "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := tk.Verify(raw); err == nil {
				t.Fatal("forged token accepted")
			}
		})
	}
	// JW-04: within leeway is accepted.
	within := sign(es, sk.key, nil, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second)) })
	if _, err := tk.Verify(within); err != nil {
		t.Fatalf("token expired 10s ago (within leeway) refused: %v", err)
	}
}

// TestKeyRotation covers JW-07: a new key is published before it signs
// (every instance learns it first), then new tokens carry its kid, old
// tokens verify until the old key is dropped, and JWKS lists both meanwhile.
func TestKeyRotation(t *testing.T) {
	now := time.Now()
	tk, kr := testTokens(t, &now)
	oldKID := kr.cur.Load().signing(now).kid
	old, _ := tk.Sign(goodClaims(now))
	kidOf := func(raw string) any {
		tok, _, _ := jwt.NewParser().ParseUnverified(raw, &Claims{})
		return tok.Header["kid"]
	}
	sync := func() {
		t.Helper()
		if err := kr.sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	now = now.Add(25 * time.Hour) // past the rotation period
	sync()
	v := kr.cur.Load()
	if len(v.pub) != 2 {
		t.Fatalf("after rotation %d keys are published, want 2", len(v.pub))
	}
	pending, _ := tk.Sign(goodClaims(now))
	if kidOf(pending) != oldKID {
		t.Fatal("a new key must not sign before every instance has had time to learn it")
	}

	now = now.Add(keyActivationDelay + time.Second)
	sync()
	fresh, _ := tk.Sign(goodClaims(now))
	newKID := kidOf(fresh)
	if newKID == oldKID {
		t.Fatal("after activation new tokens must carry the new kid")
	}
	jwks := string(tk.JWKS())
	if !strings.Contains(jwks, oldKID) || !strings.Contains(jwks, newKID.(string)) {
		t.Fatal("JWKS must list both keys during the overlap")
	}
	if _, err := tk.Verify(fresh); err != nil {
		t.Fatal(err)
	}
	then := now
	now = now.Add(-25*time.Hour - keyActivationDelay - time.Second) // when old was signed
	if _, err := tk.Verify(old); err != nil {
		t.Fatalf("old token refused during the overlap: %v", err)
	}
	now = then.Add(3 * time.Hour) // retired longer than retain (2h)
	sync()
	if _, ok := kr.cur.Load().pub[oldKID]; ok {
		t.Fatal("a retired key must be dropped after its tokens expired")
	}
}

func TestHS256Mode(t *testing.T) {
	now := time.Now()
	tk := &Tokens{issuer: testIssuer, secret: []byte(strings.Repeat("s", 32)), leeway: time.Second, now: func() time.Time { return now }}
	raw, err := tk.Sign(goodClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if tk.JWKS() != nil {
		t.Fatal("a symmetric key must never be published")
	}
	other := &Tokens{issuer: testIssuer, secret: []byte(strings.Repeat("t", 32)), leeway: time.Second, now: tk.now}
	if _, err := other.Verify(raw); err == nil {
		t.Fatal("token verified with the wrong secret")
	}
}
