package oauthcore_test

// LG-01 for the endpoints a client calls besides the flow: registration,
// management, revocation, introspection and ForwardAuth log what happened,
// never a credential.

import (
	"net/http"
	"strings"
	"testing"
)

// TestEndpointLogsHoldNoSecrets_LG01: after registrations, reads, updates,
// wrong and right registration access tokens, introspection, revocations
// and /verify calls, at debug level, no secret, RAT, access or refresh
// token appears in the log; the events themselves do.
func TestEndpointLogsHoldNoSecrets_LG01(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newClient(authBasic)
	pub := h.newClient(authPublic)
	secrets := []string{c.Secret, c.RAT, pub.RAT}
	_, tok := h.fullFlow(c)
	secrets = append(secrets, tok.Access, tok.Refresh)
	h.manage(http.MethodGet, c, nil)
	h.updateClient(c, "https://app.test/cb", "https://app.test/other")
	secrets = append(secrets, c.RAT)
	h.manageAs(http.MethodGet, c.ID, "Bearer "+tok.Access, "", nil)
	h.manageAs(http.MethodPut, pub.ID, "Bearer "+c.RAT, "", putBody(pub, nil))
	h.introspect(c, tok.Access)
	h.introspect(pub, tok.Access)
	h.forward(http.MethodGet, "", tok.Access, fwd{"https", "mcp.example.com", "/github/mcp"})
	h.forward(http.MethodGet, "access_token="+tok.Refresh, "", fwd{})
	h.revoke(pub, tok.Refresh)
	h.revoke(c, tok.Access)
	h.revoke(c, tok.Refresh)
	wrong := *c
	wrong.Secret = c.Secret + "x"
	secrets = append(secrets, wrong.Secret)
	h.revoke(&wrong, tok.Access)
	h.deleteClient(pub)

	logs := h.logs()
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(logs, s[:len(s)*2/3]) {
			t.Errorf("LG-01: the log holds a credential (%.8s...)", s)
		}
	}
	for _, event := range []string{"client registered", "client updated", "client deleted", "access token revoked", "grant revoked", "request denied"} {
		if !strings.Contains(logs, event) {
			t.Errorf("no %q event in the log", event)
		}
	}
}
