package oauthcore_test

// httptest tests of /register/{client_id} (RFC 7592): reading, updating
// and deleting a registration with its registration access token (RAT),
// the uniform refusal, RAT rotation, outages. The guessing throttle is in
// manage_throttle_http_test.go.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestManageRead_MG01: GET with the RAT returns the registration as
// registered (no secret, the RAT repeated), as no-store JSON with CORS.
func TestManageRead_MG01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.forEachMethod(t, func(t *testing.T, h *harness, method string) {
		c := h.newClient(method, "https://app.test/cb", "http://127.0.0.1:9/cb")
		r := h.manage(http.MethodGet, c, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET: %s", r)
		}
		wantJSONNoStore(t, "GET", r)
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("MD-04: the management endpoint has no CORS")
		}
		m := r.json(t)
		if _, ok := m["client_secret"]; ok {
			t.Error("GET repeats the client secret")
		}
		for k, v := range c.Resp {
			if k == "client_secret" {
				continue
			}
			if fmt.Sprint(m[k]) != fmt.Sprint(v) {
				t.Errorf("GET %s = %v, registration said %v", k, m[k], v)
			}
		}
	})
}

// TestManageUniformRefusal_MG01_MG02_MG03: a missing or wrong RAT, another
// client's RAT, other credentials of the client, and an unknown client id
// all get one 401 with a Bearer challenge, so the endpoint tells nobody
// which client ids exist; none of them changes the registration.
func TestManageUniformRefusal_MG01_MG02_MG03(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.newClient(authBasic)
	b := h.newClient(authBasic)
	_, tok := h.fullFlow(a)
	bearer := func(s string) string { return "Bearer " + s }
	// Each refusal from its own address: the throttle (MG-07) is not the
	// subject here.
	n := 0
	addr := func() string { n++; return fmt.Sprintf("2001:db8::%x", n) }
	unknown := h.manageAs(http.MethodGet, "client_doesnotexist00000000", bearer(a.RAT), addr(), nil)
	for _, tt := range []struct {
		name, id, authz string
	}{
		{"MG-01 wrong RAT", a.ID, bearer("reg-guess")},
		{"MG-01 RAT of a deleted-looking id", "client_doesnotexist00000001", bearer("reg-guess")},
		{"MG-02 B's RAT on A", a.ID, bearer(b.RAT)},
		{"MG-03 access token as RAT", a.ID, bearer(tok.Access)},
		{"MG-03 refresh token as RAT", a.ID, bearer(tok.Refresh)},
		{"MG-03 client secret as RAT", a.ID, bearer(a.Secret)},
		{"MG-03 client id as RAT", a.ID, bearer(a.ID)},
		{"the RAT's hash as RAT", a.ID, bearer(oauthcore.HashSecret(a.RAT))},
		{"the RAT with a suffix", a.ID, bearer(a.RAT + "x")},
		{"the RAT truncated", a.ID, bearer(a.RAT[:len(a.RAT)-1])},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			body := map[string]any{"client_id": tt.id, "redirect_uris": []string{"https://evil.test/cb"}}
			r := h.manageAs(method, tt.id, tt.authz, addr(), body)
			what := tt.name + " " + method
			wantOAuthError(t, what, r, http.StatusUnauthorized, string(oauthcore.CodeInvalidToken))
			if r.Body != unknown.Body || r.Header.Get("WWW-Authenticate") != unknown.Header.Get("WWW-Authenticate") {
				t.Errorf("MG-01 %s: %q %q differs from an unknown client's %q %q", what, r.Body,
					r.Header.Get("WWW-Authenticate"), unknown.Body, unknown.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if ch := unknown.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("challenge %q", ch)
	}
	for _, tt := range []struct{ name, authz string }{
		{"no Authorization", ""},
		{"Basic credentials", "Basic " + a.Secret},
		{"empty bearer", "Bearer "},
	} {
		r := h.manageAs(http.MethodGet, a.ID, tt.authz, addr(), nil)
		wantOAuthError(t, "MG-01 "+tt.name, r, http.StatusUnauthorized, string(oauthcore.CodeInvalidRequest))
		if ch := r.Header.Get("WWW-Authenticate"); ch != `Bearer realm="auth"` {
			t.Errorf("MG-01 %s: challenge %q, want a bare Bearer challenge (RFC 6750 §3.1)", tt.name, ch)
		}
	}
	inQuery := h.serve(request(http.MethodGet, "/register/"+a.ID+"?access_token="+url.QueryEscape(a.RAT), nil))
	wantOAuthError(t, "the RAT in the query", inQuery, http.StatusUnauthorized, string(oauthcore.CodeInvalidRequest))
	twice := request(http.MethodGet, "/register/"+a.ID, nil)
	twice.Header.Add("Authorization", bearer(a.RAT))
	twice.Header.Add("Authorization", bearer(a.RAT))
	wantOAuthError(t, "two Authorization headers", h.serve(twice), http.StatusUnauthorized, string(oauthcore.CodeInvalidToken))

	if h.valid(a.RAT) || h.active(a, a.RAT) {
		t.Error("MG-03: the RAT passes as an access token")
	}
	if r := h.manage(http.MethodGet, a, nil); r.Status != http.StatusOK || r.json(t)["redirect_uris"].([]any)[0] != "https://app.test/cb" {
		t.Errorf("after the refusals, the owner reads: %s", r)
	}
	if r := h.manage(http.MethodGet, b, nil); r.Status != http.StatusOK {
		t.Errorf("after the refusals, B reads: %s", r)
	}
}

// TestManagePaths: only /register/{client_id} with one short segment is a
// client configuration URL.
func TestManagePaths(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authPublic)
	for _, p := range []string{"/register/", "/register/" + c.ID + "/", "/register/" + c.ID + "/x", "/register/" + strings.Repeat("c", 65),
		"/register//" + c.ID, "/registerx/" + c.ID} {
		req := request(http.MethodGet, p, nil)
		req.Header.Set("Authorization", "Bearer "+c.RAT)
		r := h.serve(req)
		if r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, r)
		}
		if h.Server.Handler(p) != nil && p != "/register/" {
			t.Errorf("Handler(%q) claims the path", p)
		}
	}
	if h.Server.Handler("/register/"+c.ID) == nil {
		t.Error("Handler does not serve the client configuration URL")
	}
}

// putBody is a full RFC 7592 replacement of c's registration with change
// applied (a nil value deletes a member).
func putBody(c *testClient, change map[string]any) map[string]any {
	m := map[string]any{"client_id": c.ID, "redirect_uris": c.RedirectURIs, "client_name": "Test App",
		"token_endpoint_auth_method": c.Method}
	for k, v := range change {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// TestManageUpdateRefused_MG04: an update is validated like a registration
// and must name the client (and its secret, if it sends one); a refused
// update changes nothing and leaves the RAT valid.
func TestManageUpdateRefused_MG04(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	pub := h.newClient(authPublic)
	other := h.newClient(authBasic)
	before := h.manage(http.MethodGet, c, nil).Body
	for _, tt := range []struct {
		name   string
		client *testClient
		body   any
		status int
		code   oauthcore.ErrorCode
	}{
		{"javascript: redirect", c, putBody(c, map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}), 400, oauthcore.CodeInvalidRedirectURI},
		{"http redirect off loopback", c, putBody(c, map[string]any{"redirect_uris": []string{"http://evil.test/cb"}}), 400, oauthcore.CodeInvalidRedirectURI},
		{"no redirect_uris", c, putBody(c, map[string]any{"redirect_uris": nil}), 400, oauthcore.CodeInvalidClientMetadata},
		{"another client's id", c, putBody(c, map[string]any{"client_id": other.ID}), 400, oauthcore.CodeInvalidRequest},
		{"no client_id", c, putBody(c, map[string]any{"client_id": nil}), 400, oauthcore.CodeInvalidRequest},
		{"a wrong client_secret", c, putBody(c, map[string]any{"client_secret": "not-the-secret"}), 400, oauthcore.CodeInvalidRequest},
		{"another client's secret", c, putBody(c, map[string]any{"client_secret": other.Secret}), 400, oauthcore.CodeInvalidRequest},
		{"a secret for a public client", pub, putBody(pub, map[string]any{"client_secret": "anything"}), 400, oauthcore.CodeInvalidRequest},
		{"client_credentials", c, putBody(c, map[string]any{"grant_types": []string{"client_credentials"}}), 400, oauthcore.CodeInvalidClientMetadata},
		{"response type token", c, putBody(c, map[string]any{"response_types": []string{"token"}}), 400, oauthcore.CodeInvalidClientMetadata},
		{"basic to public", c, putBody(c, map[string]any{"token_endpoint_auth_method": authPublic}), 400, oauthcore.CodeInvalidClientMetadata},
		{"basic to post", c, putBody(c, map[string]any{"token_endpoint_auth_method": authPost}), 400, oauthcore.CodeInvalidClientMetadata},
		{"public, auth method omitted (the default is basic)", pub, putBody(pub, map[string]any{"token_endpoint_auth_method": nil}), 400, oauthcore.CodeInvalidClientMetadata},
		{"logo_uri javascript:", c, putBody(c, map[string]any{"logo_uri": "javascript:x"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"6 contacts", c, putBody(c, map[string]any{"contacts": []string{"a", "b", "c", "d", "e", "f"}}), 400, oauthcore.CodeInvalidClientMetadata},
		{"not JSON", c, "{", 400, oauthcore.CodeInvalidClientMetadata},
		{"redirect_uris a string", c, `{"client_id":"` + c.ID + `","redirect_uris":"https://app.test/cb"}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"17 KiB", c, putBody(c, map[string]any{"client_name": strings.Repeat("n", 17<<10)}), 413, oauthcore.CodeInvalidClientMetadata},
	} {
		var req *http.Request
		if s, ok := tt.body.(string); ok {
			req = rawRequest(http.MethodPut, "/register/"+tt.client.ID, "application/json", s)
		} else {
			req = request(http.MethodPut, "/register/"+tt.client.ID, tt.body)
		}
		req.Header.Set("Authorization", "Bearer "+tt.client.RAT)
		wantOAuthError(t, "MG-04 PUT "+tt.name, h.serve(req), tt.status, string(tt.code))
	}
	form := rawRequest(http.MethodPut, "/register/"+c.ID, "application/x-www-form-urlencoded", "client_id="+c.ID)
	form.Header.Set("Authorization", "Bearer "+c.RAT)
	wantOAuthError(t, "MG-04 PUT as a form", h.serve(form), http.StatusUnsupportedMediaType, string(oauthcore.CodeInvalidClientMetadata))

	if after := h.manage(http.MethodGet, c, nil); after.Status != http.StatusOK || after.Body != before {
		t.Errorf("after refused updates: %s, want the registration unchanged:\n%s", after, before)
	}
	if r := h.manage(http.MethodGet, pub, nil); r.Status != http.StatusOK || r.json(t)["token_endpoint_auth_method"] != authPublic {
		t.Errorf("the public client after refused updates: %s", r)
	}
}

// TestManageUpdate_MG04_MG05: a valid update replaces the metadata as a
// whole, keeps the identity, the secret and the timestamps, rotates the
// RAT (the old one is dead at once), and ignores what the client may not
// set. The version bump voids a code issued before it (MG-05).
func TestManageUpdate_MG04_MG05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.forEachMethod(t, func(t *testing.T, h *harness, method string) {
		reg := clientMeta(method)
		reg["scope"] = "mcp"
		reg["logo_uri"] = "https://app.test/logo.png"
		c := h.registerMeta(reg)
		pending := h.newBrowser().mustLogin(c, nil)
		oldRAT := c.RAT
		change := map[string]any{"redirect_uris": []string{"https://app.test/cb", "https://app.test/new"},
			"client_name": nil, "registration_access_token": "reg-chosen", "client_id_issued_at": 1,
			"client_secret_expires_at": 1, "registration_client_uri": "https://evil.test/x", "x_marker": "unknown-member"}
		if c.Secret != "" {
			change["client_secret"] = c.Secret // RFC 7592 §2.2: may be sent, must match
		}
		req := request(http.MethodPut, "/register/"+c.ID, putBody(c, change))
		req.Header.Set("Authorization", "Bearer "+c.RAT)
		r := h.serve(req)
		if r.Status != http.StatusOK {
			t.Fatalf("PUT: %s", r)
		}
		wantJSONNoStore(t, "PUT", r)
		m := r.json(t)
		c.RAT, _ = m["registration_access_token"].(string)
		if c.RAT == "" || c.RAT == oldRAT || c.RAT == "reg-chosen" || !strings.HasPrefix(c.RAT, "reg-") {
			t.Errorf("MG-04: the RAT after PUT is %q (was %q)", c.RAT, oldRAT)
		}
		for _, k := range []string{"client_id", "client_id_issued_at", "client_secret_expires_at", "registration_client_uri", "token_endpoint_auth_method"} {
			if fmt.Sprint(m[k]) != fmt.Sprint(c.Resp[k]) {
				t.Errorf("MG-04: PUT changed %s from %v to %v", k, c.Resp[k], m[k])
			}
		}
		if _, ok := m["client_secret"]; ok {
			t.Error("the PUT response repeats the secret")
		}
		if m["client_name"] != nil || m["logo_uri"] != nil || m["x_marker"] != nil || fmt.Sprint(m["redirect_uris"]) != "[https://app.test/cb https://app.test/new]" {
			t.Errorf("MG-04: not a full replacement: %s", r.Body)
		}
		wantOAuthError(t, "MG-04 the old RAT", h.manageAs(http.MethodGet, c.ID, "Bearer "+oldRAT, "", nil), http.StatusUnauthorized, "invalid_token")
		if got := h.manage(http.MethodGet, c, nil); got.Status != http.StatusOK || got.Body != r.Body {
			t.Errorf("GET with the new RAT: %s, want the PUT response", got)
		}
		if r := h.introspect(c, "x"); c.Method != authPublic && r.Status != http.StatusOK {
			t.Errorf("the client secret after PUT: %s", r)
		}
		wantOAuthError(t, "MG-05 a code issued before the PUT", h.redeem(c, pending, nil), http.StatusBadRequest, "invalid_grant")
		c.RedirectURIs = []string{"https://app.test/new"}
		h.fullFlow(c)
	})
}

// TestManageDelete_MG06: DELETE answers 204 and ends the client and
// everything it holds: the RAT, the secret, pending codes, grants and
// their access tokens, even ones the gate has cached. A refused DELETE
// changes nothing.
func TestManageDelete_MG06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	witness := h.newClient(authBasic)
	_, tok := h.fullFlow(c)
	_, kept := h.fullFlow(witness)
	pending := h.newBrowser().mustLogin(c, nil)
	if !h.valid(tok.Access) || !h.valid(kept.Access) { // now in the verifier's cache
		t.Fatal("fresh access tokens refused")
	}
	wantOAuthError(t, "DELETE with the witness's RAT", h.manageAs(http.MethodDelete, c.ID, "Bearer "+witness.RAT, "", nil),
		http.StatusUnauthorized, "invalid_token")
	if r := h.manage(http.MethodGet, c, nil); r.Status != http.StatusOK || !h.valid(tok.Access) {
		t.Fatalf("a refused DELETE changed something: %s", r)
	}

	r := h.manage(http.MethodDelete, c, nil)
	if r.Status != http.StatusNoContent || r.Body != "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("MG-06 DELETE: %s %v", r, r.Header)
	}
	wantOAuthError(t, "MG-06 GET after DELETE", h.manage(http.MethodGet, c, nil), http.StatusUnauthorized, "invalid_token")
	wantOAuthError(t, "MG-06 DELETE again", h.manage(http.MethodDelete, c, nil), http.StatusUnauthorized, "invalid_token")
	wantOAuthError(t, "MG-06 refresh", h.refresh(c, tok.Refresh, nil), http.StatusUnauthorized, "invalid_client")
	wantOAuthError(t, "MG-06 a pending code", h.redeem(c, pending, nil), http.StatusUnauthorized, "invalid_client")
	wantOAuthError(t, "MG-06 the secret at /introspect", h.introspect(c, tok.Access), http.StatusUnauthorized, "invalid_client")
	wantOAuthError(t, "MG-06 the secret at /revoke", h.revoke(c, tok.Access), http.StatusUnauthorized, "invalid_client")
	if h.valid(tok.Access) || h.active(witness, tok.Access) {
		t.Error("MG-06: the deleted client's cached access token is still accepted")
	}
	wantLocalPage(t, "MG-06 /authorize", h.newBrowser().get(newAuthRequest(c).path()), http.StatusBadRequest, "")
	if !h.valid(kept.Access) {
		t.Error("deleting one client ended another's token")
	}
	h.fullFlow(witness)
}

// TestManageStoreOutage_RD03: a store that cannot read, update or delete
// the client answers 503 temporarily_unavailable, which neither counts as
// a failed guess nor changes the client.
func TestManageStoreOutage_RD03(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	c := h.newClient(authBasic)
	for _, tt := range []struct {
		method, failing string
	}{
		{http.MethodGet, "GetClient"},
		{http.MethodPut, "UpdateClient"},
		{http.MethodDelete, "DeleteClient"},
	} {
		fs.fail(tt.failing)
		for i := 0; i < 25; i++ { // more than the per-client failure limit
			r := h.manage(tt.method, c, putBody(c, map[string]any{"client_name": "Renamed"}))
			wantOAuthError(t, tt.method+" with "+tt.failing+" failing", r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") {
				t.Fatalf("RD-03/LG-03: %v %s", r.Header, r.Body)
			}
		}
		fs.heal()
	}
	r := h.manage(http.MethodGet, c, nil)
	if r.Status != http.StatusOK || r.json(t)["client_name"] != "Test App" {
		t.Errorf("after the outages: %s, want the client unchanged and its owner not throttled", r)
	}
}
