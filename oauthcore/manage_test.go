package oauthcore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// registerClient registers a public client and returns its id and
// registration access token.
func registerClient(t *testing.T, s *oauthcore.Server) (string, string) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(
		`{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`))
	r.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(w, r)
	var c struct {
		ClientID string `json:"client_id"`
		RAT      string `json:"registration_access_token"`
	}
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &c) != nil || c.RAT == "" {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	return c.ClientID, c.RAT
}

// readClient is GET /register/{id} with rat from the address addr.
func readClient(s *oauthcore.Server, id, rat, addr string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/register/"+id, nil)
	r.RemoteAddr = addr
	r.Header.Set("Authorization", "Bearer "+rat)
	s.ServeHTTP(w, r)
	return w
}

// TestManageThrottleNoOwnerLockout: wrong registration access tokens are
// throttled per (address, client): an attacker's failures get it 429, but
// the owner from another address reads its client.
func TestManageThrottleNoOwnerLockout(t *testing.T) {
	s := newServerWith(t, nil)
	id, rat := registerClient(t, s)
	other, otherRAT := registerClient(t, s)
	const attacker, owner = "192.0.2.66:4000", "198.51.100.7:5000"
	for i := 0; i < 25; i++ {
		w := readClient(s, id, "reg-guess", attacker)
		want := http.StatusUnauthorized
		if i >= 20 {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("wrong token %d: %d, want %d", i+1, w.Code, want)
		}
		if w.Code == http.StatusTooManyRequests && (w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "slow_down")) {
			t.Errorf("429 without Retry-After or slow_down: %v %s", w.Header(), w.Body)
		}
	}
	if w := readClient(s, id, rat, owner); w.Code != http.StatusOK {
		t.Errorf("owner from another address: %d %s, want 200", w.Code, w.Body)
	}
	if w := readClient(s, id, rat, attacker); w.Code != http.StatusTooManyRequests {
		t.Errorf("right token from the blocked address: %d, want 429", w.Code)
	}
	if w := readClient(s, other, otherRAT, attacker); w.Code != http.StatusOK {
		t.Errorf("another client from the attacker's address: %d, want 200", w.Code)
	}
}

// TestManageThrottlePerAddress: one address cannot guess across many
// clients: after 100 failures in a minute it gets 429 for every client,
// other addresses do not.
func TestManageThrottlePerAddress(t *testing.T) {
	s := newServerWith(t, nil)
	id, rat := registerClient(t, s)
	const attacker = "192.0.2.66:4000"
	for i := 0; i < 100; i++ {
		if w := readClient(s, "client_guess"+strings.Repeat("x", i%40)+string(rune('a'+i%26)), "reg-guess", attacker); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, w.Code)
		}
	}
	w := readClient(s, id, rat, attacker)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("after 100 failures across clients: %d %v, want 429 with Retry-After", w.Code, w.Header())
	}
	if w := readClient(s, id, rat, "[2001:db8::1]:443"); w.Code != http.StatusOK {
		t.Errorf("owner from another address: %d, want 200", w.Code)
	}
}
