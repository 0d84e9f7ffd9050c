package e2e

import (
	"net/http"
	"net/url"
)

// regClient is a registered client and its credentials.
type regClient struct {
	ID           string
	Secret       string
	RAT          string
	ConfigURI    string
	Method       string
	RedirectURIs []string
	Resp         map[string]any
}

// Token endpoint authentication methods.
const (
	basic  = "client_secret_basic"
	post   = "client_secret_post"
	public = "none"
)

// clientMeta is an MCP-shaped registration.
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

// register posts a registration and returns Caddy's answer.
func (e *env) register(meta any) *response {
	e.t.Helper()
	return e.do(e.api, e.jsonRequest(http.MethodPost, "/register", meta, ""))
}

// newClient registers a client, failing the test unless it is created.
func (e *env) newClient(method string, redirects ...string) *regClient {
	e.t.Helper()
	return e.registerMeta(clientMeta(method, redirects...))
}

func (e *env) registerMeta(meta map[string]any) *regClient {
	e.t.Helper()
	r := e.register(meta)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("register %v: %s", meta, r)
	}
	m := r.json(e.t)
	c := &regClient{Resp: m}
	c.ID, _ = m["client_id"].(string)
	c.Secret, _ = m["client_secret"].(string)
	c.RAT, _ = m["registration_access_token"].(string)
	c.ConfigURI, _ = m["registration_client_uri"].(string)
	c.Method, _ = m["token_endpoint_auth_method"].(string)
	for _, u := range m["redirect_uris"].([]any) {
		c.RedirectURIs = append(c.RedirectURIs, u.(string))
	}
	e.remember(c.Secret, c.RAT)
	return c
}

// clientRequest builds a POST to path authenticated the way c registered.
func (e *env) clientRequest(c *regClient, path string, form url.Values) *http.Request {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	switch c.Method {
	case post:
		f.Set("client_id", c.ID)
		f.Set("client_secret", c.Secret)
	case public:
		f.Set("client_id", c.ID)
	}
	req := formRequest(e.url(path), f)
	if c.Method == basic {
		// RFC 6749 §2.3.1: both parts form-encoded, then Basic.
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	return req
}

// call posts form to path as client c.
func (e *env) call(c *regClient, path string, form url.Values) *response {
	e.t.Helper()
	return e.do(e.api, e.clientRequest(c, path, form))
}

// tokenSet is a successful token response.
type tokenSet struct {
	Access, Refresh, Scope, Type string
	ExpiresIn                    float64
	Resp                         *response
}

func (e *env) parseTokens(r *response) tokenSet {
	e.t.Helper()
	if r.Status != http.StatusOK {
		e.t.Fatalf("token request: %s", r)
	}
	m := r.json(e.t)
	ts := tokenSet{Resp: r}
	ts.Access, _ = m["access_token"].(string)
	ts.Refresh, _ = m["refresh_token"].(string)
	ts.Scope, _ = m["scope"].(string)
	ts.Type, _ = m["token_type"].(string)
	ts.ExpiresIn, _ = m["expires_in"].(float64)
	if ts.Access == "" {
		e.t.Fatalf("token response without access_token: %s", r.Body)
	}
	e.remember(ts.Access, ts.Refresh)
	return ts
}

// redeem posts the authorization_code grant for f with extra parameters.
func (e *env) redeem(c *regClient, f *flow, extra url.Values) *response {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {f.Code},
		"redirect_uri": {f.Req.Query.Get("redirect_uri")}, "code_verifier": {f.Req.Verifier}}
	for k, v := range extra {
		form[k] = v
	}
	return e.call(c, "/token", form)
}

// exchange redeems f's code, failing the test unless tokens come back.
func (e *env) exchange(c *regClient, f *flow) tokenSet {
	e.t.Helper()
	return e.parseTokens(e.redeem(c, f, nil))
}

func (e *env) refresh(c *regClient, rt string, extra url.Values) *response {
	e.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return e.call(c, "/token", form)
}

func (e *env) introspect(c *regClient, token string) *response {
	e.t.Helper()
	return e.call(c, "/introspect", url.Values{"token": {token}})
}

// active introspects token as c and reports its "active" member.
func (e *env) active(c *regClient, token string) bool {
	e.t.Helper()
	r := e.introspect(c, token)
	if r.Status != http.StatusOK {
		e.t.Fatalf("introspect: %s", r)
	}
	a, _ := r.json(e.t)["active"].(bool)
	return a
}

func (e *env) revoke(c *regClient, token string) *response {
	e.t.Helper()
	return e.call(c, "/revoke", url.Values{"token": {token}})
}

// manage sends an RFC 7592 request for client id with a bearer RAT.
func (e *env) manage(method, id, rat string, body any) *response {
	e.t.Helper()
	var req *http.Request
	if body != nil {
		req = e.jsonRequest(method, "/register/"+id, body, rat)
	} else {
		req, _ = http.NewRequest(method, e.url("/register/"+id), nil)
		if rat != "" {
			req.Header.Set("Authorization", "Bearer "+rat)
		}
	}
	return e.do(e.api, req)
}

// fullFlow runs a fresh browser through consent and login for c and
// redeems the code.
func (e *env) fullFlow(c *regClient) (*flow, tokenSet) {
	e.t.Helper()
	f := e.newBrowser().login(c, nil)
	if f.Code == "" {
		e.t.Fatalf("flow ended without a code: %s", f.Final)
	}
	return f, e.exchange(c, f)
}

func cloneQuery(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}
