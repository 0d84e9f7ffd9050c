package oauthcore_test

// httptest tests of the RFC 7592 endpoint's guessing throttle (MG-07):
// per (client address, client) and per address, on the injected clock.

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestManageThrottle_MG07: wrong RATs are counted per (client address,
// client) and per address on the server's clock. Past 20 for a client the
// address gets 429 slow_down with a Retry-After that counts down, even with
// the right RAT; the owner from another address is not locked out (nor is
// another client from the attacker's address), and the window reopens
// after a minute. Past 100 over all clients the address is blocked for
// every client. Successes never count.
func TestManageThrottle_MG07(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true })
	x := h.newClient(authBasic)
	y := h.newClient(authPublic)
	const attacker, owner = "192.0.2.66", "198.51.100.7"
	get := func(c *testClient, rat, ip string) *reply {
		return h.manageAs(http.MethodGet, c.ID, "Bearer "+rat, ip, nil)
	}
	for i := 0; i < 50; i++ {
		if r := get(x, x.RAT, attacker); r.Status != http.StatusOK {
			t.Fatalf("success %d: %s", i+1, r)
		}
	}
	for i := 0; i < 20; i++ {
		rat := "reg-guess"
		if i%2 == 1 {
			rat = "" // no credential counts too
		}
		var r *reply
		if rat == "" {
			r = h.manageAs(http.MethodDelete, x.ID, "", attacker, nil)
		} else {
			r = get(x, rat, attacker)
		}
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong RAT %d: %s, want 401", i+1, r)
		}
	}
	if secs := wantRetryAfter(t, "MG-07 the 21st wrong RAT", get(x, "reg-guess", attacker)); secs != 60 {
		t.Errorf("Retry-After %d, want 60", secs)
	}
	wantRetryAfter(t, "MG-07 the right RAT from the throttled address", get(x, x.RAT, attacker))
	wantRetryAfter(t, "MG-07 a PUT from the throttled address", h.manageAs(http.MethodPut, x.ID, "Bearer "+x.RAT, attacker, putBody(x, nil)))
	if r := get(x, x.RAT, owner); r.Status != http.StatusOK {
		t.Errorf("MG-07 the owner from another address: %s", r)
	}
	if r := get(y, y.RAT, attacker); r.Status != http.StatusOK {
		t.Errorf("MG-07 another client from the attacker's address: %s", r)
	}
	h.clock.Advance(40 * time.Second)
	if secs := wantRetryAfter(t, "MG-07 40 s later", get(x, x.RAT, attacker)); secs != 20 {
		t.Errorf("Retry-After %d 40 s into the window, want 20", secs)
	}
	h.clock.Advance(20 * time.Second)
	if r := get(x, x.RAT, attacker); r.Status != http.StatusOK {
		t.Errorf("MG-07 after the window: %s", r)
	}

	// Per address over all clients: 100 failures across ids.
	const scanner, bystander = "203.0.113.5", "203.0.113.6"
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("client_guess%020d", i)
		if r := h.manageAs(http.MethodGet, id, "Bearer reg-guess", scanner, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("scan %d: %s", i+1, r)
		}
	}
	wantRetryAfter(t, "MG-07 the scanner on a client it never tried", get(y, y.RAT, scanner))
	if r := get(y, y.RAT, bystander); r.Status != http.StatusOK {
		t.Errorf("MG-07 a neighbouring address: %s", r)
	}
	h.clock.Advance(time.Minute)
	if r := get(y, y.RAT, scanner); r.Status != http.StatusOK {
		t.Errorf("MG-07 the scanner after the window: %s", r)
	}
}
