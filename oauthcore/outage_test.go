package oauthcore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestStorageOutageIsNotInvalidGrant covers RT-09 (and the rule behind
// RD-03): clients throw credentials away on invalid_grant, so a storage
// failure anywhere on the refresh path must be 503 temporarily_unavailable
// with Retry-After, and must lose nothing: once the store is back, the
// same refresh token works. Each case presents a genuine refresh token and
// checks that the failing method was really called.
func TestStorageOutageIsNotInvalidGrant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method string
		// prepare returns the refresh token to present.
		prepare func(h *harness, c *testClient, tok tokenSet) string
	}{
		{"client lookup", "GetClient", nil},
		{"grant lookup", "GrantByRefresh", nil},
		{"rotation write", "UpdateGrant", nil},
		{"revoking a reused family", "RevokeGrant", func(h *harness, c *testClient, tok tokenSet) string {
			h.parseTokens(h.refresh(c, tok.Refresh, nil))
			h.clock.Advance(time.Minute) // past the grace window: reuse
			return tok.Refresh
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fs *faultStore
			h := newHarness(t, withFaults(&fs))
			c := h.newClient(authBasic)
			_, tok := h.fullFlow(c)
			rt := tok.Refresh
			if tc.prepare != nil {
				rt = tc.prepare(h, c, tok)
			}
			calls := fs.count(tc.method)
			fs.fail(tc.method)
			w := h.refresh(c, rt, nil)
			fs.heal()
			if fs.count(tc.method) == calls {
				t.Fatalf("the refresh never called %s: the outage did not reach its path (%s)", tc.method, w)
			}
			if w.Status != http.StatusServiceUnavailable || w.oauthError() != "temporarily_unavailable" ||
				w.Header.Get("Retry-After") == "" || w.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("outage answered %s (Retry-After %q)", w, w.Header.Get("Retry-After"))
			}
			if strings.Contains(w.Body, errStoreOutage.Error()) || strings.Contains(w.Body, "10.9.8.7") {
				t.Fatal("the storage error leaked to the client (LG-03)")
			}
			if !strings.Contains(h.logs(), errStoreOutage.Error()) {
				t.Error("the cause of the outage was not logged")
			}
			// Nothing was lost: the same token still works, or (after a
			// reuse) the reuse is still detected.
			if tc.prepare != nil {
				wantOAuthError(t, "the reuse once the store is back", h.refresh(c, rt, nil), http.StatusBadRequest, "invalid_grant")
				return
			}
			h.parseTokens(h.refresh(c, rt, nil))
		})
	}
}

// countingStore counts the revocation lookups the verifier makes.
type countingStore struct {
	oauthcore.Store
	lookups int
}

func (c *countingStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	c.lookups++
	return c.Store.TokenRevoked(ctx, jti)
}

func (c *countingStore) GrantRevoked(ctx context.Context, id string) (bool, error) {
	c.lookups++
	return c.Store.GrantRevoked(ctx, id)
}

// TestGarbageTouchesNoStore covers JW-10 and JW-02: the signature is
// verified before any storage lookup, so random bearers, forged tokens and
// unknown kids cost no I/O; a valid token costs one check, then none.
func TestGarbageTouchesNoStore(t *testing.T) {
	base := newServer(t, nil)
	cs := &countingStore{Store: base.Store()}
	s, err := oauthcore.NewServer(base.Config(), cs, oauthcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := s.NewGate(resource, nil, true)
	for i := 0; i < 10000; i++ {
		checkPath(s, g, "Bearer "+fmt.Sprintf("eyJhbGciOiJFUzI1NiJ9.%d.%x", i, i*7919), "/github")
	}
	forged, _ := mint(t, newServer(t, nil), nil) // another server's key: an unknown kid here
	checkPath(s, g, "Bearer "+forged, "/github")
	if cs.lookups != 0 {
		t.Fatalf("%d storage lookups for tokens that fail their signature", cs.lookups)
	}
	good, _ := mint(t, s, nil)
	checkPath(s, g, "Bearer "+good, "/github")
	after := cs.lookups
	for i := 0; i < 100; i++ {
		checkPath(s, g, "Bearer "+good, "/github")
	}
	if after == 0 || cs.lookups != after {
		t.Fatalf("a valid token: %d lookups at first use, %d more on 100 repeats; want some, then none", after, cs.lookups-after)
	}
}
