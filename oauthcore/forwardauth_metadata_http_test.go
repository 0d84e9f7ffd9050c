package oauthcore_test

// httptest tests of the metadata /verify points at: /verify/metadata, the
// issuer's own RFC 9728 document, and that every challenge names metadata
// that is served. The /verify checks are in forwardauth_http_test.go.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// challengeMetadata is the resource_metadata URL of a challenge.
func challengeMetadata(challenge string) string {
	_, rest, _ := strings.Cut(challenge, `resource_metadata="`)
	u, _, _ := strings.Cut(rest, `"`)
	return u
}

// TestForwardAuthChallengeMetadataServed_MD03: every 401 of /verify names
// RFC 9728 metadata (RFC 9728 §5.1) that this server answers with 200, so
// a client can discover where to get a token. Fails today with
// `resources` configured: without ?resource= the challenge names
// /verify/metadata?resource=<issuer> (or <issuer><X-Forwarded-Uri path>
// when the forwarded URL is no resource), which /verify/metadata refuses
// with 404 because the issuer is not one of the configured resources.
func TestForwardAuthChallengeMetadataServed_MD03(t *testing.T) {
	t.Parallel()
	open := newHarness(t)
	closed := newHarness(t, func(o *harnessOptions) { o.Config.Resources = []string{mcpSpace} })
	explicit := "resource=" + url.QueryEscape(mcpSpace)
	for _, tt := range []struct {
		name  string
		h     *harness
		query string
		f     fwd
	}{
		{"no headers", open, "", fwd{}},
		{"a forwarded resource", open, "", fwd{"https", "mcp.example.com", "/github/mcp"}},
		{"only X-Forwarded-Uri", open, "", fwd{uri: "/github/mcp"}},
		{"explicit resource", open, explicit, fwd{uri: "/github/mcp"}},
		{"configured: a forwarded resource", closed, "", fwd{"https", "mcp.example.com", "/github/mcp"}},
		{"configured: explicit resource", closed, explicit, fwd{uri: "/github/mcp"}},
		{"configured: no headers", closed, "", fwd{}},
		{"configured: a forwarded URL outside", closed, "", fwd{"https", "mcp.example.com", "/fetch"}},
	} {
		r := tt.h.forward(http.MethodGet, tt.query, "", tt.f)
		meta := challengeMetadata(r.Header.Get("WWW-Authenticate"))
		path, ok := strings.CutPrefix(meta, asIssuer)
		if r.Status != http.StatusUnauthorized || !ok {
			t.Errorf("%s: %s %q", tt.name, r, r.Header.Get("WWW-Authenticate"))
			continue
		}
		if m := tt.h.serve(request(http.MethodGet, path, nil)); m.Status != http.StatusOK {
			t.Errorf("MD-03 %s: the challenge names %s, which answers %s", tt.name, meta, m)
		}
	}
}

// TestForwardAuthMetadata_MD03: /verify/metadata?resource= serves the RFC
// 9728 metadata of any valid resource (canonicalised), or with `resources`
// configured only of resources at or below them; the issuer's own
// metadata is at the bare well-known path.
func TestForwardAuthMetadata_MD03(t *testing.T) {
	t.Parallel()
	open := newHarness(t)
	closed := newHarness(t, func(o *harnessOptions) { o.Config.Resources = []string{mcpSpace} })
	for _, tt := range []struct {
		name     string
		h        *harness
		resource string // the query value; "-" for none
		want     string // the canonical resource, "" for 404
	}{
		{"a resource", open, mcpSpace + "/mcp", mcpSpace + "/mcp"},
		{"canonicalised", open, "HTTPS://MCP.example.com:443/github/mcp/", mcpSpace + "/mcp"},
		{"loopback http", open, "http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/mcp"},
		{"no resource", open, "-", ""},
		{"empty", open, "", ""},
		{"plain http", open, "http://mcp.example.com/mcp", ""},
		{"a fragment", open, mcpSpace + "#x", ""},
		{"relative", open, "/github", ""},
		{"configured", closed, mcpSpace, mcpSpace},
		{"below the configured", closed, mcpSpace + "/mcp", mcpSpace + "/mcp"},
		{"beside the configured", closed, mcpOrigin + "/github-other", ""},
		{"another origin", closed, "https://b.example/github", ""},
	} {
		path := "/verify/metadata"
		if tt.resource != "-" {
			path += "?resource=" + url.QueryEscape(tt.resource)
		}
		r := tt.h.serve(request(http.MethodGet, path, nil))
		if tt.want == "" {
			wantOAuthError(t, "MD-03 "+tt.name, r, http.StatusNotFound, string(oauthcore.CodeInvalidTarget))
			continue
		}
		if r.Status != http.StatusOK {
			t.Errorf("MD-03 %s: %s", tt.name, r)
			continue
		}
		m := r.json(t)
		if m["resource"] != tt.want || strings.Join(toStrings(m["authorization_servers"]), ",") != asIssuer ||
			r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("MD-03 %s: %s", tt.name, r)
		}
	}
	root := open.serve(request(http.MethodGet, oauthcore.PRMPath, nil))
	if root.Status != http.StatusOK || root.json(t)["resource"] != asIssuer {
		t.Errorf("the issuer's metadata: %s", root)
	}
	if r := open.serve(request(http.MethodGet, oauthcore.PRMPath+"/github", nil)); r.Status != http.StatusNotFound {
		t.Errorf("the AS answers a resource's well-known URL: %s", r)
	}
	q := "/verify/metadata?resource=" + url.QueryEscape(mcpSpace)
	if r := open.serve(request(http.MethodPost, q, nil)); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST %s: %s", q, r)
	}
	if r := open.serve(request(http.MethodOptions, q, nil)); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight %s: %s %v", q, r, r.Header)
	}
}

// toStrings is a JSON array of strings.
func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}
