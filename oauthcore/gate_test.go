package oauthcore_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/boltstore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

const (
	issuer   = "https://auth.example.com"
	resource = "https://mcp.example.com/github"
	prm      = "https://mcp.example.com/.well-known/oauth-protected-resource/github"
)

// newServer builds a server on a fresh embedded store.
func newServer(t testing.TB, secret []byte) *oauthcore.Server {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// The gate re-checks the allow-list (CD-09): mint's user, 4242, is on it.
	cfg := oauthcore.Config{Issuer: issuer, JWTSecret: secret, GitHub: oauthcore.GitHubConfig{ClientID: "id", ClientSecret: "secret",
		AllowedUsers: []string{"4242"}}}
	s, err := oauthcore.NewServer(cfg, st, oauthcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// mint signs a token for a fresh live grant; mutate adjusts its claims.
func mint(t testing.TB, s *oauthcore.Server, mutate func(*oauthcore.Claims)) (string, *oauthcore.Claims) {
	t.Helper()
	now := time.Now()
	g := &oauthcore.Grant{ID: "g" + strings.ReplaceAll(now.Format("150405.000000000"), ".", ""), ClientID: "client_a",
		User: oauthcore.User{ID: "4242", Login: "alice"}, Scope: "mcp", CreatedAt: now, LastUsed: now,
		ExpiresAt: now.Add(time.Hour), RefreshHash: oauthcore.HashSecret(now.String()), Version: 1}
	if err := s.Store().CreateGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	c := &oauthcore.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: "4242", Audience: jwt.ClaimStrings{resource},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-" + g.ID},
		ClientID: "client_a", Scope: "mcp", Username: "alice", GrantID: g.ID,
	}
	if mutate != nil {
		mutate(c)
	}
	raw, err := s.Tokens().Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

func check(s *oauthcore.Server, g *oauthcore.Gate, authz string) *httptest.ResponseRecorder {
	return checkPath(s, g, authz, "/github")
}

func checkPath(s *oauthcore.Server, g *oauthcore.Gate, authz, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "https://mcp.example.com"+path, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	_, _ = g.Check(w, r, s.Verifier(), path)
	return w
}

// TestGateChallenges covers RS-04 and JW-09: the three challenge shapes.
func TestGateChallenges(t *testing.T) {
	s := newServer(t, nil)
	g := s.NewGate(resource, []string{"mcp"}, true)
	good, _ := mint(t, s, nil)
	otherAud, _ := mint(t, s, func(c *oauthcore.Claims) {
		c.RegisteredClaims.Audience = jwt.ClaimStrings{"https://mcp.example.com/github-other"}
	})
	twoAud, _ := mint(t, s, func(c *oauthcore.Claims) { c.RegisteredClaims.Audience = jwt.ClaimStrings{resource, "https://x.test"} })
	lowScope, _ := mint(t, s, func(c *oauthcore.Claims) { c.Scope = "other" })
	tests := []struct {
		name, authz string
		status      int
		challenge   string
	}{
		{"no token", "", 401, `Bearer resource_metadata="` + prm + `", scope="mcp"`},
		{"basic scheme", "Basic YTpi", 401, `Bearer resource_metadata="` + prm + `", scope="mcp"`},
		{"garbage", "Bearer x.y.z", 401, `Bearer resource_metadata="` + prm + `", scope="mcp", error="invalid_token"`},
		{"refresh token as bearer", "Bearer dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 401, `error="invalid_token"`},
		{"other audience", "Bearer " + otherAud, 401, `error="invalid_token"`},
		{"two audiences", "Bearer " + twoAud, 401, `error="invalid_token"`},
		{"missing scope", "Bearer " + lowScope, 403, `Bearer resource_metadata="` + prm + `", scope="mcp", error="insufficient_scope"`},
		{"good", "Bearer " + good, 200, ""},
		{"good, lowercase scheme", "bearer " + good, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := check(s, g, tt.authz)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.challenge == "" && got != "") {
				t.Fatalf("challenge %q, want %q", got, tt.challenge)
			}
			if tt.status == 401 && tt.name == "no token" && strings.Contains(w.Header().Get("WWW-Authenticate"), "error=") {
				t.Fatal("no error parameter without credentials (RFC 6750 §3.1)")
			}
		})
	}
}

func TestGateRefusesQueryToken(t *testing.T) {
	s := newServer(t, nil)
	g := s.NewGate(resource, nil, true)
	good, _ := mint(t, s, nil)
	r := httptest.NewRequest("GET", "https://mcp.example.com/github/mcp?access_token="+good, nil)
	w := httptest.NewRecorder()
	if _, err := g.Check(w, r, s.Verifier(), "/github/mcp"); err == nil || w.Code != 400 {
		t.Fatalf("query token: status %d err %v", w.Code, err)
	}
}

// TestGateRevocation covers JW-06 and the cache's invalidation: a cached
// token is refused as soon as its grant or jti is revoked.
func TestGateRevocation(t *testing.T) {
	s := newServer(t, nil)
	g := s.NewGate(resource, nil, true)
	for _, kind := range []string{"grant", "token"} {
		t.Run(kind, func(t *testing.T) {
			raw, c := mint(t, s, nil)
			if w := check(s, g, "Bearer "+raw); w.Code != 200 {
				t.Fatalf("first use %d", w.Code)
			}
			if w := check(s, g, "Bearer "+raw); w.Code != 200 { // served from the cache
				t.Fatalf("second use %d", w.Code)
			}
			var err error
			if kind == "grant" {
				err = s.Store().RevokeGrant(t.Context(), c.GrantID)
			} else {
				err = s.Store().RevokeToken(t.Context(), c.ID, c.ExpiresAt.Time)
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := check(s, g, "Bearer "+raw); w.Code != 401 {
				t.Fatalf("after revocation %d, want 401", w.Code)
			}
		})
	}
}

func TestGateMetadata(t *testing.T) {
	s := newServer(t, nil)
	g := s.NewGate(resource, []string{"mcp"}, true)
	w := httptest.NewRecorder()
	g.ServeMetadata(w, httptest.NewRequest("GET", prm, nil), resource)
	body := w.Body.String()
	for _, want := range []string{`"resource":"` + resource + `"`, `"authorization_servers":["` + issuer + `"]`, `"scopes_supported":["mcp"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("metadata %s lacks %s", body, want)
		}
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("metadata must allow CORS")
	}
}

// BenchmarkVerifyRepeat is the gate's hot path: a token seen before.
func BenchmarkVerifyRepeat(b *testing.B) {
	for _, mode := range []struct {
		name   string
		secret []byte
	}{{"ES256", nil}, {"HS256", []byte(strings.Repeat("k", 32))}} {
		b.Run(mode.name, func(b *testing.B) {
			s := newServer(b, mode.secret)
			g := s.NewGate(resource, []string{"mcp"}, true)
			raw, _ := mint(b, s, nil)
			r := httptest.NewRequest("POST", "https://mcp.example.com/github/mcp", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			w := httptest.NewRecorder()
			if _, err := g.Check(w, r, s.Verifier(), "/github/mcp"); err != nil {
				b.Fatal(err)
			}
			var sink http.ResponseWriter = w
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := g.Check(sink, r, s.Verifier(), "/github/mcp"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyFirst is a token's first use: signature and store check.
func BenchmarkVerifyFirst(b *testing.B) {
	s := newServer(b, nil)
	raw, _ := mint(b, s, nil)
	v := s.NewVerifier(16) // tiny cache, and each round drops the entry
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		v.Close()
		v = s.NewVerifier(16)
		b.StartTimer()
	}
	v.Close()
}
