package oauthcore_test

// Tests of the Verifier's cache through the exported API: verified tokens
// are served from memory until a revocation announcement names them (or
// their grant, or everything), the cache is bounded, expiry still holds,
// and nothing is cached while announcements may be lost or a check raced
// one.

import (
	"errors"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// revokeSilently revokes the token (kind "token") or its grant ("grant")
// in the store without telling the server.
func (h *harness) revokeSilently(kind string, c *oauthcore.Claims) {
	h.t.Helper()
	var err error
	if kind == "grant" {
		err = h.Store.RevokeGrant(h.t.Context(), c.GrantID)
	} else {
		err = h.Store.RevokeToken(h.t.Context(), c.ID, c.ExpiresAt.Time)
	}
	if err != nil {
		h.t.Fatal(err)
	}
}

// mintCached mints a token for the issuer and has the server's verifier
// accept (and so cache) it.
func (h *harness) mintCached() (string, *oauthcore.Claims) {
	h.t.Helper()
	at, c := h.mint("client_x", asIssuer, nil)
	if !h.valid(at) {
		h.t.Fatal("a fresh token was refused")
	}
	return at, c
}

// TestVerifierCacheDropsAnnounced_JW06: a cached token outlives a
// revocation nobody announced (proving the cache serves it), survives
// announcements naming other tokens and grants, and is refused as soon as
// an announcement names it, its grant, or everything.
func TestVerifierCacheDropsAnnounced_JW06(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		revoke   string // what is revoked in the store
		announce func(c *oauthcore.Claims) (kind, id string)
	}{
		{"token", func(c *oauthcore.Claims) (string, string) { return "token", c.ID }},
		{"grant", func(c *oauthcore.Claims) (string, string) { return "grant", c.GrantID }},
		{"token", func(*oauthcore.Claims) (string, string) { return "all", "" }},
		{"grant", func(*oauthcore.Claims) (string, string) { return "all", "" }},
	} {
		kind, _ := tt.announce(&oauthcore.Claims{})
		t.Run(tt.revoke+" revoked, "+kind+" announced", func(t *testing.T) {
			t.Parallel() // a harness each: "all" would clear a shared cache
			h, qs := newQuietHarness(t)
			at, c := h.mintCached()
			bystander, _ := h.mintCached()
			h.revokeSilently(tt.revoke, c)
			if !h.valid(at) {
				t.Fatal("the token was not served from the cache")
			}
			qs.announce("token", "jti-unrelated")
			qs.announce("grant", "grant-unrelated")
			if !h.valid(at) {
				t.Error("an announcement of another token dropped this one")
			}
			qs.announce(tt.announce(c))
			if h.valid(at) {
				t.Errorf("JW-06: the announced revocation left the token cached")
			}
			if !h.valid(bystander) {
				t.Error("a token nobody revoked is refused after the announcement")
			}
		})
	}
}

// TestVerifierUncachedWhileNotifierDown_JW06: while the store says its
// announcements may be lost, every token is checked in the store, and
// nothing verified meanwhile is cached for later.
func TestVerifierUncachedWhileNotifierDown_JW06(t *testing.T) {
	t.Parallel()
	h, qs := newQuietHarness(t)
	cached, cc := h.mintCached()
	qs.dead.Store(true)
	during, dc := h.mintCached()
	h.revokeSilently("token", cc)
	if h.valid(cached) {
		t.Error("JW-06: a cached token was served while announcements may be lost")
	}
	qs.dead.Store(false)
	h.revokeSilently("grant", dc)
	if h.valid(during) {
		t.Error("a token verified while announcements were down was cached")
	}
}

// TestVerifierRaceNotCached_JW06: a verification that an announcement
// overtook is not cached: the token may have been revoked mid-check.
func TestVerifierRaceNotCached_JW06(t *testing.T) {
	t.Parallel()
	h, qs := newQuietHarness(t)
	raced := func() { qs.announce("token", "jti-unrelated") }
	qs.midCheck.Store(&raced)
	at, c := h.mintCached()
	qs.midCheck.Store(nil)
	h.revokeSilently("token", c)
	if h.valid(at) {
		t.Error("a verification raced by an announcement was cached")
	}
}

// TestVerifierCacheBounded: a verifier keeps at most its bound of tokens;
// the others are checked in the store again.
func TestVerifierCacheBounded(t *testing.T) {
	t.Parallel()
	h, _ := newQuietHarness(t) // no announcements: revocations stay silent
	v := h.Server.NewVerifier(16)
	t.Cleanup(v.Close)
	type minted struct {
		raw string
		c   *oauthcore.Claims
	}
	var all []minted
	for i := 0; i < 200; i++ {
		raw, c := h.mint("client_x", asIssuer, nil)
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		all = append(all, minted{raw, c})
	}
	for _, m := range all {
		h.revokeSilently("token", m.c)
	}
	served := 0
	for _, m := range all {
		if _, err := v.Verify(t.Context(), m.raw); err == nil {
			served++
		} else if !errors.Is(err, oauthcore.ErrInvalidToken) {
			t.Fatalf("Verify: %v", err)
		}
	}
	if served == 0 || served > 16 {
		t.Errorf("%d of 200 silently revoked tokens served from a cache bounded at 16", served)
	}
	if h.valid(all[0].raw) {
		t.Error("the server's verifier served a token only another verifier had cached")
	}
}

// TestVerifierCacheExpiry_JW04: a cached token still expires: it is served
// within the leeway after exp and refused after it.
func TestVerifierCacheExpiry_JW04(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *harnessOptions) { o.FrozenClock = true })
	at, _ := h.mintCached()
	leeway := h.Server.Config().Leeway
	h.clock.Advance(time.Hour + leeway - time.Second)
	if !h.valid(at) {
		t.Error("refused within the leeway")
	}
	h.clock.Advance(2 * time.Second)
	if _, err := h.verify(at); !errors.Is(err, oauthcore.ErrInvalidToken) {
		t.Errorf("JW-04: a cached token past exp and leeway: %v, want ErrInvalidToken", err)
	}
}

// TestVerifierOutage_RD03: a store outage is an *Error with
// temporarily_unavailable, never ErrInvalidToken, and is not cached
// either way; garbage is ErrInvalidToken without the store.
func TestVerifierOutage_RD03(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	at, _ := h.mint("client_x", asIssuer, nil)
	fs.fail("TokenRevoked")
	_, err := h.verify(at)
	var oe *oauthcore.Error
	if !errors.As(err, &oe) || oe.Code != oauthcore.CodeTemporarilyUnavailable || errors.Is(err, oauthcore.ErrInvalidToken) {
		t.Errorf("Verify during an outage: %v, want temporarily_unavailable", err)
	}
	calls := fs.count("TokenRevoked")
	if _, err := h.verify("garbage"); !errors.Is(err, oauthcore.ErrInvalidToken) || fs.count("TokenRevoked") != calls {
		t.Errorf("garbage during an outage: %v (store called: %v)", err, fs.count("TokenRevoked") != calls)
	}
	fs.heal()
	if !h.valid(at) {
		t.Error("the outage's answer was cached")
	}
}

// TestVerifierClose: a verifier's subscription ends with Close (a config
// reload builds a new verifier against the same store).
func TestVerifierClose(t *testing.T) {
	t.Parallel()
	h, qs := newQuietHarness(t)
	before := qs.subscribers()
	v := h.Server.NewVerifier(64)
	if qs.subscribers() != before+1 {
		t.Fatalf("NewVerifier: %d subscriptions, want %d", qs.subscribers(), before+1)
	}
	v.Close()
	if qs.subscribers() != before {
		t.Errorf("after Close: %d subscriptions, want %d", qs.subscribers(), before)
	}
}
