package oauthcore_test

// httptest tests of /register (RFC 7591): the response, the redirect-URI
// policy, metadata validation and narrowing. The rate limit and outages
// are in register_limits_http_test.go.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestRegisterResponse_DR08_MD05_CL03: every auth method answers 201 with
// the RFC 7591 §3.2.1 members, a secret and its expiry only for
// confidential clients, the RFC 7592 management URL and token, no-store
// JSON and CORS; the store keeps only hashes of the secret and the token.
func TestRegisterResponse_DR08_MD05_CL03(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.ClientLifetime = 48 * time.Hour })
	for _, tt := range []struct {
		method, want string
		secret       bool
	}{
		{"", authBasic, true},
		{authBasic, authBasic, true},
		{authPost, authPost, true},
		{authPublic, authPublic, false},
	} {
		t.Run("method "+tt.want, func(t *testing.T) {
			h := h.sub(t)
			r := h.register(clientMeta(tt.method))
			if r.Status != http.StatusCreated {
				t.Fatalf("register: %s", r)
			}
			wantJSONNoStore(t, "registration", r)
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("MD-04: registration without CORS: %v", r.Header)
			}
			m := r.json(t)
			id, _ := m["client_id"].(string)
			rat, _ := m["registration_access_token"].(string)
			secret, hasSecret := m["client_secret"].(string)
			if !strings.HasPrefix(id, "client_") || len(id) < 20 || !strings.HasPrefix(rat, "reg-") || len(rat) < 40 {
				t.Errorf("client_id %q, registration_access_token %q", id, rat)
			}
			if m["token_endpoint_auth_method"] != tt.want || m["registration_client_uri"] != asIssuer+"/register/"+id {
				t.Errorf("auth method %v, registration_client_uri %v", m["token_endpoint_auth_method"], m["registration_client_uri"])
			}
			if issued, _ := m["client_id_issued_at"].(float64); int64(issued) != h.clock.Now().Unix() {
				t.Errorf("client_id_issued_at %v, want %d", m["client_id_issued_at"], h.clock.Now().Unix())
			}
			if hasSecret != tt.secret || (tt.secret && len(secret) < 40) {
				t.Errorf("DR-08: client_secret %q for %s", secret, tt.want)
			}
			exp, hasExp := m["client_secret_expires_at"].(float64)
			if hasExp != tt.secret || (tt.secret && int64(exp) != h.clock.Now().Add(48*time.Hour).Unix()) {
				t.Errorf("DR-08: client_secret_expires_at %v for %s, want the client's end", m["client_secret_expires_at"], tt.want)
			}
			for _, k := range []string{"redirect_uris", "grant_types", "response_types", "scope"} {
				if m[k] == nil {
					t.Errorf("the response lacks %s: %s", k, r.Body)
				}
			}
			dump := h.dump()
			if !strings.Contains(dump, id) || strings.Contains(dump, rat) || (secret != "" && strings.Contains(dump, secret)) {
				t.Error("CL-03: the store holds the secret or the registration access token in plain text")
			}
		})
	}
}

// TestRegisterSecretNeverExpires: with clients that live forever the
// secret's expiry is 0 (RFC 7591 §3.2.1: "0 if it will not expire").
func TestRegisterSecretNeverExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.ClientLifetime = -1 })
	c := h.newClient(authBasic)
	if exp, ok := c.Resp["client_secret_expires_at"].(float64); !ok || exp != 0 {
		t.Errorf("client_secret_expires_at %v, want 0", c.Resp["client_secret_expires_at"])
	}
	// CL-07 inverted: a secret that never expires still authenticates a
	// year on.
	h.clock.Advance(365 * 24 * time.Hour)
	if r := h.introspect(c, "not-a-token"); r.Status != http.StatusOK {
		t.Errorf("a year on: %s", r)
	}
}

// TestRegisterServerChoosesIdentifiers_CL05: identifiers, secrets and
// timestamps in the request are the server's to choose; the chosen ones
// are ignored and authenticate nothing.
func TestRegisterServerChoosesIdentifiers_CL05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := clientMeta(authPost)
	chosen := map[string]any{"client_id": "client_chosen0000000000000", "client_secret": "chosen-secret-0123456789abcdef0123456789",
		"registration_access_token": "reg-chosen", "client_id_issued_at": 1, "client_secret_expires_at": 1,
		"registration_client_uri": "https://evil.test/register/x"}
	for k, v := range chosen {
		m[k] = v
	}
	c := h.registerMeta(m)
	for k, v := range chosen {
		if c.Resp[k] == v {
			t.Errorf("CL-05: the client chose its %s", k)
		}
	}
	forged := &testClient{ID: "client_chosen0000000000000", Secret: chosen["client_secret"].(string), Method: authPost}
	wantOAuthError(t, "CL-05 the chosen id at /introspect", h.introspect(forged, "x"), http.StatusUnauthorized, "invalid_client")
	c.Secret = chosen["client_secret"].(string)
	wantOAuthError(t, "CL-05 the chosen secret at /introspect", h.introspect(c, "x"), http.StatusUnauthorized, "invalid_client")
	wantOAuthError(t, "CL-05 the chosen RAT", h.manageAs(http.MethodGet, c.ID, "Bearer reg-chosen", "", nil),
		http.StatusUnauthorized, "invalid_token")
}

// TestRegisterRedirectURIPolicy_RU03_RU04_RU05_RU06: look-alike loopback
// hosts, dangerous schemes in every disguise, fragments, wildcards, user
// info, relative and oversized URIs are refused with
// invalid_redirect_uri and store nothing; https, literal loopback http and
// private-use schemes are accepted.
func TestRegisterRedirectURIPolicy_RU03_RU04_RU05_RU06(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	refused := []string{
		// RU-03
		"http://localhost.evil.test/cb", "http://127.0.0.1.evil.test/cb", "http://localhost@evil.test/cb",
		"http://evil.test#@127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://evil.test/cb",
		"http://127.0.0.2/cb", "http://[::ffff:127.0.0.1]/cb", "http://[::1/cb", "http://::1/cb",
		// RU-04
		"JaVaScRiPt:alert(1)", "%20javascript:alert(1)", "java\tscript:x", " javascript:alert(1)", "javascript:alert(1)",
		"data:text/html,x", "DATA:text/html,x", "file:///x", "vbscript:x", "blob:https://app.test/x", "about:blank",
		"mailto:a@b.test", "ftp://app.test/cb", "ws://127.0.0.1/cb", "wss://app.test/cb", "urn:ietf:wg:oauth:2.0:oob",
		"https://app.test/c\x00b", "https://app.test/c\u0085b", "https://app.test/cb\n", "https://app.test/c\u00a0b",
		"https://app.test/c\u2028b", "https://app.test/c\x7fb",
		// RU-05
		"https://app.test/cb#x", "https://app.test/cb#",
		// RU-06
		"https://*.app.test/cb", "https://app.test/*", "https://u:p@app.test/cb", "https://u@app.test/cb", "/cb", "cb", "",
		"https:///cb", "https://app.test/" + strings.Repeat("a", 2040),
	}
	accepted := []string{
		"https://app.test/cb", "https://app.test/cb?x=1", "HTTPS://app.test/cb", "http://127.0.0.1:33418/",
		"http://[::1]:8080/cb", "http://localhost:1234/cb", "http://127.0.0.1/cb", "https://claude.ai/api/mcp/auth_callback",
		"https://app.test/" + strings.Repeat("a", 2000),
		"cursor://anysphere.cursor-mcp/oauth/callback", "com.example.app:/cb", "myapp:/cb",
		"vscode://vscode.github-authentication/did-authenticate", "claude://oauth/cb",
	}
	t.Run("uris", func(t *testing.T) {
		for _, uri := range refused {
			t.Run(fmt.Sprintf("refused %.40q", uri), func(t *testing.T) {
				t.Parallel()
				h := h.sub(t)
				wantOAuthError(t, "register", h.register(clientMeta(authPublic, uri)), http.StatusBadRequest, "invalid_redirect_uri")
			})
		}
		t.Run("one bad URI among good ones", func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			wantOAuthError(t, "register", h.register(clientMeta(authPublic, "https://app.test/cb", "javascript:alert(1)")),
				http.StatusBadRequest, "invalid_redirect_uri")
		})
		for _, uri := range accepted {
			t.Run(fmt.Sprintf("accepted %.40q", uri), func(t *testing.T) {
				t.Parallel()
				h := h.sub(t)
				c := h.newClient(authPublic, uri)
				if len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != uri {
					t.Errorf("registered %q, want it byte for byte", c.RedirectURIs)
				}
			})
		}
	})
	if n := h.clientCount(); n != len(accepted) {
		t.Errorf("%d clients stored, want the %d accepted ones only", n, len(accepted))
	}
}

// TestRegisterPrivateSchemesAllowList_RU04: with private_schemes set, only
// the listed private-use schemes register; https and loopback http still
// do, and a denied scheme stays denied even when an operator lists it.
func TestRegisterPrivateSchemesAllowList_RU04(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.Config.PrivateSchemes = []string{"cursor", "javascript", "data"} })
	for _, tt := range []struct {
		uri    string
		status int
	}{
		{"cursor://anysphere.cursor-mcp/oauth/callback", http.StatusCreated},
		{"CURSOR://anysphere.cursor-mcp/oauth/callback", http.StatusCreated},
		{"https://app.test/cb", http.StatusCreated},
		{"http://127.0.0.1:9/cb", http.StatusCreated},
		{"com.example.app:/cb", http.StatusBadRequest},
		{"vscode://vscode.github-authentication/did-authenticate", http.StatusBadRequest},
		{"javascript:alert(1)", http.StatusBadRequest},
		{"data:text/html,x", http.StatusBadRequest},
	} {
		r := h.register(clientMeta(authPublic, tt.uri))
		if r.Status != tt.status {
			t.Errorf("register %q: %s, want %d", tt.uri, r, tt.status)
		}
		if tt.status == http.StatusBadRequest && r.oauthError() != "invalid_redirect_uri" {
			t.Errorf("register %q: error %q, want invalid_redirect_uri", tt.uri, r.oauthError())
		}
	}
}

// TestRegisterMetadataValidation_DR02_DR03_DR04_DR05: bodies that are not
// a JSON object of the right types, too large, over the field limits, with
// non-http(s) display URLs or asking for what this server does not
// implement are refused with the RFC 7591 §3.2.2 code, and store nothing.
func TestRegisterMetadataValidation_DR02_DR03_DR04_DR05(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var uris []string
	for i := 0; i < 11; i++ {
		uris = append(uris, fmt.Sprintf("https://app.test/%d", i))
	}
	with := func(k string, v any) map[string]any {
		m := clientMeta(authPublic)
		m[k] = v
		return m
	}
	for _, tt := range []struct {
		name   string
		ctype  string
		body   any // string bodies are sent as they are
		status int
		code   oauthcore.ErrorCode
	}{
		{"DR-02 text/plain", "text/plain", `{"redirect_uris":["https://app.test/cb"]}`, 415, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 no content type", "-", `{"redirect_uris":["https://app.test/cb"]}`, 415, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 form", "application/x-www-form-urlencoded", "redirect_uris=https://app.test/cb", 415, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 two content types", "application/json, text/plain", `{"redirect_uris":["https://app.test/cb"]}`, 415, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 17 KiB", "", `{"redirect_uris":["https://app.test/cb"],"client_name":"` + strings.Repeat("x", 17<<10) + `"}`, 413, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 redirect_uris a string", "", `{"redirect_uris":"https://app.test/cb"}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 client_name a number", "", `{"redirect_uris":["https://app.test/cb"],"client_name":7}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 contacts a string", "", `{"redirect_uris":["https://app.test/cb"],"contacts":"a@b.test"}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 grant_types a string", "", `{"redirect_uris":["https://app.test/cb"],"grant_types":"authorization_code"}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 a redirect URI a number", "", `{"redirect_uris":[7]}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 not JSON", "", `{"redirect_uris":`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 a JSON array", "", `[{"redirect_uris":["https://app.test/cb"]}]`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 trailing data", "", `{"redirect_uris":["https://app.test/cb"]} {}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-02 empty body", "", ``, 400, oauthcore.CodeInvalidClientMetadata},
		{"no redirect_uris", "", `{}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"null", "", `null`, 400, oauthcore.CodeInvalidClientMetadata},
		{"empty redirect_uris", "", `{"redirect_uris":[]}`, 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-03 11 redirect URIs", "", map[string]any{"redirect_uris": uris}, 400, oauthcore.CodeInvalidRedirectURI},
		{"DR-03 6 contacts", "", with("contacts", []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-03 a 257-byte contact", "", with("contacts", []string{strings.Repeat("c", 257)}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-03 a 257-byte software_id", "", with("software_id", strings.Repeat("s", 257)), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-03 a 257-byte software_version", "", with("software_version", strings.Repeat("s", 257)), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-03 a 2049-byte scope", "", with("scope", strings.Repeat("mcp ", 513)), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 logo_uri javascript:", "", with("logo_uri", "javascript:alert(1)"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 client_uri data:", "", with("client_uri", "data:text/html,x"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 tos_uri relative", "", with("tos_uri", "/tos"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 policy_uri ftp", "", with("policy_uri", "ftp://app.test/policy"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 logo_uri with user info", "", with("logo_uri", "https://u:p@app.test/logo.png"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-04 client_uri of 3 KiB", "", with("client_uri", "https://app.test/"+strings.Repeat("a", 3<<10)), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 client_credentials", "", with("grant_types", []string{"client_credentials"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 implicit", "", with("grant_types", []string{"authorization_code", "implicit"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 refresh_token alone", "", with("grant_types", []string{"refresh_token"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 device code", "", with("grant_types", []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 no grant types", "", with("grant_types", []string{}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 response type token", "", with("response_types", []string{"token"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 code id_token", "", with("response_types", []string{"code", "id_token"}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 no response types", "", with("response_types", []string{}), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 private_key_jwt", "", with("token_endpoint_auth_method", "private_key_jwt"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 client_secret_jwt", "", with("token_endpoint_auth_method", "client_secret_jwt"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 tls_client_auth", "", with("token_endpoint_auth_method", "tls_client_auth"), 400, oauthcore.CodeInvalidClientMetadata},
		{"DR-05 auth method in capitals", "", with("token_endpoint_auth_method", "NONE"), 400, oauthcore.CodeInvalidClientMetadata},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := h.sub(t)
			ctype := tt.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			var req *http.Request
			if body, ok := tt.body.(string); ok {
				req = rawRequest(http.MethodPost, "/register", strings.TrimPrefix(ctype, "-"), body)
			} else {
				req = request(http.MethodPost, "/register", tt.body)
			}
			r := h.serve(req)
			wantOAuthError(t, tt.name, r, tt.status, string(tt.code))
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("MD-04: a refused registration without CORS (browsers cannot read why)")
			}
		})
	}
	t.Cleanup(func() {
		if n := h.clientCount(); n != 0 {
			t.Errorf("refused registrations stored %d clients", n)
		}
	})
}

// TestRegisterNarrowing_DR03_AZ10: what a registration may say but not
// insist on is narrowed rather than refused (RFC 7591 §3.2.1): long names
// truncated, control and bidi characters dropped, unknown members
// dropped (neither echoed nor stored), scopes narrowed to the configured
// ones. RFC 7592 reads return the narrowed metadata.
func TestRegisterNarrowing_DR03_AZ10(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.Config.Scopes = []string{"mcp", "read", "write"}
		o.Config.DefaultScope = "read"
	})
	for _, tt := range []struct {
		name                 string
		set                  map[string]any
		wantName, wantScope  any
		wantAbsent, wantKept []string
	}{
		{"long name", map[string]any{"client_name": strings.Repeat("é", 500)}, strings.Repeat("é", 128), "mcp read write", nil, nil},
		{"control and bidi characters", map[string]any{"client_name": "Good\u202eApp\x00\u200b\ufeff\n"}, "GoodApp", "mcp read write", nil, nil},
		{"no name", map[string]any{"client_name": nil}, nil, "mcp read write", nil, nil},
		{"unknown members", map[string]any{"x_marker": "unknown-member-value", "jwks_uri": "https://canary.test/jwks",
			"metadata": map[string]any{"skip_consent": true}}, "Test App", "mcp read write",
			[]string{"x_marker", "jwks_uri", "metadata"}, nil},
		{"display members kept", map[string]any{"logo_uri": "https://app.test/logo.png", "client_uri": "http://app.test/",
			"tos_uri": "https://app.test/tos", "policy_uri": "https://app.test/policy", "contacts": []string{"ops@app.test"},
			"software_id": "app", "software_version": "1.2"}, "Test App", "mcp read write", nil,
			[]string{"logo_uri", "client_uri", "tos_uri", "policy_uri", "contacts", "software_id", "software_version"}},
		{"AZ-10 unknown scope: the default", map[string]any{"scope": "admin"}, "Test App", "read", nil, nil},
		{"AZ-10 known and unknown", map[string]any{"scope": "write admin openid"}, "Test App", "write", nil, nil},
		{"AZ-10 offline_access alone: the default", map[string]any{"scope": "offline_access"}, "Test App", "read", nil, nil},
		{"AZ-10 duplicates, order kept", map[string]any{"scope": "write  write read offline_access"}, "Test App", "write read", nil, nil},
		{"AZ-10 blank scope: every scope", map[string]any{"scope": "  "}, "Test App", "mcp read write", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.sub(t)
			m := clientMeta(authBasic)
			for k, v := range tt.set {
				m[k] = v
			}
			c := h.registerMeta(m)
			read := h.manage(http.MethodGet, c, nil)
			if read.Status != http.StatusOK {
				t.Fatalf("read back: %s", read)
			}
			for what, got := range map[string]map[string]any{"registration": c.Resp, "RFC 7592 read": read.json(t)} {
				if got["client_name"] != tt.wantName || got["scope"] != tt.wantScope {
					t.Errorf("%s: client_name %q scope %q, want %q %q", what, got["client_name"], got["scope"], tt.wantName, tt.wantScope)
				}
				for _, k := range tt.wantAbsent {
					if _, ok := got[k]; ok {
						t.Errorf("DR-03 %s echoes the unknown member %s", what, k)
					}
				}
				for _, k := range tt.wantKept {
					if fmt.Sprint(got[k]) != fmt.Sprint(m[k]) {
						t.Errorf("%s: %s = %v, want %v", what, k, got[k], m[k])
					}
				}
			}
			if strings.Contains(h.dump(), "unknown-member-value") || strings.Contains(h.dump(), "canary.test") {
				t.Error("DR-03: an unknown member was stored")
			}
		})
	}
}

// TestRegisterContentTypes_DR02: application/json in any case and with
// parameters is JSON; other JSON-ish types are 415.
func TestRegisterContentTypes_DR02(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for ctype, status := range map[string]int{
		"application/json": 201, "application/json; charset=utf-8": 201, "APPLICATION/JSON": 201,
		"application/json;charset=UTF-8": 201, "application/vnd.api+json": 415, "text/json": 415,
		"application/jsonx": 415, "json": 415,
	} {
		r := h.serve(rawRequest(http.MethodPost, "/register", ctype, `{"redirect_uris":["https://app.test/cb"]}`))
		if r.Status != status {
			t.Errorf("DR-02 Content-Type %q: %s, want %d", ctype, r, status)
		}
	}
}
