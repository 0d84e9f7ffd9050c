package oauthcore_test

// httptest tests of discovery: RFC 8414 metadata (also at the OpenID
// Connect path) and the JWKS, in ES256 and HS256 modes.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/memstore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

const hsSecret = "0123456789abcdef0123456789abcdef-discovery"

// TestDiscoveryMetadata_MD01_MD02_PK02: both metadata paths publish the
// same truthful document in both signing modes: the exact issuer, only
// what is implemented (S256, the code flow, the auth methods), jwks_uri
// only when there is a key set to publish, and every advertised endpoint
// is one this server serves. CORS is open, without credentials.
func TestDiscoveryMetadata_MD01_MD02_PK02(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name   string
		secret string
	}{{"ES256", ""}, {"HS256", hsSecret}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *harnessOptions) {
				o.Config.JWTSecret = []byte(mode.secret)
				o.Config.Issuer = asIssuer + "/" // trimmed to the issuer
			})
			var first string
			for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
				r := h.serve(request(http.MethodGet, path, nil))
				if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("GET %s: %s", path, r)
				}
				if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("MD-04 %s: CORS %v", path, r.Header)
				}
				if first == "" {
					first = r.Body
				} else if r.Body != first {
					t.Errorf("%s differs from the RFC 8414 document:\n%s\n%s", path, r.Body, first)
				}
			}
			md := h.serve(request(http.MethodGet, "/.well-known/oauth-authorization-server", nil)).json(t)
			want := map[string]any{
				"issuer":                                         asIssuer,
				"authorization_endpoint":                         asIssuer + "/authorize",
				"token_endpoint":                                 asIssuer + "/token",
				"registration_endpoint":                          asIssuer + "/register",
				"revocation_endpoint":                            asIssuer + "/revoke",
				"introspection_endpoint":                         asIssuer + "/introspect",
				"response_types_supported":                       []any{"code"},
				"response_modes_supported":                       []any{"query"},
				"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
				"code_challenge_methods_supported":               []any{"S256"},
				"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_post", "client_secret_basic"},
				"revocation_endpoint_auth_methods_supported":     []any{"none", "client_secret_post", "client_secret_basic"},
				"introspection_endpoint_auth_methods_supported":  []any{"client_secret_post", "client_secret_basic"},
				"scopes_supported":                               []any{"mcp", "offline_access"},
				"authorization_response_iss_parameter_supported": true,
				"resource_indicators_supported":                  true,
				"client_id_metadata_document_supported":          true,
			}
			if mode.secret == "" {
				want["jwks_uri"] = asIssuer + "/jwks"
			}
			for k, v := range want {
				if !reflect.DeepEqual(md[k], v) {
					t.Errorf("%s = %v, want %v", k, md[k], v)
				}
			}
			for k := range md {
				if _, ok := want[k]; !ok {
					t.Errorf("MD-01: advertises %s = %v, which nothing here implements", k, md[k])
				}
			}
			for k, v := range md {
				u, ok := v.(string)
				if !ok || !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
					continue
				}
				path, onIssuer := strings.CutPrefix(u, asIssuer)
				if !onIssuer || h.Server.Handler(path) == nil {
					t.Errorf("MD-01: %s %q is not served by this server", k, u)
				}
			}
			if strings.Contains(first, mode.secret) && mode.secret != "" {
				t.Error("the HS256 secret is in the metadata")
			}
		})
	}
}

// TestDiscoveryScopes: scopes_supported lists the configured scopes and
// offline_access once (accepted as a no-op), without changing the
// configuration it reads.
func TestDiscoveryScopes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		scopes []string
		want   []any
	}{
		{[]string{"mcp", "read"}, []any{"mcp", "read", "offline_access"}},
		{[]string{"offline_access", "mcp"}, []any{"offline_access", "mcp"}},
	} {
		h := newHarness(t, func(o *harnessOptions) { o.Config.Scopes = tt.scopes; o.Config.DefaultScope = "mcp" })
		for i := 0; i < 2; i++ {
			md := h.serve(request(http.MethodGet, "/.well-known/oauth-authorization-server", nil)).json(t)
			if !reflect.DeepEqual(md["scopes_supported"], tt.want) {
				t.Errorf("scopes %q: scopes_supported %v, want %v", tt.scopes, md["scopes_supported"], tt.want)
			}
		}
		if got := h.Server.Config().Scopes; !reflect.DeepEqual(got, tt.scopes) {
			t.Errorf("serving the metadata changed the configured scopes to %q", got)
		}
	}
}

// TestDiscoveryIgnoresRequestHost_SS03: absolute URLs come from the
// configuration, never from Host or X-Forwarded-* headers.
func TestDiscoveryIgnoresRequestHost_SS03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	plain := h.serve(request(http.MethodGet, "/.well-known/oauth-authorization-server", nil)).Body
	req := request(http.MethodGet, "/.well-known/oauth-authorization-server", nil)
	req.Host = "evil.test"
	req.Header.Set("X-Forwarded-Host", "evil.test")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", "host=evil.test;proto=http")
	if r := h.serve(req); r.Body != plain || strings.Contains(r.Body, "evil.test") {
		t.Errorf("SS-03: the metadata follows the request's host: %s", r.Body)
	}
	reg := request(http.MethodPost, "/register", clientMeta(authPublic))
	reg.Host = "evil.test"
	reg.Header.Set("X-Forwarded-Host", "evil.test")
	if m := h.serve(reg).json(t); m["registration_client_uri"] != asIssuer+"/register/"+m["client_id"].(string) {
		t.Errorf("SS-03: registration_client_uri %v", m["registration_client_uri"])
	}
}

// jwksKeys fetches /jwks and decodes its keys.
func jwksKeys(t *testing.T, h *harness) []map[string]string {
	t.Helper()
	r := h.serve(request(http.MethodGet, "/jwks", nil))
	if r.Status != http.StatusOK {
		t.Fatalf("GET /jwks: %s", r)
	}
	if r.Header.Get("Cache-Control") != "public, max-age=60" || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/jwks headers %v", r.Header)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.Body), &set); err != nil {
		t.Fatalf("/jwks: %v: %s", err, r.Body)
	}
	return set.Keys
}

// verifyWithJWKS checks raw's signature with the published key its kid
// names, as a resource server that only has the JWKS would, and returns
// the kid.
func verifyWithJWKS(t *testing.T, keys []map[string]string, raw string) string {
	t.Helper()
	var kid string
	_, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) {
		kid, _ = tok.Header["kid"].(string)
		for _, k := range keys {
			if k["kid"] != kid {
				continue
			}
			x, _ := base64.RawURLEncoding.DecodeString(k["x"])
			y, _ := base64.RawURLEncoding.DecodeString(k["y"])
			return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		t.Errorf("the token does not verify with the JWKS: %v", err)
	}
	return kid
}

// TestDiscoveryJWKS_JW07: in ES256 mode the JWKS publishes public P-256
// keys (never the private part) that verify the tokens this server signs;
// after a rotation it lists the new key before that key signs, and the
// old key while tokens it signed may live.
func TestDiscoveryJWKS_JW07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.FrozenClock = true
		o.Config.KeyRotation = 24 * time.Hour
		o.Config.AccessTokenLifetime = time.Hour
	})
	keys := jwksKeys(t, h)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	for k, v := range map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"} {
		if keys[0][k] != v {
			t.Errorf("JWK %s = %q, want %q", k, keys[0][k], v)
		}
	}
	if _, ok := keys[0]["d"]; ok || len(keys[0]) != 7 {
		t.Fatalf("the JWK carries more than the public key: %v", keys[0])
	}
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	first := verifyWithJWKS(t, keys, tok.Access)
	if first != keys[0]["kid"] {
		t.Errorf("token kid %q, JWKS kid %q", first, keys[0]["kid"])
	}

	h.clock.Advance(24*time.Hour + time.Second)
	if err := h.Server.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys = jwksKeys(t, h)
	if len(keys) != 2 || keys[0]["kid"] != first {
		t.Fatalf("after rotation: %v, want the old key and a new one", keys)
	}
	early, _ := h.mint(c.ID, asIssuer, nil)
	if verifyWithJWKS(t, keys, early) != first {
		t.Error("the new key signs before every instance can know it")
	}
	h.clock.Advance(3*time.Minute + time.Second)
	if err := h.Server.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	late, _ := h.mint(c.ID, asIssuer, nil)
	if kid := verifyWithJWKS(t, jwksKeys(t, h), late); kid != keys[1]["kid"] {
		t.Errorf("after activation the token's kid is %q, want the new %q", kid, keys[1]["kid"])
	}
	if !h.valid(early) || !h.valid(late) {
		t.Error("a token of the old or the new key is refused")
	}
	h.clock.Advance(time.Hour + h.Server.Config().Leeway + time.Minute)
	if err := h.Server.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys = jwksKeys(t, h); len(keys) != 1 || keys[0]["kid"] == first {
		t.Errorf("once its tokens expired, the old key is still published: %v", keys)
	}
}

// TestDiscoveryJWKSAbsentInHS256_JW07: a symmetric key is never
// published: no /jwks, no jwks_uri.
func TestDiscoveryJWKSAbsentInHS256_JW07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.JWTSecret = []byte(hsSecret) })
	if h.Server.Handler("/jwks") != nil || h.Server.Tokens().JWKS() != nil {
		t.Error("HS256 mode serves a JWKS")
	}
	r := h.serve(request(http.MethodGet, "/jwks", nil))
	if r.Status != http.StatusNotFound || strings.Contains(r.Body, hsSecret) {
		t.Errorf("GET /jwks: %s, want 404", r)
	}
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	if head, _, _ := strings.Cut(tok.Access, "."); head == "" || !h.valid(tok.Access) {
		t.Error("HS256 tokens do not verify")
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok.Access, &oauthcore.Claims{})
	if err != nil || parsed.Method.Alg() != "HS256" || parsed.Header["typ"] != "at+jwt" {
		t.Errorf("HS256 token header %v (%v)", parsed.Header, err)
	}
}

// TestDiscoveryJWKSBeforeSync_RD03: before the keys are loaded the JWKS is
// 503 temporarily_unavailable, not an empty set a client would cache.
func TestDiscoveryJWKSBeforeSync_RD03(t *testing.T) {
	t.Parallel()
	cfg := oauthcore.Config{Issuer: asIssuer, GitHub: oauthcore.GitHubConfig{ClientID: "id", ClientSecret: "secret"}}
	s, err := oauthcore.NewServer(cfg, memstore.New(nil), oauthcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	h := &harness{t: t, harnessState: &harnessState{Server: s}}
	r := h.serve(request(http.MethodGet, "/jwks", nil))
	wantOAuthError(t, "JWKS before Sync", r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if _, err := s.Tokens().Sign(&oauthcore.Claims{}); err == nil {
		t.Error("signing before Sync succeeded")
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys := jwksKeys(t, h); len(keys) != 1 || !slices.ContainsFunc(keys, func(k map[string]string) bool { return k["kid"] != "" }) {
		t.Errorf("after Sync: %v", keys)
	}
}

// TestDiscoveryJWKSCacheShorterThanKeyHeadStart_JW07: a new key is published
// before it signs so that whoever holds the JWKS knows it first; a
// resource server caching the JWKS as its Cache-Control allows must
// therefore never hold a copy older than that head start (it was
// max-age=300 against a 180 s head start: new tokens refused for up to
// two minutes by a consumer that fetched just before a rotation).
func TestDiscoveryJWKSCacheShorterThanKeyHeadStart_JW07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.KeyRotation = 24 * time.Hour })
	r := h.serve(request(http.MethodGet, "/jwks", nil))
	maxAge, err := time.ParseDuration(strings.TrimPrefix(r.Header.Get("Cache-Control"), "public, max-age=") + "s")
	if err != nil {
		t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	cached := jwksKeys(t, h) // fetched just before the rotation
	h.clock.Advance(24*time.Hour + time.Second)
	if err := h.Server.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	known := func(kid string) bool {
		return slices.ContainsFunc(cached, func(k map[string]string) bool { return k["kid"] == kid })
	}
	var headStart time.Duration
	for ; headStart <= 10*time.Minute; headStart += 10 * time.Second {
		raw, _ := h.mint("client_x", asIssuer, nil)
		tok, _, err := jwt.NewParser().ParseUnverified(raw, &oauthcore.Claims{})
		if err != nil {
			t.Fatal(err)
		}
		if kid, _ := tok.Header["kid"].(string); !known(kid) {
			break
		}
		h.clock.Advance(10 * time.Second)
	}
	if maxAge > headStart {
		t.Errorf("JW-07: the JWKS may be cached for %s, but a new key signs %s after it is published", maxAge, headStart)
	}
}
