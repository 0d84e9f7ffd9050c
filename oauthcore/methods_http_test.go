package oauthcore_test

// The HTTP edges of every endpoint in one table: methods (405 with Allow),
// CORS preflights (only where browsers may call cross-origin, MD-04), body
// limits (413 before the body is read, DR-02, MD-06), content types, and
// paths that are not endpoints.

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// endpoint is one route of the server as a client sees it.
type endpoint struct {
	path    string
	methods []string // allowed
	cors    bool
}

var endpoints = []endpoint{
	{"/.well-known/oauth-authorization-server", []string{"GET", "HEAD"}, true},
	{"/.well-known/openid-configuration", []string{"GET", "HEAD"}, true},
	{"/.well-known/oauth-protected-resource", []string{"GET", "HEAD"}, true},
	{"/jwks", []string{"GET", "HEAD"}, true},
	{"/register", []string{"POST"}, true},
	{"/register/client_x", []string{"GET", "PUT", "DELETE"}, true},
	{"/token", []string{"POST"}, true},
	{"/revoke", []string{"POST"}, true},
	{"/introspect", []string{"POST"}, true},
	{"/verify", []string{"GET", "POST", "HEAD"}, true},
	{"/verify/metadata?resource=" + url.QueryEscape(mcpSpace), []string{"GET", "HEAD"}, true},
	// BCP 9700 §2.6: no CORS on the authorization endpoint, nor on the
	// pages and redirects of the browser flow.
	{"/authorize", []string{"GET"}, false},
	{"/consent", []string{"POST"}, false},
	{"/callback", []string{"GET"}, false},
}

// TestPreflight_MD04: OPTIONS answers 204 with Allow everywhere; CORS
// endpoints allow any origin without credentials, name their methods and
// the headers MCP clients send and expose WWW-Authenticate; the browser
// flow's endpoints send no CORS header at all.
func TestPreflight_MD04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, ep := range endpoints {
		t.Run(ep.path, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			req := request(http.MethodOptions, ep.path, nil)
			req.Header.Set("Origin", "https://inspector.test")
			req.Header.Set("Access-Control-Request-Method", ep.methods[0])
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			r := h.serve(req)
			allow := strings.Join(ep.methods, ", ")
			if r.Status != http.StatusNoContent || r.Body != "" || r.Header.Get("Allow") != allow {
				t.Fatalf("OPTIONS: %s Allow %q, want 204 Allow %q", r, r.Header.Get("Allow"), allow)
			}
			hd := r.Header
			if hd.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("MD-04: credentials allowed cross-origin")
			}
			if !ep.cors {
				for k := range hd {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("MD-04: %s on a browser-flow endpoint", k)
					}
				}
				return
			}
			want := map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": allow,
				"Access-Control-Max-Age": "600", "Access-Control-Expose-Headers": "WWW-Authenticate"}
			for k, v := range want {
				if hd.Get(k) != v {
					t.Errorf("MD-04 %s = %q, want %q", k, hd.Get(k), v)
				}
			}
			for _, name := range []string{"Authorization", "Content-Type", "MCP-Protocol-Version"} {
				if !strings.Contains(hd.Get("Access-Control-Allow-Headers"), name) {
					t.Errorf("MD-04 Access-Control-Allow-Headers %q lacks %s", hd.Get("Access-Control-Allow-Headers"), name)
				}
			}
		})
	}
}

// TestMethodNotAllowed: every other method is 405 invalid_request with
// Allow, as no-store JSON, and touches nothing.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, ep := range endpoints {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"} {
			if slices.Contains(ep.methods, m) {
				continue
			}
			t.Run(m+" "+ep.path, func(t *testing.T) {
				t.Parallel()
				h := h.sub(t)
				r := h.serve(request(m, ep.path, nil))
				wantOAuthError(t, m+" "+ep.path, r, http.StatusMethodNotAllowed, "invalid_request")
				if r.Header.Get("Allow") != strings.Join(ep.methods, ", ") {
					t.Errorf("Allow %q, want %q", r.Header.Get("Allow"), strings.Join(ep.methods, ", "))
				}
			})
		}
	}
	t.Cleanup(func() {
		if n := h.clientCount(); n != 0 || h.gh.Contacted() {
			t.Errorf("refused methods stored %d clients or contacted GitHub", n)
		}
	})
}

// TestUnknownPaths: paths that are not endpoints are 404 JSON, and no
// handler claims them (the Caddy handler passes them on).
func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, p := range []string{"/", "/nope", "/token/", "/Token", "/.well-known/", "/.well-known/oauth-authorization-server/x",
		"/verify/", "/verify/metadata/x", "/jwks/", "/error", "/login", "/success", "//token"} {
		if h.Server.Handler(p) != nil {
			t.Errorf("Handler(%q) claims the path", p)
		}
		r := h.serve(request(http.MethodGet, p, nil))
		if r.Status != http.StatusNotFound || r.oauthError() != "invalid_request" || r.Header.Get("Location") != "" {
			t.Errorf("GET %s: %s, want 404", p, r)
		}
	}
}

// endlessBody is a request body of n bytes that counts what was read.
type endlessBody struct {
	left int64
	read *atomic.Int64
}

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > b.left {
		n = b.left
	}
	for i := range p[:n] {
		p[i] = 'a'
	}
	b.left -= n
	b.read.Add(n)
	return int(n), nil
}

// TestBodyLimits_DR02_MD06: bodies over the limit are 413 with the
// endpoint's error code, answered after reading little more than the
// limit of a 10 MB body; bodies of the wrong type are refused without
// being parsed (415 for JSON endpoints, 400 for form endpoints).
func TestBodyLimits_DR02_MD06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	consent := func(req *http.Request) {
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for _, tt := range []struct {
		method, path, ctype string
		prefix              string // the start of the oversized body
		mod                 func(*http.Request)
		wrongType           string
		wrongStatus         int
		code                string
	}{
		{"POST", "/register", "application/json", `{"redirect_uris":["https://app.test/cb"],"client_name":"`, nil,
			"text/plain", http.StatusUnsupportedMediaType, "invalid_client_metadata"},
		{"PUT", "/register/" + c.ID, "application/json", `{"client_id":"` + c.ID + `","client_name":"`,
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.RAT) },
			"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "invalid_client_metadata"},
		{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=", nil,
			"application/json", http.StatusBadRequest, "invalid_request"},
		{"POST", "/revoke", "application/x-www-form-urlencoded", "token=", nil,
			"multipart/form-data; boundary=x", http.StatusBadRequest, "invalid_request"},
		{"POST", "/introspect", "application/x-www-form-urlencoded", "token=", nil,
			"text/plain", http.StatusBadRequest, "invalid_request"},
		{"POST", "/consent", "application/x-www-form-urlencoded", "flow=", consent,
			"application/json", http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			var read atomic.Int64
			body := io.MultiReader(strings.NewReader(tt.prefix), &endlessBody{left: 10 << 20, read: &read})
			req := request(tt.method, tt.path, nil)
			req.Body = io.NopCloser(body)
			req.ContentLength = -1
			req.Header.Set("Content-Type", tt.ctype)
			if tt.mod != nil {
				tt.mod(req)
			}
			r := h.serve(req)
			if r.Status != http.StatusRequestEntityTooLarge || r.oauthError() != tt.code {
				t.Errorf("DR-02/MD-06 10 MB body: %s, want 413 %s", r, tt.code)
			}
			if n := read.Load(); n > 1<<20 {
				t.Errorf("DR-02/MD-06: read %d bytes of a 10 MB body before refusing", n)
			}
			req = rawRequest(tt.method, tt.path, tt.wrongType, tt.prefix+`x"}`)
			if tt.mod != nil {
				tt.mod(req)
			}
			if r := h.serve(req); r.Status != tt.wrongStatus || r.oauthError() != tt.code {
				t.Errorf("Content-Type %s: %s, want %d %s", tt.wrongType, r, tt.wrongStatus, tt.code)
			}
		})
	}
	t.Cleanup(func() {
		if r := h.manage(http.MethodGet, c, nil); r.Status != http.StatusOK || r.json(t)["client_name"] != "Test App" {
			t.Errorf("a refused update changed the client: %s", r)
		}
	})
}
