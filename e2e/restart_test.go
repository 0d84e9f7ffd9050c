package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// jwksKIDs returns the key ids Caddy publishes.
func (e *env) jwksKIDs() []string {
	e.t.Helper()
	r := e.get(e.api, "/jwks")
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &set) != nil || len(set.Keys) == 0 {
		e.t.Fatalf("jwks: %s", r)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// restart stops Caddy and starts it again on the same port and data dir.
func (e *env) restart() {
	e.t.Helper()
	e.caddy.restart()
	e.tr.CloseIdleConnections()
}

// TestRestartKeepsState: the embedded store survives a restart: the
// registered client, its registration access token, issued access and
// refresh tokens, remembered consent and the ES256 signing key.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	b := e.newBrowser()
	_ = b.approveOnce(c)
	_, tok := e.fullFlow(c)
	kids := e.jwksKIDs()

	e.restart()

	if got := e.jwksKIDs(); len(got) != len(kids) || got[len(got)-1] != kids[len(kids)-1] {
		t.Errorf("the ES256 kid changed across the restart: %v -> %v", kids, got)
	}
	if !e.active(c, tok.Access) {
		t.Error("an access token issued before the restart is no longer active")
	}
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	if !e.active(c, next.Access) {
		t.Error("the refreshed access token is not active")
	}
	wantStatus(t, "RAT after restart", e.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusOK, "")
	if r := e.get(b.c, newAuthReq(c).path()); r.Status != http.StatusFound {
		t.Errorf("remembered consent after restart: want 302 to GitHub, got %d", r.Status)
	}
	e.exchange(c, b.login(c, nil))
	if got := e.jwksKIDs(); got[len(got)-1] != kids[len(kids)-1] {
		t.Errorf("kid changed: %v", got)
	}
}
