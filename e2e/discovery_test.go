package e2e

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestDiscoveryMetadata_MD01_MD05_PK02 fetches RFC 8414 metadata and
// checks it tells the truth: exact issuer, only S256, every advertised
// endpoint answers, and token and registration responses are no-store JSON.
func TestDiscoveryMetadata_MD01_MD05_PK02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	r := e.get(e.api, "/.well-known/oauth-authorization-server")
	wantStatus(t, "metadata", r, http.StatusOK, "")
	md := r.json(t)

	if md["issuer"] != e.issuer {
		t.Errorf("MD-01: issuer %q, want exactly %q", md["issuer"], e.issuer)
	}
	if got := md["code_challenge_methods_supported"]; !reflect.DeepEqual(got, []any{"S256"}) {
		t.Errorf("PK-02: code_challenge_methods_supported = %v, want [S256]", got)
	}
	if md["authorization_response_iss_parameter_supported"] != true {
		t.Error("MD-02: authorization_response_iss_parameter_supported is not true")
	}
	if !reflect.DeepEqual(md["response_types_supported"], []any{"code"}) {
		t.Errorf("response_types_supported = %v, want [code]", md["response_types_supported"])
	}
	methods, _ := md["token_endpoint_auth_methods_supported"].([]any)
	if !containsAny(methods, "none") {
		t.Errorf("MD-01: token_endpoint_auth_methods_supported %v lacks none", methods)
	}

	// Every advertised endpoint exists on this issuer and answers as an
	// endpoint (never 404 or 5xx): GET the GET ones, POST an empty form to
	// the others.
	endpoints := map[string]string{
		"authorization_endpoint": http.MethodGet, "jwks_uri": http.MethodGet,
		"token_endpoint": http.MethodPost, "registration_endpoint": http.MethodPost,
		"revocation_endpoint": http.MethodPost, "introspection_endpoint": http.MethodPost,
	}
	for name, method := range endpoints {
		u, _ := md[name].(string)
		if !strings.HasPrefix(u, e.issuer+"/") {
			t.Errorf("MD-01: %s = %q is not on the issuer", name, u)
			continue
		}
		var resp *response
		if method == http.MethodGet {
			resp = e.get(e.api, u)
		} else {
			resp = e.do(e.api, formRequest(u, url.Values{}))
		}
		if resp.Status == http.StatusNotFound || resp.Status >= 500 {
			t.Errorf("MD-01: %s %s answered %d", method, u, resp.Status)
		}
	}
	if jwks := e.get(e.api, "/jwks"); !strings.Contains(jwks.Body, `"kid"`) || !strings.Contains(jwks.Body, `"ES256"`) {
		t.Errorf("jwks: %s", jwks)
	}

	// MD-05 on the registration and token responses.
	c := e.newClient(basic)
	reg := e.register(clientMeta(basic))
	wantJSONNoStore(t, "registration response", reg)
	_, tokens := e.fullFlow(c)
	wantJSONNoStore(t, "token response", tokens.Resp)
	wantJSONNoStore(t, "token error", e.refresh(c, "nope", nil))
}

func wantJSONNoStore(t *testing.T, what string, r *response) {
	t.Helper()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Errorf("MD-05: %s: Content-Type %q, Cache-Control %q, Pragma %q; want application/json, no-store, no-cache",
			what, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
	}
}

func containsAny(list []any, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}
