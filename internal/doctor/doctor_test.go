package doctor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeDeployment is a gate and an authorization server on one origin
// whose issuer the resource metadata spells as prmIssuer and the server
// metadata as asIssuer.
func fakeDeployment(t *testing.T, prmIssuer func(origin string) string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			writeJSON(w, http.StatusNoContent, nil)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+srv.URL+`/.well-known/oauth-protected-resource/mcp"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
	})
	mux.HandleFunc("/.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"resource": srv.URL + "/mcp", "authorization_servers": []string{prmIssuer(srv.URL)}})
	})
	meta := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token",
			"registration_endpoint": srv.URL + "/register", "code_challenge_methods_supported": []string{"S256"}})
	}
	mux.HandleFunc("/.well-known/oauth-authorization-server", meta)
	mux.HandleFunc("/.well-known/openid-configuration", meta)
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusNoContent, nil) })
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]string{"client_id": "c1", "registration_client_uri": srv.URL + "/register/c1",
			"registration_access_token": "rat"})
	})
	mux.HandleFunc("DELETE /register/c1", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer rat" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestIssuerSpelledTwoWays: an issuer with a trailing slash in the
// resource metadata and without in the server metadata fails, naming the
// fix; spelled the same, everything passes.
func TestIssuerSpelledTwoWays(t *testing.T) {
	t.Parallel()
	good := fakeDeployment(t, func(origin string) string { return origin })
	if rep := New(nil).Check(context.Background(), good.URL+"/mcp"); !rep.OK() {
		var b strings.Builder
		rep.Print(&b)
		t.Fatalf("a consistent deployment failed:\n%s", b.String())
	}
	bad := fakeDeployment(t, func(origin string) string { return origin + "/" })
	rep := New(nil).Check(context.Background(), bad.URL+"/mcp")
	var b strings.Builder
	rep.Print(&b)
	out := b.String()
	if rep.OK() || !strings.Contains(out, "FAIL  authorization server") || !strings.Contains(out, "fix:  write the issuer without a trailing slash: issuer "+bad.URL) {
		t.Fatalf("issuer with a trailing slash on one side:\n%s", out)
	}
	if !strings.Contains(out, "FAIL  server metadata at") {
		t.Errorf("the issuer mismatch between the documents is not reported:\n%s", out)
	}
}
