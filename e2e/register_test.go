package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRegistrationRedirectURIMatrix_RU03_RU04_RU05_RU06 registers every
// look-alike, dangerous scheme, fragment, wildcard and oversized URI the
// checklist names; each must be refused, and the legitimate native-app
// schemes accepted.
func TestRegistrationRedirectURIMatrix_RU03_RU04_RU05_RU06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	refused := []string{
		// RU-03: http only for real loopback.
		"http://localhost.evil.test/cb", "http://127.0.0.1.evil.test/cb", "http://localhost@evil.test/cb",
		"http://evil.test#@127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://evil.test/cb",
		"http://127.0.0.2/cb", "http://[::ffff:127.0.0.1]/cb",
		// RU-04: dangerous schemes in every disguise.
		"JaVaScRiPt:alert(1)", "%20javascript:alert(1)", "java\tscript:x", " javascript:alert(1)",
		"javascript:alert(1)", "data:text/html,x", "DATA:text/html,x", "file:///x", "vbscript:x", "blob:https://app.test/x",
		"about:blank", "mailto:a@b.test", "ftp://app.test/cb", "ws://127.0.0.1/cb", "wss://app.test/cb",
		"https://app.test/c\x00b", "https://app.test/c\u0085b", "https://app.test/cb\n", "urn:ietf:wg:oauth:2.0:oob",
		// RU-05: fragments.
		"https://app.test/cb#x", "https://app.test/cb#",
		// RU-06: wildcards, userinfo, relative, oversized.
		"https://*.app.test/cb", "https://app.test/*", "https://u:p@app.test/cb", "https://u@app.test/cb", "/cb", "cb", "",
		"https://app.test/" + strings.Repeat("a", 3000),
	}
	for _, uri := range refused {
		r := e.register(map[string]any{"redirect_uris": []string{uri}})
		if r.Status != http.StatusBadRequest || r.oauthError() != "invalid_redirect_uri" {
			t.Errorf("register %q: got %d %s, want 400 invalid_redirect_uri", short(uri), r.Status, r.oauthError())
		}
	}
	// One bad URI among good ones spoils the registration.
	r := e.register(map[string]any{"redirect_uris": []string{"https://app.test/cb", "javascript:alert(1)"}})
	wantStatus(t, "good and bad URIs together", r, http.StatusBadRequest, "invalid_redirect_uri")

	accepted := []string{
		"cursor://anysphere.cursor-mcp/oauth/callback", "com.example.app:/cb", "https://app.test/cb",
		"https://app.test/cb?x=1", "http://127.0.0.1:33418/", "http://[::1]:8080/cb", "http://localhost:1234/cb",
		"https://claude.ai/api/mcp/auth_callback", "HTTPS://app.test/cb",
		// Any valid private-use scheme, reverse-DNS or not (issue 7).
		"myapp:/cb", "vscode://vscode.github-authentication/did-authenticate", "claude://oauth/cb", "zed://oauth/cb",
	}
	for _, uri := range accepted {
		r := e.register(map[string]any{"redirect_uris": []string{uri}, "token_endpoint_auth_method": "none"})
		if r.Status != http.StatusCreated {
			t.Errorf("register %q: got %d %s, want 201", uri, r.Status, r.Body)
		}
	}
}

func short(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s...(%d bytes)...%s", s[:120], len(s), s[len(s)-60:])
	}
	return s
}

// TestRegistrationLimits_DR02_DR03_DR05_DR08_CL05 checks the body and field
// limits, refused capabilities, the response shape, and that a client
// cannot choose its own id or secret.
func TestRegistrationLimits_DR02_DR03_DR05_DR08_CL05(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})

	t.Run("DR-02 body size and type", func(t *testing.T) {
		start := time.Now()
		big := `{"redirect_uris":["https://app.test/cb"],"client_name":"` + strings.Repeat("x", 10<<20) + `"}`
		r, err := e.try(e.api, e.jsonRequest(http.MethodPost, "/register", big, ""))
		if err != nil {
			t.Errorf("10 MB registration: transport error %v, want a 413 answer", err)
		} else {
			wantStatus(t, "10 MB registration", r, http.StatusRequestEntityTooLarge, "")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("10 MB registration took %s", d)
		}
		req := e.jsonRequest(http.MethodPost, "/register", `{"redirect_uris":["https://app.test/cb"]}`, "")
		req.Header.Set("Content-Type", "text/plain")
		wantStatus(t, "text/plain body", e.do(e.api, req), http.StatusUnsupportedMediaType, "")
		wantStatus(t, "redirect_uris as a string", e.register(`{"redirect_uris":"https://app.test/cb"}`),
			http.StatusBadRequest, "invalid_client_metadata")
		wantStatus(t, "not JSON", e.register(`{"redirect_uris":`), http.StatusBadRequest, "invalid_client_metadata")
		wantStatus(t, "no redirect_uris", e.register(`{}`), http.StatusBadRequest, "invalid_client_metadata")
	})

	t.Run("DR-03 field limits", func(t *testing.T) {
		var eleven, thousand []string
		for i := 0; i < 1000; i++ {
			u := fmt.Sprintf("https://app.test/%d", i)
			if i < 11 {
				eleven = append(eleven, u)
			}
			thousand = append(thousand, u)
		}
		wantStatus(t, "11 redirect URIs", e.register(map[string]any{"redirect_uris": eleven}), http.StatusBadRequest, "")
		if r := e.register(map[string]any{"redirect_uris": thousand}); r.Status != 400 && r.Status != 413 {
			t.Errorf("1000 redirect URIs: got %d, want 400 or 413", r.Status)
		}
		contacts := []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test"}
		m := clientMeta("")
		m["contacts"] = contacts
		wantStatus(t, "6 contacts", e.register(m), http.StatusBadRequest, "invalid_client_metadata")
		m = clientMeta("")
		m["scope"] = "admin"
		// AZ-10: a registration cannot widen its scope; an unknown one is
		// narrowed to the default (RFC 7591 §3.2.1), not refused.
		if r := e.register(m); r.Status != http.StatusCreated || !strings.Contains(r.Body, `"scope":"mcp"`) {
			t.Errorf("scope admin (AZ-10): got %d %s, want 201 with scope mcp", r.Status, r.Body)
		}
		m = clientMeta("")
		m["logo_uri"] = "javascript:alert(1)"
		wantStatus(t, "logo_uri javascript: (DR-04)", e.register(m), http.StatusBadRequest, "invalid_client_metadata")

		m = clientMeta("")
		m["client_name"] = strings.Repeat("n", 500)
		m["x"] = "unknown member"
		c := e.registerMeta(m)
		if name, _ := c.Resp["client_name"].(string); len([]rune(name)) > 128 {
			t.Errorf("client_name kept %d characters, want at most 128", len([]rune(name)))
		}
		if _, ok := c.Resp["x"]; ok {
			t.Error("unknown member x was echoed")
		}
		got := e.manage(http.MethodGet, c.ID, c.RAT, nil)
		if strings.Contains(got.Body, "unknown member") {
			t.Error("unknown member x was stored (RFC 7592 read returns it)")
		}
	})

	t.Run("DR-05 unsupported capabilities", func(t *testing.T) {
		for _, change := range []map[string]any{
			{"grant_types": []string{"client_credentials"}},
			{"grant_types": []string{"authorization_code", "implicit"}},
			{"grant_types": []string{"refresh_token"}},
			{"token_endpoint_auth_method": "private_key_jwt"},
			{"token_endpoint_auth_method": "client_secret_jwt"},
			{"response_types": []string{"token"}},
			{"response_types": []string{"code", "id_token"}},
		} {
			m := clientMeta("")
			for k, v := range change {
				m[k] = v
			}
			wantStatus(t, fmt.Sprint(change), e.register(m), http.StatusBadRequest, "invalid_client_metadata")
		}
	})

	t.Run("DR-08 response shape", func(t *testing.T) {
		r := e.register(clientMeta(public))
		wantStatus(t, "public registration", r, http.StatusCreated, "")
		wantJSONNoStore(t, "registration", r)
		m := r.json(t)
		if _, ok := m["client_secret"]; ok {
			t.Error("a public (none) client got a client_secret")
		}
		for _, k := range []string{"client_id", "client_id_issued_at", "registration_access_token", "registration_client_uri"} {
			if _, ok := m[k]; !ok {
				t.Errorf("public registration lacks %s", k)
			}
		}
		if m["registration_client_uri"] != e.issuer+"/register/"+m["client_id"].(string) {
			t.Errorf("registration_client_uri = %v", m["registration_client_uri"])
		}
		c := e.newClient("")
		if c.Method != basic || c.Secret == "" || c.Resp["client_secret_expires_at"] == nil {
			t.Errorf("default registration: method %q, secret %t, expires_at %v; want client_secret_basic with a secret",
				c.Method, c.Secret != "", c.Resp["client_secret_expires_at"])
		}
	})

	t.Run("CL-05 server chooses identifiers", func(t *testing.T) {
		m := clientMeta(basic)
		m["client_id"] = "my-chosen-id"
		m["client_secret"] = "my-chosen-secret-0123456789abcdef0123456789"
		m["registration_access_token"] = "my-chosen-rat"
		r := e.register(m)
		if r.Status == http.StatusBadRequest {
			return // refusing is as good as ignoring
		}
		wantStatus(t, "registration with chosen ids", r, http.StatusCreated, "")
		got := r.json(t)
		if got["client_id"] == "my-chosen-id" || got["client_secret"] == m["client_secret"] ||
			got["registration_access_token"] == "my-chosen-rat" {
			t.Errorf("the client chose its own credentials: %v", got)
		}
		c := &regClient{ID: "my-chosen-id", Secret: m["client_secret"].(string), Method: basic}
		wantStatus(t, "chosen credentials at /introspect", e.introspect(c, "x"), http.StatusUnauthorized, "invalid_client")
	})
}

// TestRegistrationRateLimit_DR01: one address may register
// registration_limit clients a minute; the next gets 429 with Retry-After,
// and a spoofed X-Forwarded-For from an untrusted peer does not reset the
// count (Caddy's client_ip ignores it without trusted_proxies).
func TestRegistrationRateLimit_DR01(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Extra: []string{"registration_limit 5"}})
	for i := 0; i < 5; i++ {
		e.newClient(public)
	}
	r := e.register(clientMeta(public))
	wantStatus(t, "DR-01 sixth registration", r, http.StatusTooManyRequests, "slow_down")
	if r.Header.Get("Retry-After") == "" {
		t.Error("DR-01: 429 without Retry-After")
	}
	req := e.jsonRequest(http.MethodPost, "/register", clientMeta(public), "")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	wantStatus(t, "DR-01 with a spoofed X-Forwarded-For", e.do(e.api, req), http.StatusTooManyRequests, "slow_down")
}
