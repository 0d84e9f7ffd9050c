package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestRegistrationManagement_MG01_MG02_MG03_MG04: the RFC 7592 endpoint
// answers one uniform 401 for every bad credential, accepts only the
// client's own registration access token, validates updates like
// registrations and rotates the token on every update.
func TestRegistrationManagement_MG01_MG02_MG03_MG04(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	a := e.newClient(basic)
	b := e.newClient(basic)
	_, tok := e.fullFlow(a)

	read := e.manage(http.MethodGet, a.ID, a.RAT, nil)
	wantStatus(t, "GET with the RAT", read, http.StatusOK, "")
	if m := read.json(t); m["client_id"] != a.ID || m["client_secret"] != nil {
		t.Errorf("GET returned %v (a secret must not be repeated)", m)
	}

	unknown := e.manage(http.MethodGet, "client_doesnotexist000000", a.RAT, nil)
	wrong := e.manage(http.MethodGet, a.ID, "reg-wrong", nil)
	wantStatus(t, "MG-01 unknown client", unknown, http.StatusUnauthorized, "")
	wantStatus(t, "MG-01 wrong RAT", wrong, http.StatusUnauthorized, "")
	if unknown.Body != wrong.Body || unknown.Header.Get("WWW-Authenticate") != wrong.Header.Get("WWW-Authenticate") {
		t.Errorf("MG-01: unknown client %q %q vs wrong RAT %q %q", unknown.Body, unknown.Header.Get("WWW-Authenticate"),
			wrong.Body, wrong.Header.Get("WWW-Authenticate"))
	}
	wantStatus(t, "MG-01 no RAT", e.manage(http.MethodGet, a.ID, "", nil), http.StatusUnauthorized, "")
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		wantStatus(t, "MG-02 A's RAT on B, "+m, e.manage(m, b.ID, a.RAT, map[string]any{"client_id": b.ID,
			"redirect_uris": []string{"https://evil.test/cb"}}), http.StatusUnauthorized, "")
	}
	wantStatus(t, "MG-03 access token as RAT", e.manage(http.MethodGet, a.ID, tok.Access, nil), http.StatusUnauthorized, "")
	wantStatus(t, "MG-03 refresh token as RAT", e.manage(http.MethodGet, a.ID, tok.Refresh, nil), http.StatusUnauthorized, "")
	wantStatus(t, "MG-03 client secret as RAT", e.manage(http.MethodGet, a.ID, a.Secret, nil), http.StatusUnauthorized, "")
	if e.active(a, a.RAT) {
		t.Error("MG-03: the RAT introspects as an active access token")
	}

	// MG-04: updates are validated like registrations.
	wantStatus(t, "MG-04 PUT javascript:", e.putClient(a, a.RAT, "javascript:alert(1)"), http.StatusBadRequest, "invalid_redirect_uri")
	other := e.manage(http.MethodPut, a.ID, a.RAT, map[string]any{"client_id": b.ID, "redirect_uris": []string{"https://app.test/cb"},
		"token_endpoint_auth_method": basic})
	wantStatus(t, "MG-04 PUT naming another client_id", other, http.StatusBadRequest, "")
	badSecret := map[string]any{"client_id": a.ID, "client_secret": "not-the-secret", "redirect_uris": []string{"https://app.test/cb"},
		"token_endpoint_auth_method": basic}
	wantStatus(t, "MG-04 PUT with a wrong client_secret", e.manage(http.MethodPut, a.ID, a.RAT, badSecret), http.StatusBadRequest, "")
	grant := map[string]any{"client_id": a.ID, "redirect_uris": []string{"https://app.test/cb"}, "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": basic}
	wantStatus(t, "MG-04 PUT client_credentials", e.manage(http.MethodPut, a.ID, a.RAT, grant), http.StatusBadRequest, "invalid_client_metadata")
	wantStatus(t, "the RAT after refused updates", e.manage(http.MethodGet, a.ID, a.RAT, nil), http.StatusOK, "")

	r := e.putClient(a, a.RAT, "https://app.test/cb", "https://app.test/new")
	wantStatus(t, "MG-04 valid PUT", r, http.StatusOK, "")
	wantJSONNoStore(t, "PUT response", r)
	m := r.json(t)
	newRAT, _ := m["registration_access_token"].(string)
	e.remember(newRAT)
	if newRAT == "" || newRAT == a.RAT || m["client_id"] != a.ID {
		t.Fatalf("MG-04: PUT response %v: want the same client_id and a new RAT", m)
	}
	if !strings.Contains(r.Body, "https://app.test/new") {
		t.Error("MG-04: the PUT response lacks the new redirect URI")
	}
	wantStatus(t, "MG-04 old RAT after PUT", e.manage(http.MethodGet, a.ID, a.RAT, nil), http.StatusUnauthorized, "")
	wantStatus(t, "MG-04 new RAT after PUT", e.manage(http.MethodGet, a.ID, newRAT, nil), http.StatusOK, "")
	// An update leaves the client secret as it was.
	wantStatus(t, "the client secret after PUT", e.introspect(a, tok.Access), http.StatusOK, "")
}

// TestClientUpdateVoidsCodes_MG05: a code issued before an RFC 7592 update
// is invalid_grant afterwards.
func TestClientUpdateVoidsCodes_MG05(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	f := e.newBrowser().login(c, nil)
	wantStatus(t, "PUT", e.putClient(c, c.RAT, c.RedirectURIs[0], "https://app.test/other"), http.StatusOK, "")
	wantStatus(t, "MG-05 code issued before the PUT", e.redeem(c, f, nil), http.StatusBadRequest, "invalid_grant")
}

// TestClientDelete_MG06: DELETE ends the client and everything it holds.
func TestClientDelete_MG06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	c := e.newClient(basic)
	witness := e.newClient(basic)
	_, tok := e.fullFlow(c)
	pending := e.newBrowser().login(c, nil)

	r := e.manage(http.MethodDelete, c.ID, c.RAT, nil)
	wantStatus(t, "MG-06 DELETE", r, http.StatusNoContent, "")
	if r := e.refresh(c, tok.Refresh, nil); r.Status != http.StatusUnauthorized && !(r.Status == 400 && r.oauthError() == "invalid_grant") {
		t.Errorf("MG-06: refresh after DELETE: %d %s, want invalid_client or invalid_grant", r.Status, r.oauthError())
	}
	wantStatus(t, "MG-06 code issued before DELETE", e.redeem(c, pending, nil), http.StatusUnauthorized, "invalid_client")
	wantStatus(t, "MG-06 RAT after DELETE", e.manage(http.MethodGet, c.ID, c.RAT, nil), http.StatusUnauthorized, "")
	wantStatus(t, "MG-06 introspect with the deleted client's secret", e.introspect(c, tok.Access), http.StatusUnauthorized, "invalid_client")
	if e.active(witness, tok.Access) {
		t.Error("MG-06: the deleted client's access token introspects as active")
	}
	wantLocalPage(t, "MG-06 /authorize for the deleted client", e.get(e.newBrowser().c, newAuthReq(c).path()), http.StatusBadRequest)
}

// TestRegistrationTokenGuessingThrottled_MG07: after 20 wrong registration
// access tokens in a minute the client's management endpoint answers 429
// with Retry-After, even to the right token, until the window ends.
func TestRegistrationTokenGuessingThrottled_MG07(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	a := e.newClient(basic)
	b := e.newClient(basic)
	for i := 0; i < 20; i++ {
		wantStatus(t, "wrong RAT", e.manage(http.MethodGet, a.ID, "reg-guess", nil), http.StatusUnauthorized, "")
	}
	r := e.manage(http.MethodGet, a.ID, "reg-guess", nil)
	wantStatus(t, "MG-07 21st wrong RAT", r, http.StatusTooManyRequests, "slow_down")
	if r.Header.Get("Retry-After") == "" {
		t.Error("MG-07: 429 without Retry-After")
	}
	wantStatus(t, "MG-07 the right RAT while throttled", e.manage(http.MethodGet, a.ID, a.RAT, nil), http.StatusTooManyRequests, "")
	wantStatus(t, "another client is not throttled", e.manage(http.MethodGet, b.ID, b.RAT, nil), http.StatusOK, "")
}
