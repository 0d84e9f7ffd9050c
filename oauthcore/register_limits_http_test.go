package oauthcore_test

// httptest tests of /register under load and failure: the per-address
// rate limit on the injected clock, and store outages.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRegisterRateLimit_DR01: one client address may register
// registration_limit clients a minute; then 429 slow_down with a
// Retry-After that counts down on the server's clock, whatever
// X-Forwarded-For says; other addresses are not affected, and the window
// reopens after a minute. A throttled request stores nothing.
func TestRegisterRateLimit_DR01(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.RegistrationLimit = 3 })
	const a, b = "198.51.100.7", "2001:db8::7"
	for i := 0; i < 3; i++ {
		if r := h.registerFrom(a, clientMeta(authPublic)); r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %s", i+1, r)
		}
	}
	before := h.clientCount()
	if secs := wantRetryAfter(t, "DR-01 fourth registration", h.registerFrom(a, clientMeta(authPublic))); secs != 60 {
		t.Errorf("Retry-After %d, want 60 at the start of the window", secs)
	}
	spoofed := fromAddr(request(http.MethodPost, "/register", clientMeta(authPublic)), a)
	spoofed.Header.Set("X-Forwarded-For", "203.0.113.9")
	spoofed.Header.Set("X-Real-Ip", "203.0.113.9")
	wantRetryAfter(t, "DR-01 with a spoofed X-Forwarded-For", h.serve(spoofed))
	if h.clientCount() != before {
		t.Error("a throttled registration stored a client")
	}
	if r := h.registerFrom(b, clientMeta(authPublic)); r.Status != http.StatusCreated {
		t.Errorf("another address: %s", r)
	}
	h.clock.Advance(45 * time.Second)
	if secs := wantRetryAfter(t, "DR-01 45 s later", h.registerFrom(a, clientMeta(authPublic))); secs != 15 {
		t.Errorf("Retry-After %d 45 s into the window, want 15", secs)
	}
	h.clock.Advance(15 * time.Second)
	if r := h.registerFrom(a, clientMeta(authPublic)); r.Status != http.StatusCreated {
		t.Errorf("DR-01 after the window: %s", r)
	}
}

// TestRegisterRateLimitDefaults_DR01: by default an address gets 120
// registrations a minute (hosted connectors share egress addresses); the
// peer address counts when the embedding server records none; a negative
// limit turns the limit off.
func TestRegisterRateLimitDefaults_DR01(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		limit   int
		allowed int
	}{
		{"default 120", 0, 120},
		{"off", -1, 150},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true; o.Config.RegistrationLimit = tt.limit })
			for i := 0; i < tt.allowed; i++ {
				req := request(http.MethodPost, "/register", clientMeta(authPublic))
				req.RemoteAddr = fmt.Sprintf("192.0.2.10:%d", 1000+i) // one host, many ports
				if r := h.serve(req); r.Status != http.StatusCreated {
					t.Fatalf("registration %d: %s", i+1, r)
				}
			}
			req := request(http.MethodPost, "/register", clientMeta(authPublic))
			req.RemoteAddr = "192.0.2.10:9"
			r := h.serve(req)
			if tt.limit < 0 {
				if r.Status != http.StatusCreated {
					t.Errorf("no limit: %s", r)
				}
				return
			}
			wantRetryAfter(t, "the 121st registration from one peer", r)
		})
	}
}

// TestRegisterStoreOutage_RD03_LG03: a store that cannot create the client
// answers 503 temporarily_unavailable with Retry-After, never the cause.
func TestRegisterStoreOutage_RD03_LG03(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	fs.fail("CreateClient")
	r := h.register(clientMeta(authBasic))
	wantOAuthError(t, "register during an outage", r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "10.9.8.7") || strings.Contains(r.Body, "client_") {
		t.Errorf("RD-03/LG-03: %v %s", r.Header, r.Body)
	}
	if !strings.Contains(h.logs(), "connection reset by peer") {
		t.Error("the outage's cause was not logged")
	}
	fs.heal()
	h.newClient(authBasic)
}
