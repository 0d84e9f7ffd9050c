package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRedirectRevalidated_RU08: the redirect URI a code goes to comes from
// the flow as validated against the client record, never from the consent
// form, and is checked again at the callback: a client updated between
// consent and callback gets no code.
func TestRedirectRevalidated_RU08(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)

	// A redirect_uri smuggled into the consent form is ignored.
	b := e.newBrowser()
	a := newAuthReq(c)
	cf := b.openConsent(a)
	r := b.submit(cf, "approve", func(req *http.Request) {
		form := url.Values{"flow": {cf.Flow}, "csrf": {cf.CSRF}, "action": {"approve"}, "redirect_uri": {"https://evil.test/cb"}}
		*req = *formRequest(e.url("/consent"), form)
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	})
	f := &flow{Req: a}
	f.GitHub = r.location(t)
	b.finish(f)
	if f.Final.Host != "app.test" || f.Code == "" {
		t.Fatalf("RU-08: the code went to %s", f.Final)
	}

	// The client's redirect URIs change after consent: the callback refuses.
	b2 := e.newBrowser()
	a2 := newAuthReq(c)
	r = b2.submit(b2.openConsent(a2), "approve", nil)
	gh := e.get(b2.c, r.location(t).String())
	wantStatus(t, "PUT new redirect URIs", e.putClient(c, c.RAT, "https://app.test/other"), http.StatusOK, "")
	cb := e.get(b2.c, gh.location(t).String())
	wantLocalPage(t, "RU-08 callback after the client changed", cb, http.StatusBadRequest)
}

// TestCORS_MD04: browsers may call metadata, registration, token and
// revocation cross-origin (without credentials), never the authorization
// endpoint, the consent form or the callback.
func TestCORS_MD04(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	for _, tt := range []struct {
		method, path string
		cors         bool
	}{
		{http.MethodGet, "/.well-known/oauth-authorization-server", true},
		{http.MethodGet, "/.well-known/openid-configuration", true},
		{http.MethodGet, "/jwks", true},
		{http.MethodPost, "/register", true},
		{http.MethodPost, "/token", true},
		{http.MethodPost, "/revoke", true},
		{http.MethodGet, "/authorize", false},
		{http.MethodPost, "/consent", false},
		{http.MethodGet, "/callback", false},
	} {
		req, _ := http.NewRequest(http.MethodOptions, e.url(tt.path), nil)
		req.Header.Set("Origin", "https://inspector.test")
		req.Header.Set("Access-Control-Request-Method", tt.method)
		r := e.do(e.api, req)
		got := r.Header.Get("Access-Control-Allow-Origin")
		if tt.cors && (got != "*" || r.Status != http.StatusNoContent) {
			t.Errorf("MD-04 preflight %s: %d, Allow-Origin %q; want 204 and *", tt.path, r.Status, got)
		}
		if !tt.cors && got != "" {
			t.Errorf("MD-04 preflight %s: Allow-Origin %q; want none", tt.path, got)
		}
		if r.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("MD-04 %s allows credentials", tt.path)
		}
	}
}

// TestTokenInputStrictness_MD06: /token takes only a form body of at most
// 16 KiB; anything else is a client error, never a 500.
func TestTokenInputStrictness_MD06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(post)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {c.ID}, "client_secret": {c.Secret}}
	send := func(ctype, body string) *response {
		req, _ := http.NewRequest(http.MethodPost, e.url("/token"), strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return e.do(e.api, req)
	}
	wantStatus(t, "MD-06 JSON body", send("application/json", `{"grant_type":"refresh_token"}`), http.StatusBadRequest, "invalid_request")
	wantStatus(t, "MD-06 two content types", send("application/json, application/x-www-form-urlencoded", form.Encode()), http.StatusBadRequest, "invalid_request")
	wantStatus(t, "MD-06 no content type", send("", form.Encode()), http.StatusBadRequest, "invalid_request")
	wantStatus(t, "MD-06 5 MB form", send("application/x-www-form-urlencoded", form.Encode()+"&pad="+strings.Repeat("a", 5<<20)),
		http.StatusRequestEntityTooLarge, "invalid_request")
	wantStatus(t, "MD-06 repeated parameter", send("application/x-www-form-urlencoded", form.Encode()+"&grant_type=refresh_token"),
		http.StatusBadRequest, "invalid_request")
	get := e.get(e.api, "/token?"+form.Encode())
	if get.Status != http.StatusMethodNotAllowed {
		t.Errorf("MD-06 GET /token: %d, want 405", get.Status)
	}
	q := send("application/x-www-form-urlencoded", form.Encode())
	wantStatus(t, "a well-formed request with a bad refresh token", q, http.StatusBadRequest, "invalid_grant")
}

// TestNoOpenRedirectParameters_AZ05: no endpoint follows a generic
// next/return_to/redirect parameter.
func TestNoOpenRedirectParameters_AZ05(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	evil := url.Values{"next": {"https://evil.test/"}, "return_to": {"https://evil.test/"}, "redirect": {"https://evil.test/"}}
	for _, path := range []string{"/callback", "/error", "/consent", "/login", "/authorize"} {
		r := e.get(e.api, path+"?"+evil.Encode())
		if loc := r.Header.Get("Location"); strings.Contains(loc, "evil.test") {
			t.Errorf("AZ-05 %s redirects to %s", path, loc)
		}
	}
	req := formRequest(e.url("/consent"), evil)
	if loc := e.do(e.api, req).Header.Get("Location"); strings.Contains(loc, "evil.test") {
		t.Errorf("AZ-05 POST /consent redirects to %s", loc)
	}
}

// TestClientSecretExpiry_CL07: a confidential client whose secret expired
// (client_lifetime) can no longer authenticate.
func TestClientSecretExpiry_CL07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Extra: []string{"client_lifetime 2s"}})
	c := e.newClient(post)
	exp, _ := c.Resp["client_secret_expires_at"].(float64)
	if exp == 0 {
		t.Fatal("CL-07: client_secret_expires_at is 0 with a 2s client lifetime")
	}
	time.Sleep(2500 * time.Millisecond) // time is under test: past the 2 s client lifetime
	wantStatus(t, "CL-07 expired secret", e.refresh(c, "x", nil), http.StatusUnauthorized, "invalid_client")
}

// TestRefreshExpiry_RT07: a refresh token unused for its lifetime is dead.
func TestRefreshExpiry_RT07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Extra: []string{"refresh_token_lifetime 2s"}})
	c := e.newClient(basic)
	_, tok := e.fullFlow(c)
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil)) // use extends the family
	// Time is under test: past the 2 s refresh-token lifetime.
	time.Sleep(2500 * time.Millisecond)
	wantStatus(t, "RT-07 expired refresh token", e.refresh(c, next.Refresh, nil), http.StatusBadRequest, "invalid_grant")
}

// TestRefreshRechecksAllowList_RT08: a user removed from the allow-list
// (config reload) cannot refresh; a deleted client cannot either.
func TestRefreshRechecksAllowList_RT08(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Admin: true})
	c := e.newClient(basic)
	_, tok := e.fullFlow(c)
	d := e.newClient(basic)
	_, tokD := e.fullFlow(d)

	e.caddy.cfg.AllowedUsers = "bob"
	e.caddy.reload()
	// The old config may still answer right after the reload (see
	// reload); wait until a fresh login of alice is refused. Once a
	// request over e's connection pool reaches the new config, the
	// connection to the old server is gone (it was told to shut down, so
	// its listener is closed too) and later requests reach the new one.
	waitFor(t, 10*time.Second, "RT-08 the reloaded allow-list refuses alice's login", func() bool {
		f := e.newBrowser().login(c, nil)
		return f.Final.Query().Get("error") == "access_denied"
	})
	wantStatus(t, "RT-08 refresh after removal from the allow-list", e.refresh(c, tok.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	wantStatus(t, "delete client", e.manage(http.MethodDelete, d.ID, d.RAT, nil), http.StatusNoContent, "")
	wantStatus(t, "RT-08 refresh by a deleted client", e.refresh(d, tokD.Refresh, nil), http.StatusUnauthorized, "invalid_client")
}
