package e2e

import (
	"net/http"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// limitLines sets every limit low enough to reach in a test.
var limitLines = []string{"limits {", "\tauthorize_per_address 4", "\tcallback_per_address 4",
	"\ttoken_per_address 6", "\ttoken_per_client 5", "\tauth_failures_per_client 3", "}"}

// TestLimits_LM01_LM02: against the real Caddy, each limit of the
// limits block answers 429 with Retry-After once reached (a local page
// in the browser, slow_down as JSON at /token), and a spoofed
// X-Forwarded-For from an untrusted peer changes nothing: Caddy's
// client_ip is the peer. Past auth_failures_per_client even the right
// secret is refused.
func TestLimits_LM01_LM02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Extra: limitLines})
	c := e.newClient(basic)
	spoofed := func(req *http.Request, i int) *http.Request {
		req.Header.Set("X-Forwarded-For", "203.0.113."+string(rune('1'+i)))
		return req
	}
	authorize := func(i int) *response {
		return e.do(e.api, spoofed(mustRequest(http.MethodGet, e.url(newAuthReq(c).path())), i))
	}
	for i := range 4 {
		if r := authorize(i); r.Status == http.StatusTooManyRequests {
			t.Fatalf("authorize %d limited early", i+1)
		}
	}
	r := authorize(5)
	wantLocalPage(t, "the fifth /authorize, with a spoofed X-Forwarded-For", r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	for i := range 4 {
		if r := e.do(e.api, spoofed(mustRequest(http.MethodGet, e.url("/callback?state=x&code=y")), i)); r.Status == http.StatusTooManyRequests {
			t.Fatalf("callback %d limited early", i+1)
		}
	}
	wantLocalPage(t, "the fifth /callback", e.get(e.api, "/callback?state=x&code=y"), http.StatusTooManyRequests)

	// Wrong secrets: three, then the right one waits.
	wrong := *c
	wrong.Secret = "not-the-secret"
	for range 3 {
		wantStatus(t, "wrong secret", e.introspect(&wrong, "x"), http.StatusUnauthorized, "invalid_client")
	}
	wantStatus(t, "the right secret after three wrong ones", e.introspect(c, "x"), http.StatusTooManyRequests, "slow_down")

	// Tokens (another client: c waits out its failures): five for the
	// client, then the client's sixth and the address's seventh.
	tc := e.newClient(basic)
	for i := range 5 {
		if r := e.refresh(tc, "nope", nil); r.Status == http.StatusTooManyRequests {
			t.Fatalf("token %d limited early: %s", i+1, r)
		}
	}
	wantStatus(t, "the client's sixth token request", e.refresh(tc, "nope", nil), http.StatusTooManyRequests, "slow_down")
	other := e.newClient(public)
	wantStatus(t, "the address's seventh token request, for another client", e.refresh(other, "nope", nil),
		http.StatusTooManyRequests, "slow_down")
}

// TestLimitsSharedOnRedis_LM03: two instances on one Redis count in the
// same window: requests split between them reach the limit together.
func TestLimitsSharedOnRedis_LM03(t *testing.T) {
	t.Parallel()
	p := startPairWith(t, append([]string{redisStorage(redistest.Start(t))}, limitLines...)...)
	c := p.a.newClient(public)
	for i := range 4 {
		e := []*env{p.a, p.b}[i%2]
		if r := e.get(e.api, newAuthReq(c).path()); r.Status == http.StatusTooManyRequests {
			t.Fatalf("authorize %d limited early", i+1)
		}
	}
	for _, e := range []*env{p.a, p.b} {
		wantLocalPage(t, "past the shared limit at "+e.issuer, e.get(e.api, newAuthReq(c).path()), http.StatusTooManyRequests)
	}
}
