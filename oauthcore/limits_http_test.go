package oauthcore_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestAddressLimits_LM01: /authorize, /callback and /token count requests
// per client address (IPv4 address, IPv6 /64), answer 429 with
// Retry-After past the limit (a local page in the browser, slow_down at
// /token), leave other addresses alone, and open again after the minute.
func TestAddressLimits_LM01(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.FrozenClock = true
		o.Config.Limits = oauthcore.Limits{AuthorizePerAddress: 3, CallbackPerAddress: 2, TokenPerAddress: 4}
	})
	c := h.newClient(authPublic)
	authorize := func(ip string) *reply {
		return h.serve(fromAddr(request(http.MethodGet, "/authorize?"+newAuthRequest(c).Query.Encode(), nil), ip))
	}
	for i := range 3 {
		if r := authorize("203.0.113.7"); r.Status != http.StatusOK {
			t.Fatalf("authorize %d: %s", i+1, r)
		}
	}
	r := authorize("203.0.113.7")
	wantLocalPage(t, "the fourth /authorize", r, http.StatusTooManyRequests, string(oauthcore.CodeSlowDown))
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := authorize("203.0.113.8"); r.Status != http.StatusOK {
		t.Errorf("another address was limited too: %s", r)
	}
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"} {
		if r := authorize(ip); r.Status != http.StatusOK {
			t.Fatalf("IPv6 authorize %d: %s", i+1, r)
		}
	}
	wantLocalPage(t, "a fourth address of the same /64", authorize("2001:db8:1:2:abcd::1"), http.StatusTooManyRequests, string(oauthcore.CodeSlowDown))
	if r := authorize("2001:db8:1:3::1"); r.Status != http.StatusOK {
		t.Errorf("another /64 was limited: %s", r)
	}

	callback := func(ip string) *reply {
		return h.serve(fromAddr(request(http.MethodGet, "/callback?state=x&code=y", nil), ip))
	}
	for range 2 {
		if r := callback("198.51.100.1"); r.Status == http.StatusTooManyRequests {
			t.Fatalf("callback limited early: %s", r)
		}
	}
	wantLocalPage(t, "the third /callback", callback("198.51.100.1"), http.StatusTooManyRequests, string(oauthcore.CodeSlowDown))

	token := func(ip string) *reply {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {c.ID}}
		return h.serve(fromAddr(request(http.MethodPost, "/token", form), ip))
	}
	for range 4 {
		if r := token("192.0.2.1"); r.Status == http.StatusTooManyRequests {
			t.Fatalf("token limited early: %s", r)
		}
	}
	wantRetryAfter(t, "the fifth /token", token("192.0.2.1"))

	h.clock.Advance(time.Minute)
	if r := authorize("203.0.113.7"); r.Status != http.StatusOK {
		t.Errorf("a minute later, still limited: %s", r)
	}
	if r := token("192.0.2.1"); r.Status == http.StatusTooManyRequests {
		t.Errorf("a minute later, /token still limited: %s", r)
	}
}

// TestClientLimits_LM02: /token counts per client whoever sends it,
// and wrong secrets per client: past the limit even the right secret is
// refused (429) before it is checked, so guessing stops, until the
// minute is over.
func TestClientLimits_LM02(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) {
		o.FrozenClock = true
		o.Config.Limits = oauthcore.Limits{TokenPerClient: 3, AuthFailuresPerClient: 5}
	})
	c := h.newClient(authBasic)
	refresh := func(ip, secret string) *reply {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}
		req := fromAddr(request(http.MethodPost, "/token", form), ip)
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(secret))
		return h.serve(req)
	}
	for i := range 3 {
		if r := refresh("192.0.2."+strconv.Itoa(i+1), c.Secret); r.Status == http.StatusTooManyRequests {
			t.Fatalf("token %d limited early: %s", i+1, r)
		}
	}
	wantRetryAfter(t, "a fourth token request for the client, from a fourth address", refresh("192.0.2.9", c.Secret))

	other := h.newClient(authBasic)
	guess := func(secret string) *reply {
		form := url.Values{"token": {"x"}}
		req := request(http.MethodPost, "/introspect", form)
		req.SetBasicAuth(url.QueryEscape(other.ID), url.QueryEscape(secret))
		return h.serve(req)
	}
	for i := range 5 {
		wantOAuthError(t, "wrong secret "+strconv.Itoa(i+1), guess("wrong"), http.StatusUnauthorized, "invalid_client")
	}
	wantRetryAfter(t, "the right secret after five wrong ones", guess(other.Secret))
	h.clock.Advance(time.Minute)
	if r := guess(other.Secret); r.Status != http.StatusOK {
		t.Errorf("a minute later the right secret: %s", r)
	}
}
