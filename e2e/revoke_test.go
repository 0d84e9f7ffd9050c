package e2e

import (
	"net/http"
	"testing"
)

// TestRevocationOwnership_RV01: a client can revoke only its own tokens;
// revoking a refresh token ends the grant, revoking an access token only
// that token.
func TestRevocationOwnership_RV01(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	a := e.newClient(basic)
	b := e.newClient(basic)
	_, tok := e.fullFlow(a)

	wantStatus(t, "RV-01 B revokes A's access token", e.revoke(b, tok.Access), http.StatusOK, "")
	wantStatus(t, "RV-01 B revokes A's refresh token", e.revoke(b, tok.Refresh), http.StatusOK, "")
	if !e.active(a, tok.Access) {
		t.Error("RV-01: B revoked A's access token")
	}
	next := e.parseTokens(e.refresh(a, tok.Refresh, nil)) // B's attempt had no effect

	wantStatus(t, "A revokes its own access token", e.revoke(a, next.Access), http.StatusOK, "")
	if e.active(a, next.Access) {
		t.Error("RV-01: the revoked access token is still active")
	}
	third := e.parseTokens(e.refresh(a, next.Refresh, nil)) // AT revocation leaves the grant
	if !e.active(a, third.Access) {
		t.Error("RV-01: revoking one access token ended the grant")
	}

	wantStatus(t, "A revokes its own refresh token", e.revoke(a, third.Refresh), http.StatusOK, "")
	wantStatus(t, "RV-01 refresh after revocation", e.refresh(a, third.Refresh, nil), http.StatusBadRequest, "invalid_grant")
	if e.active(a, third.Access) {
		t.Error("RV-01: an access token of the revoked grant is still active")
	}
	wantStatus(t, "revoke an unknown token", e.revoke(a, "not-a-token"), http.StatusOK, "")
	wantStatus(t, "revoke without client auth", e.do(e.api, formRequest(e.url("/revoke"), map[string][]string{"token": {tok.Access}})),
		http.StatusUnauthorized, "invalid_client")
}

// TestIntrospection_RV02: public clients cannot introspect; a confidential
// client sees its own token's members and nothing of anyone else's.
func TestIntrospection_RV02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	a := e.newClient(basic)
	b := e.newClient(post)
	pub := e.newClient(public)
	_, tok := e.fullFlow(a)
	_, pubTok := e.fullFlow(pub)

	wantStatus(t, "RV-02 public client introspects its own token", e.introspect(pub, pubTok.Access), http.StatusUnauthorized, "invalid_client")
	wantStatus(t, "RV-02 public client introspects another token", e.introspect(pub, tok.Access), http.StatusUnauthorized, "invalid_client")

	r := e.introspect(a, tok.Access)
	wantStatus(t, "introspect own token", r, http.StatusOK, "")
	wantJSONNoStore(t, "introspection", r)
	m := r.json(t)
	want := map[string]any{"active": true, "token_type": "Bearer", "scope": "mcp", "client_id": a.ID, "username": "alice",
		"sub": "1001", "iss": e.issuer, "aud": e.issuer}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("introspection %s = %v, want %v", k, m[k], v)
		}
	}
	exp, _ := m["exp"].(float64)
	iat, _ := m["iat"].(float64)
	if jti, _ := m["jti"].(string); jti == "" || iat == 0 || exp-iat != tok.ExpiresIn {
		t.Errorf("introspection jti %v, iat %v, exp %v (expires_in %v)", m["jti"], m["iat"], m["exp"], tok.ExpiresIn)
	}

	other := e.introspect(b, tok.Access)
	wantStatus(t, "RV-02 B introspects A's token", other, http.StatusOK, "")
	if len(other.json(t)) != 1 || other.json(t)["active"] != false {
		t.Errorf("RV-02: B learned about A's token: %s", other.Body)
	}
	if e.active(a, "garbage") || e.active(a, pubTok.Access) {
		t.Error("garbage or another client's token introspects as active")
	}
}
