package oauthcore_test

// Fuzz targets for what clients send the open endpoints: registration
// metadata, authorization requests, token requests and bearer tokens. Each
// drives the real server (the harness) and holds it to what it promises
// for any input: no panic, never a 500, only the statuses the endpoint
// documents, and no redirect anywhere but to a registered redirect URI.
// The seed corpora under testdata/fuzz run with every `go test`;
// scripts/fuzz.sh runs the fuzzer itself.

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// fuzzHarness is a harness with the registration limit lifted, so a long
// fuzzing run is not all 429s, and no log kept.
func fuzzHarness(f *testing.F) *harness {
	return newHarness(f, func(o *harnessOptions) { o.Config.RegistrationLimit = -1; o.DiscardLogs = true })
}

func wantStatusIn(t *testing.T, what string, r *reply, allowed ...int) {
	t.Helper()
	if !slices.Contains(allowed, r.Status) {
		t.Fatalf("%s: status %d, want one of %v\n%s", what, r.Status, allowed, r)
	}
}

func FuzzRegister(f *testing.F) {
	h := fuzzHarness(f)
	for _, seed := range []string{
		`{"redirect_uris":["https://app.test/cb"],"client_name":"App"}`,
		`{"redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`,
		`{"redirect_uris":["vscode://ms-vscode/cb"],"scope":"read write","client_name":"\u202eevil"}`,
		`{"redirect_uris":["javascript:alert(1)"]}`,
		`{"redirect_uris":[],"logo_uri":"http://x"}`,
		`{"redirect_uris":"https://a.test/cb"}`,
		`{"redirect_uris":["https://a.test/cb"],"jwks_uri":"http://169.254.169.254/"}`,
		`[1,2,3]`, `null`, `{`, ``,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`redirect_uris=https://a.test/cb`), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		h := h.sub(t)
		req := request(http.MethodPost, "/register", nil)
		req.Body = http.NoBody
		if len(body) > 0 {
			req = request(http.MethodPost, "/register", nil)
			req.Body = readCloser(body)
			req.ContentLength = int64(len(body))
		}
		req.Header.Set("Content-Type", ctype)
		r := h.serve(req)
		wantStatusIn(t, "register", r, http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)
		if r.Status != http.StatusCreated {
			return
		}
		m := r.json(t)
		// Delete what was registered (RFC 7592), so a long run does not
		// fill the memory store.
		id, _ := m["client_id"].(string)
		rat, _ := m["registration_access_token"].(string)
		del := request(http.MethodDelete, "/register/"+url.PathEscape(id), nil)
		del.Header.Set("Authorization", "Bearer "+rat)
		if d := h.serve(del); d.Status != http.StatusNoContent {
			t.Fatalf("deleting the registered client: %s", d)
		}
		uris, _ := m["redirect_uris"].([]any)
		if len(uris) == 0 {
			t.Fatalf("registered without redirect URIs: %s", r)
		}
		for _, u := range uris {
			s, _ := u.(string)
			if p, err := url.Parse(s); err != nil || p.Scheme == "" || strings.EqualFold(p.Scheme, "javascript") ||
				strings.EqualFold(p.Scheme, "data") || strings.EqualFold(p.Scheme, "file") || p.Fragment != "" {
				t.Fatalf("registered a redirect URI no client may have: %q", s)
			}
		}
	})
}

func FuzzAuthorize(f *testing.F) {
	h := fuzzHarness(f)
	c := h.newClient(authPublic, "https://app.test/cb", "http://127.0.0.1/cb")
	a := newAuthRequest(c)
	if r := h.serve(request(http.MethodGet, "/authorize?"+a.Query.Encode(), nil)); r.Status != http.StatusOK {
		f.Fatalf("the valid authorization request: %s", r)
	}
	f.Add(a.Query.Encode())
	for _, mutate := range []func(q url.Values){
		func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") },
		func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/cb") },
		func(q url.Values) { q.Set("redirect_uri", "https://app.test/cb/../x") },
		func(q url.Values) { q.Del("code_challenge") },
		func(q url.Values) { q.Set("code_challenge_method", "plain") },
		func(q url.Values) { q.Set("response_type", "token") },
		func(q url.Values) { q.Set("resource", "https://mcp.test/mcp#x") },
		func(q url.Values) { q.Add("state", "again") },
		func(q url.Values) { q.Set("scope", "offline_access admin") },
		func(q url.Values) { q.Set("client_id", "https://docs.example/client.json") },
		func(q url.Values) { q.Set("client_id", "nope") },
	} {
		q := url.Values{}
		for k, v := range a.Query {
			q[k] = slices.Clone(v)
		}
		mutate(q)
		f.Add(q.Encode())
	}
	f.Add("%zz&&=;")
	f.Fuzz(func(t *testing.T, query string) {
		h := h.sub(t)
		req := request(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = query
		r := h.serve(req)
		wantStatusIn(t, "authorize", r, http.StatusOK, http.StatusFound, http.StatusBadRequest, http.StatusTooManyRequests,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
		if r.Status != http.StatusFound {
			return
		}
		loc := r.Header.Get("Location")
		target, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("redirect to an unparsable %q", loc)
		}
		target.RawQuery = ""
		if s := target.String(); !slices.Contains(c.RedirectURIs, s) &&
			!(target.Scheme == "http" && target.Hostname() == "127.0.0.1" && target.Path == "/cb") {
			t.Fatalf("redirected to %q, which the client did not register (%v)", loc, c.RedirectURIs)
		}
	})
}

func FuzzToken(f *testing.F) {
	h := fuzzHarness(f)
	c := h.newClient(authBasic)
	f.Add("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&code_verifier="+strings.Repeat("a", 43), "")
	f.Add("grant_type=refresh_token&refresh_token=xyz&client_id="+url.QueryEscape(c.ID)+"&client_secret="+url.QueryEscape(c.Secret), "")
	f.Add("grant_type=client_credentials", "Basic "+basicAuth(c.ID, c.Secret))
	f.Add("grant_type=refresh_token&refresh_token=a&refresh_token=b", "Basic Zm9vOmJhcg==")
	f.Add("grant_type=authorization_code&client_id=https%3A%2F%2Fdocs.example%2Fc.json", "Bearer x")
	f.Add("%", "Basic %%%")
	f.Fuzz(func(t *testing.T, body, authorization string) {
		h := h.sub(t)
		req := request(http.MethodPost, "/token", nil)
		req.Body = readCloser([]byte(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		r := h.serve(req)
		wantStatusIn(t, "token", r, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusServiceUnavailable)
		if r.Status != http.StatusOK && r.oauthError() == "" {
			t.Fatalf("an error without an RFC 6749 error code: %s", r)
		}
	})
}

// FuzzBearer: any Authorization header at /verify, the gate's token
// check (bearer parsing, JWT verification, revocation lookup), is a 200
// only for a token the server issued, else a 400 or 401 challenge.
func FuzzBearer(f *testing.F) {
	h := fuzzHarness(f)
	c := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	req := request(http.MethodGet, "/verify", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Access)
	if r := h.serve(req); r.Status != http.StatusOK {
		f.Fatalf("the issued token at /verify: %s", r)
	}
	f.Add("Bearer " + tok.Access)
	f.Add("bearer " + tok.Access)
	f.Add("Bearer " + tok.Access + "x")
	f.Add("Bearer " + tok.Refresh)
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
	f.Add("Bearer a.b.c")
	f.Add("Basic Zm9vOmJhcg==")
	f.Add("Bearer  ")
	f.Add("Bearer " + strings.Repeat("A", 9000))
	f.Fuzz(func(t *testing.T, authorization string) {
		h := h.sub(t)
		req := request(http.MethodGet, "/verify", nil)
		req.Header.Set("Authorization", authorization)
		r := h.serve(req)
		wantStatusIn(t, "verify", r, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized)
		if r.Status == http.StatusOK && authorization != "Bearer "+tok.Access && !strings.EqualFold(authorization, "bearer "+tok.Access) {
			t.Fatalf("accepted a token the server did not issue: %q", authorization)
		}
		if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
			t.Fatalf("a 401 without a Bearer challenge: %s", r)
		}
	})
}

// FuzzCanonicalResource: the canonical form is a fixed point and is
// itself a valid resource.
func FuzzCanonicalResource(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com/mcp", "HTTPS://MCP.Example.com:443/github/mcp/", "http://127.0.0.1:8080",
		"http://[::1]/x", "https://a.test/%7Euser", "https://a.test/a/../b", "https://u@a.test/", "https://a.test/?q", "mcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		canon, err := oauthcore.CanonicalResource(raw)
		if err != nil {
			return
		}
		again, err := oauthcore.CanonicalResource(canon)
		if err != nil || again != canon {
			t.Fatalf("CanonicalResource(%q) = %q, whose canonical form is %q (%v)", raw, canon, again, err)
		}
	})
}

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}
