package oauthcore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpoauth/caddy-mcp-oauth/boltstore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// newServerWith is newServer with cfg adjusted by mutate.
func newServerWith(t testing.TB, mutate func(*oauthcore.Config)) *oauthcore.Server {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := oauthcore.Config{Issuer: issuer, JWTSecret: []byte("0123456789abcdef0123456789abcdef"),
		GitHub: oauthcore.GitHubConfig{ClientID: "id", ClientSecret: "secret", AllowedUsers: []string{"4242"}}} // mint's user
	if mutate != nil {
		mutate(&cfg)
	}
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

// audToken mints a token whose audience is aud.
func audToken(t *testing.T, s *oauthcore.Server, aud string) string {
	t.Helper()
	raw, _ := mint(t, s, func(c *oauthcore.Claims) { c.Audience = jwt.ClaimStrings{aud} })
	return raw
}

// verify calls /verify (with query, if any) as a proxy would, with token
// (none when empty) and the forwarded URL proto://host+uri (no headers when
// proto is empty).
func verify(s *oauthcore.Server, query, token, proto, host, uri string) *httptest.ResponseRecorder {
	target := issuer + "/verify"
	if query != "" {
		target += "?" + query
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if proto != "" {
		r.Header.Set("X-Forwarded-Proto", proto)
		r.Header.Set("X-Forwarded-Host", host)
		r.Header.Set("X-Forwarded-Uri", uri)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func verifyMetadataURL(res string) string {
	return issuer + "/verify/metadata?resource=" + url.QueryEscape(res)
}

// TestVerifyForwardedURL: without ?resource=, /verify takes the URL the
// proxy reports as the resource: a token whose audience covers it passes,
// a token for another host or a sibling path does not, whatever headers
// the request carries; an issuer-audience token passes as before; the 401
// names the forwarded URL's metadata, which is served.
func TestVerifyForwardedURL(t *testing.T) {
	s := newServerWith(t, nil)
	forA := audToken(t, s, "https://a.example/x")
	forGithub := audToken(t, s, resource) // https://mcp.example.com/github
	forIssuer := audToken(t, s, issuer)

	for _, tt := range []struct {
		what, token, proto, host, uri string
		status                        int
		meta                          string // resource of the challenge, when 401
	}{
		{"token for the forwarded URL", forGithub, "https", "mcp.example.com", "/github/mcp?session=1", 200, ""},
		{"token for the forwarded URL itself", forGithub, "https", "mcp.example.com", "/github", 200, ""},
		{"proxy chain: the first proto and host", forGithub, "https, http", "mcp.example.com, internal:8080", "/github/mcp", 200, ""},
		{"token for a.example/x at a.example/x/y", forA, "https", "a.example", "/x/y", 200, ""},
		{"token for a.example/x at b.example/x", forA, "https", "b.example", "/x", 401, "https://b.example/x"},
		{"token for a.example/x at b.example/", forA, "https", "b.example", "/", 401, "https://b.example"},
		{"token for /github at /github-other", forGithub, "https", "mcp.example.com", "/github-other/mcp", 401,
			"https://mcp.example.com/github-other/mcp"},
		{"token for /github above it", forGithub, "https", "mcp.example.com", "/", 401, "https://mcp.example.com"},
		{"issuer-audience token", forIssuer, "https", "b.example", "/anything", 200, ""},
		{"no token, canonicalised", "", "HTTPS", "MCP.Example.com:443", "/github/mcp/?q=1", 401, "https://mcp.example.com/github/mcp"},
		{"no forwarded headers, issuer-audience token", forIssuer, "", "", "", 200, ""},
		{"no forwarded headers, resource token", forGithub, "", "", "", 401, issuer},
	} {
		w := verify(s, "", tt.token, tt.proto, tt.host, tt.uri)
		if w.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.what, w.Code, w.Body, tt.status)
			continue
		}
		if tt.status == 200 {
			if w.Header().Get("X-User-Id") != "4242" || w.Header().Get("X-User-Name") != "alice" {
				t.Errorf("%s: identity headers %v", tt.what, w.Header())
			}
			continue
		}
		if w.Header().Get("X-User-Id") != "" {
			t.Errorf("%s: refused with X-User-Id", tt.what)
		}
		if tt.meta == "" {
			continue
		}
		want := `resource_metadata="` + verifyMetadataURL(tt.meta) + `"`
		if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, want) {
			t.Errorf("%s: WWW-Authenticate %q, want %s", tt.what, got, want)
		}
		m := httptest.NewRecorder()
		s.ServeHTTP(m, httptest.NewRequest(http.MethodGet, verifyMetadataURL(tt.meta), nil))
		var body map[string]any
		if m.Code != 200 || json.Unmarshal(m.Body.Bytes(), &body) != nil || body["resource"] != tt.meta {
			t.Errorf("%s: metadata %d %s, want resource %s", tt.what, m.Code, m.Body, tt.meta)
		}
	}

	for _, tt := range []struct{ what, proto, host, uri string }{
		{"ftp", "ftp", "mcp.example.com", "/github"},
		{"http off loopback", "http", "a.example", "/x"},
		{"host with a path", "https", "mcp.example.com/github", "/x"},
		{"host with user info", "https", "a.example@mcp.example.com", "/github"},
		{"relative URI", "https", "mcp.example.com", "github"},
		{"dot segments", "https", "mcp.example.com", "/x/../github"},
	} {
		// Headers that name no valid resource change nothing: only
		// issuer-audience tokens pass, as without them.
		if w := verify(s, "", forGithub, tt.proto, tt.host, tt.uri); w.Code != 401 {
			t.Errorf("forwarded URL with %s, resource token: %d %s, want 401", tt.what, w.Code, w.Body)
		}
		if w := verify(s, "", audToken(t, s, issuer), tt.proto, tt.host, tt.uri); w.Code != 200 {
			t.Errorf("forwarded URL with %s, issuer token: %d %s, want 200", tt.what, w.Code, w.Body)
		}
	}
}

// TestVerifyExplicitResourceIgnoresForwardedHost: with ?resource= the
// operator's space is fixed; forwarded headers only pick a URL inside it.
func TestVerifyExplicitResourceIgnoresForwardedHost(t *testing.T) {
	s := newServerWith(t, nil)
	q := "resource=" + url.QueryEscape(resource)
	forGithub := audToken(t, s, resource)
	if w := verify(s, q, audToken(t, s, "https://b.example"), "https", "b.example", "/"); w.Code != 401 {
		t.Errorf("token for the forwarded host, other resource in the query: %d, want 401", w.Code)
	}
	if w := verify(s, q, forGithub, "https", "b.example", "/github/mcp"); w.Code != 200 {
		t.Errorf("token for the query's resource, forwarded host elsewhere: %d, want 200", w.Code)
	}
	w := verify(s, q, "", "https", "b.example", "/github/mcp")
	if want := verifyMetadataURL(resource + "/mcp"); !strings.Contains(w.Header().Get("WWW-Authenticate"), want) {
		t.Errorf("challenge %q, want it to name %s", w.Header().Get("WWW-Authenticate"), want)
	}
}

// TestVerifyForwardedURLConfiguredResources: with `resources`, a forwarded
// URL outside them is not a resource: a token for it fails, an
// issuer-audience token passes as without the headers, and it has no
// metadata.
func TestVerifyForwardedURLConfiguredResources(t *testing.T) {
	s := newServerWith(t, func(c *oauthcore.Config) { c.Resources = []string{resource} })
	forGithub := audToken(t, s, resource)
	forIssuer := audToken(t, s, issuer)
	if w := verify(s, "", forGithub, "https", "mcp.example.com", "/github/mcp"); w.Code != 200 {
		t.Errorf("configured resource: %d %s, want 200", w.Code, w.Body)
	}
	for tok, want := range map[string]int{audToken(t, s, "https://other.example/github/mcp"): 401, forIssuer: 200, "": 401} {
		if w := verify(s, "", tok, "https", "other.example", "/github/mcp"); w.Code != want {
			t.Errorf("unconfigured forwarded URL: %d %s, want %d", w.Code, w.Body, want)
		}
	}
	m := httptest.NewRecorder()
	s.ServeHTTP(m, httptest.NewRequest(http.MethodGet, verifyMetadataURL("https://other.example/github/mcp"), nil))
	if m.Code != 404 {
		t.Errorf("metadata of an unconfigured resource: %d, want 404", m.Code)
	}
}

// TestVerifyManyForwardedHosts: forwarded hosts key a bounded cache; past
// the bound /verify still answers correctly.
func TestVerifyManyForwardedHosts(t *testing.T) {
	s := newServerWith(t, nil)
	forA := audToken(t, s, "https://a.example/x")
	for i := 0; i < 300; i++ {
		host := "h" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".example"
		if i%2 == 0 {
			host = "n" + url.PathEscape(string(rune('a'+i%26))) + strings.Repeat("y", i) + ".example"
		}
		if w := verify(s, "", forA, "https", host, "/x"); w.Code != 401 {
			t.Fatalf("host %d: %d, want 401", i, w.Code)
		}
	}
	if w := verify(s, "", forA, "https", "a.example", "/x"); w.Code != 200 {
		t.Errorf("after many hosts, the token's own URL: %d, want 200", w.Code)
	}
}
