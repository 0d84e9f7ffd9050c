package oauthcore_test

// The harness's clients: registration and RFC 7592 management, and the
// token endpoint calls a client makes (see harness_test.go).

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// testClient is a registered client with its credentials.
type testClient struct {
	ID, Secret, RAT, Method string
	RedirectURIs            []string
	Resp                    map[string]any
}

// clientMeta is an MCP-shaped registration (default redirect
// https://app.test/cb); method "" leaves the server's default (basic).
func clientMeta(method string, redirects ...string) map[string]any {
	if len(redirects) == 0 {
		redirects = []string{"https://app.test/cb"}
	}
	m := map[string]any{"redirect_uris": redirects, "client_name": "Test App"}
	if method != "" {
		m["token_endpoint_auth_method"] = method
	}
	return m
}

// register posts a registration and returns the answer.
func (h *harness) register(meta any) *reply {
	return h.serve(request(http.MethodPost, "/register", meta))
}

// newClient registers a client with method and redirect URIs, failing the
// test unless it is created.
func (h *harness) newClient(method string, redirects ...string) *testClient {
	h.t.Helper()
	return h.registerMeta(clientMeta(method, redirects...))
}

// registerMeta registers meta, failing the test unless it is created.
func (h *harness) registerMeta(meta map[string]any) *testClient {
	h.t.Helper()
	r := h.register(meta)
	if r.Status != http.StatusCreated {
		h.t.Fatalf("register %v: %s", meta, r)
	}
	m := r.json(h.t)
	c := &testClient{Resp: m}
	c.ID, _ = m["client_id"].(string)
	c.Secret, _ = m["client_secret"].(string)
	c.RAT, _ = m["registration_access_token"].(string)
	c.Method, _ = m["token_endpoint_auth_method"].(string)
	for _, u := range m["redirect_uris"].([]any) {
		c.RedirectURIs = append(c.RedirectURIs, u.(string))
	}
	return c
}

// manage sends an RFC 7592 request for c with its registration access
// token; body nil sends none.
func (h *harness) manage(method string, c *testClient, body any) *reply {
	req := request(method, "/register/"+c.ID, body)
	req.Header.Set("Authorization", "Bearer "+c.RAT)
	return h.serve(req)
}

// updateClient replaces c's redirect URIs (RFC 7592 PUT), failing the test
// unless it succeeds; c's RAT is replaced by the rotated one.
func (h *harness) updateClient(c *testClient, redirects ...string) {
	h.t.Helper()
	r := h.manage(http.MethodPut, c, map[string]any{"client_id": c.ID, "redirect_uris": redirects,
		"client_name": "Test App", "token_endpoint_auth_method": c.Method})
	if r.Status != http.StatusOK {
		h.t.Fatalf("update client: %s", r)
	}
	c.RAT, _ = r.json(h.t)["registration_access_token"].(string)
	c.RedirectURIs = redirects
}

// deleteClient deletes c (RFC 7592 DELETE), failing the test unless 204.
func (h *harness) deleteClient(c *testClient) {
	h.t.Helper()
	if r := h.manage(http.MethodDelete, c, nil); r.Status != http.StatusNoContent {
		h.t.Fatalf("delete client: %s", r)
	}
}

// clientRequest is a POST of form to path authenticated the way c
// registered: Basic (both parts form-encoded, RFC 6749 §2.3.1), the body,
// or client_id alone for public clients.
func (h *harness) clientRequest(c *testClient, path string, form url.Values) *http.Request {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	switch c.Method {
	case authPost:
		f.Set("client_id", c.ID)
		f.Set("client_secret", c.Secret)
	case authPublic:
		f.Set("client_id", c.ID)
	}
	req := request(http.MethodPost, path, f)
	if c.Method == authBasic {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	return req
}

// call posts form to path as client c.
func (h *harness) call(c *testClient, path string, form url.Values) *reply {
	return h.serve(h.clientRequest(c, path, form))
}

// tokenWith posts form to /token with a raw Authorization header ("" for
// none): for client-authentication tests.
func (h *harness) tokenWith(form url.Values, authorization string) *reply {
	req := request(http.MethodPost, "/token", form)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.serve(req)
}

// codeForm is the authorization_code grant for f, without client
// authentication.
func codeForm(f *flowResult) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {f.Code},
		"redirect_uri": {f.Req.Query.Get("redirect_uri")}, "code_verifier": {f.Req.Verifier}}
}

// redeem posts the authorization_code grant for f as c; extra replaces
// parameters (an empty value list deletes one).
func (h *harness) redeem(c *testClient, f *flowResult, extra url.Values) *reply {
	form := codeForm(f)
	for k, v := range extra {
		if len(v) == 0 {
			form.Del(k)
			continue
		}
		form[k] = v
	}
	return h.call(c, "/token", form)
}

// tokenSet is a successful token response.
type tokenSet struct {
	Access, Refresh, Scope, Type string
	ExpiresIn                    float64
	Resp                         *reply
}

// parseTokens reads a token response, failing the test unless it is 200
// with an access token.
func (h *harness) parseTokens(r *reply) tokenSet {
	h.t.Helper()
	if r.Status != http.StatusOK {
		h.t.Fatalf("token request: %s", r)
	}
	m := r.json(h.t)
	ts := tokenSet{Resp: r}
	ts.Access, _ = m["access_token"].(string)
	ts.Refresh, _ = m["refresh_token"].(string)
	ts.Scope, _ = m["scope"].(string)
	ts.Type, _ = m["token_type"].(string)
	ts.ExpiresIn, _ = m["expires_in"].(float64)
	if ts.Access == "" {
		h.t.Fatalf("token response without access_token: %s", r.Body)
	}
	return ts
}

// exchange redeems f's code as c, failing the test unless tokens come back.
func (h *harness) exchange(c *testClient, f *flowResult) tokenSet {
	h.t.Helper()
	return h.parseTokens(h.redeem(c, f, nil))
}

// refresh posts the refresh_token grant as c with extra parameters.
func (h *harness) refresh(c *testClient, rt string, extra url.Values) *reply {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return h.call(c, "/token", form)
}

// fullFlow runs a fresh browser through the flow for c and redeems the code.
func (h *harness) fullFlow(c *testClient) (*flowResult, tokenSet) {
	h.t.Helper()
	f := h.newBrowser().mustLogin(c, nil)
	return f, h.exchange(c, f)
}

// verify checks an access token as the gate does (signature, claims,
// revocation), through the server's shared verifier.
func (h *harness) verify(at string) (*oauthcore.Claims, error) {
	return h.Server.Verifier().Verify(h.t.Context(), at)
}

// valid reports whether the gate would accept the access token.
func (h *harness) valid(at string) bool {
	_, err := h.verify(at)
	return err == nil
}

// TestHarnessFullFlow drives the whole flow once through the harness, as a
// check of the harness itself: consent, GitHub, code, tokens, refresh.
func TestHarnessFullFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, method := range []string{authBasic, authPost, authPublic} {
		t.Run(method, func(t *testing.T) {
			h := h.sub(t)
			c := h.newClient(method)
			f, tok := h.fullFlow(c)
			if f.Iss != asIssuer || f.State != f.Req.Query.Get("state") {
				t.Errorf("iss %q state %q", f.Iss, f.State)
			}
			claims, err := h.verify(tok.Access)
			if err != nil || claims.ClientID != c.ID || claims.Subject != "1001" || claims.Username != "alice" {
				t.Fatalf("access token: %+v %v", claims, err)
			}
			next := h.parseTokens(h.refresh(c, tok.Refresh, nil))
			if next.Refresh == "" || next.Refresh == tok.Refresh {
				t.Errorf("refresh did not rotate")
			}
		})
	}
	if n := h.gh.Count("/login/oauth/access_token"); n != 3 {
		t.Errorf("GitHub's token endpoint saw %d exchanges, want 3", n)
	}
}
