package memstore

import (
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore/storetest"
)

// Interface guards: the conformance suite needs Dumper to prove no plain
// secret is kept.
var (
	_ oauthcore.Store              = (*Store)(nil)
	_ oauthcore.RevocationNotifier = (*Store)(nil)
	_ storetest.Dumper             = (*Store)(nil)
)

// TestConformance runs the suite every store passes, on the real clock.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) oauthcore.Store { return New(nil) })
}

// fakeClock is a settable clock for the expiry tests below.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestInjectedClock: expiry follows the injected clock, never the real
// one, for every record kind, so tests expire records without sleeping.
func TestInjectedClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := New(clk.Now)
	end := clk.Now().Add(time.Minute)

	c := &oauthcore.Client{ID: "c1", ExpiresAt: end}
	backed := &oauthcore.Client{ID: "c2", ExpiresAt: end}
	g := &oauthcore.Grant{ID: "g1", ClientID: backed.ID, ExpiresAt: end.Add(time.Hour), RefreshHash: "rt1", Version: 1}
	mustDo(t, s.CreateClient(ctx, c), s.CreateClient(ctx, backed), s.CreateGrant(ctx, g),
		s.PutFlow(ctx, "f1", &oauthcore.Flow{ExpiresAt: end}),
		s.PutCode(ctx, "code1", &oauthcore.AuthCode{ExpiresAt: end}),
		s.PutConsent(ctx, "consent1", end), s.RevokeToken(ctx, "jti1", end))

	clk.Advance(time.Minute - time.Nanosecond)
	if _, err := s.GetClient(ctx, c.ID); err != nil {
		t.Fatalf("client before its end: %v", err)
	}
	if _, err := s.PeekCode(ctx, "code1"); err != nil {
		t.Fatalf("code before its end: %v", err)
	}

	clk.Advance(time.Nanosecond)
	if _, err := s.GetClient(ctx, c.ID); err != oauthcore.ErrNotFound {
		t.Errorf("expired client: %v, want ErrNotFound", err)
	}
	if _, err := s.GetClient(ctx, backed.ID); err != nil {
		t.Errorf("expired client with a live grant: %v, want it alive", err)
	}
	if _, err := s.GetFlow(ctx, "f1"); err != oauthcore.ErrNotFound {
		t.Errorf("expired flow: %v", err)
	}
	if _, err := s.ConsumeCode(ctx, "code1"); err != oauthcore.ErrNotFound {
		t.Errorf("expired code: %v", err)
	}
	if ok, _ := s.HasConsent(ctx, "consent1"); ok {
		t.Error("expired consent still counts")
	}
	if ok, _ := s.TokenRevoked(ctx, "jti1"); ok {
		t.Error("expired token revocation still counts")
	}

	clk.Advance(time.Hour)
	if _, err := s.GrantByRefresh(ctx, "rt1"); err != oauthcore.ErrNotFound {
		t.Errorf("expired grant: %v", err)
	}
	if _, err := s.GetClient(ctx, backed.ID); err != oauthcore.ErrNotFound {
		t.Errorf("expired client whose grant expired: %v", err)
	}
}

// TestRecordsAreCopies: a caller mutating what it stored or read changes
// nothing in the store, as with a real store.
func TestRecordsAreCopies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := New(nil)
	g := &oauthcore.Grant{ID: "g", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour), RefreshHash: "rt", Version: 1}
	mustDo(t, s.CreateGrant(ctx, g))
	g.Version = 7
	got, err := s.GetGrant(ctx, "g")
	mustDo(t, err)
	got.Scope = "changed"
	again, err := s.GetGrant(ctx, "g")
	mustDo(t, err)
	if again.Version != 1 || again.Scope != "" {
		t.Fatalf("stored grant changed through a caller's pointer: %+v", again)
	}
}

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
