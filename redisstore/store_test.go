package redisstore

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestKeyLifetimes checks the TTLs the design promises beyond "has one":
// a registration's key outlives its own end while a grant needs it, a
// rotated-out refresh hash lives on with the grant, a revocation tombstone
// is never shortened, and a used code keeps its TTL as a tombstone.
func TestKeyLifetimes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	s := newStore(t, rdb, Options{})
	ctx := t.Context()
	pttl := func(key string) time.Duration {
		d, err := rdb.PTTL(ctx, key).Result()
		must(t, err)
		return d
	}
	now := time.Now()

	c := &oauthcore.Client{ID: "c", ExpiresAt: now.Add(time.Minute), Version: 1}
	g := &oauthcore.Grant{ID: "g", ClientID: c.ID, ExpiresAt: now.Add(2 * time.Minute), RefreshHash: "rt1", Version: 1}
	must(t, s.CreateClient(ctx, c), s.CreateGrant(ctx, g))
	if d := pttl(s.clientKey(c.ID)); d < 110*time.Second {
		t.Errorf("client key TTL %v, want the grant's 2m", d)
	}
	r := *g
	r.PrevRefreshHash, r.RefreshHash, r.Version, r.ExpiresAt = "rt1", "rt2", 2, now.Add(48*time.Hour)
	must(t, s.UpdateGrant(ctx, &r))
	for _, k := range []string{s.refreshKey("rt1"), s.refreshKey("rt2"), s.clientKey(c.ID), s.grantKey(g.ID)} {
		if d := pttl(k); d < 47*time.Hour {
			t.Errorf("%s TTL %v, want the rotated grant's 48h", k, d)
		}
	}
	must(t, s.RevokeGrant(ctx, g.ID), s.RevokeGrant(ctx, g.ID)) // the second would set 1h
	if d := pttl(s.revokedKey(g.ID)); d < 47*time.Hour {
		t.Errorf("tombstone TTL %v after a second revocation, want 48h kept", d)
	}

	must(t, s.PutCode(ctx, "code", &oauthcore.AuthCode{ExpiresAt: now.Add(time.Minute)}))
	_, err := s.ConsumeCode(ctx, "code")
	must(t, err)
	if d := pttl(s.codeKey("code")); d < 50*time.Second {
		t.Errorf("used code TTL %v, want the code's 1m", d)
	}
	if err := s.PutCode(ctx, "code", &oauthcore.AuthCode{ExpiresAt: now.Add(time.Minute)}); !errors.Is(err, oauthcore.ErrConflict) {
		t.Errorf("PutCode over a tombstone = %v, want ErrConflict", err)
	}
}

// TestStaleIndexesLeadNowhere: the cross-slot steps may leave an index
// entry behind (an outage between steps, a refresh that lost its
// compare-and-swap). Such entries must grant nothing.
func TestStaleIndexesLeadNowhere(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	clk := &clock{t: time.Now()}
	s := newStore(t, rdb, Options{Now: clk.Now})
	ctx := t.Context()
	g := &oauthcore.Grant{ID: "g", ClientID: "c", ExpiresAt: clk.Now().Add(time.Hour), RefreshHash: "rt1", Version: 1}
	must(t, s.CreateGrant(ctx, g))

	t.Run("pointer_outside_family", func(t *testing.T) {
		must(t, rdb.Set(ctx, s.refreshKey("forged"), g.ID, time.Hour).Err())
		if _, err := s.GrantByRefresh(ctx, "forged"); !errors.Is(err, oauthcore.ErrNotFound) {
			t.Fatalf("GrantByRefresh via a pointer the family lacks = %v, want ErrNotFound", err)
		}
	})
	t.Run("loser_pointer_released", func(t *testing.T) {
		stale := *g
		stale.RefreshHash, stale.Version = "loser", 5
		if err := s.UpdateGrant(ctx, &stale); !errors.Is(err, oauthcore.ErrConflict) {
			t.Fatalf("UpdateGrant with a stale version = %v, want ErrConflict", err)
		}
		if n := rdb.Exists(ctx, s.refreshKey("loser")).Val(); n != 0 {
			t.Fatal("the losing refresh's pointer was left behind")
		}
	})
	t.Run("client_index_names_gone_grant", func(t *testing.T) {
		c := &oauthcore.Client{ID: "expiring", ExpiresAt: clk.Now().Add(time.Second), Version: 1}
		must(t, s.CreateClient(ctx, c))
		// As a revocation whose unlink step was lost leaves it.
		must(t, rdb.ZAdd(ctx, s.clientGrantsKey(c.ID), redisZ(clk.Now().Add(time.Hour), "ghost")).Err(),
			rdb.Expire(ctx, s.clientKey(c.ID), time.Hour).Err())
		clk.Add(2 * time.Second)
		if _, err := s.GetClient(ctx, c.ID); !errors.Is(err, oauthcore.ErrNotFound) {
			t.Fatalf("expired client kept alive by a gone grant: %v", err)
		}
	})
}

// TestNoExpiryRefused: a record that should expire but has no end would
// become a key without TTL; it is refused, as are empty ids.
func TestNoExpiryRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, newClient(t, srv.Addr), Options{})
	ctx := t.Context()
	for name, err := range map[string]error{
		"PutFlow":     s.PutFlow(ctx, "h", &oauthcore.Flow{}),
		"PutCode":     s.PutCode(ctx, "h", &oauthcore.AuthCode{}),
		"CreateGrant": s.CreateGrant(ctx, &oauthcore.Grant{ID: "g", ClientID: "c", RefreshHash: "r", Version: 1}),
		"UpdateGrant": s.UpdateGrant(ctx, &oauthcore.Grant{ID: "g", ClientID: "c", RefreshHash: "r", Version: 2}),
		"RevokeToken": s.RevokeToken(ctx, "j", time.Time{}),
		"PutConsent":  s.PutConsent(ctx, "h", time.Time{}),
	} {
		if !errors.Is(err, errNoExpiry) {
			t.Errorf("%s without expiry = %v, want errNoExpiry", name, err)
		}
	}
	for name, err := range map[string]error{
		"CreateClient": s.CreateClient(ctx, &oauthcore.Client{}),
		"CreateGrant":  s.CreateGrant(ctx, &oauthcore.Grant{ID: "g", ExpiresAt: hour()}),
	} {
		if !errors.Is(err, errEmptyID) {
			t.Errorf("%s with an empty id = %v, want errEmptyID", name, err)
		}
	}
}

// TestRateCounter: instances on one Redis count in one window per key;
// the window ends after its length and a new one starts.
func TestRateCounter(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	prefix := nextPrefix()
	a, b := newStore(t, rdb, Options{Prefix: prefix}), newStore(t, rdb, Options{Prefix: prefix})
	ctx := t.Context()
	for i, s := range []*Store{a, b, a} {
		n, left, err := s.Hit(ctx, "addr:token:192.0.2.1", time.Minute)
		must(t, err)
		if n != int64(i+1) || left <= 0 || left > time.Minute {
			t.Fatalf("hit %d: n %d, left %v", i+1, n, left)
		}
	}
	if n, left, err := b.Count(ctx, "addr:token:192.0.2.1"); err != nil || n != 3 || left <= 0 {
		t.Fatalf("Count = %d, %v, %v", n, left, err)
	}
	if n, _, err := b.Count(ctx, "addr:token:192.0.2.2"); err != nil || n != 0 {
		t.Fatalf("Count of an unknown key = %d, %v", n, err)
	}
	n, _, err := a.Hit(ctx, "short", 50*time.Millisecond)
	must(t, err)
	if n != 1 {
		t.Fatalf("first hit %d", n)
	}
	eventually(t, 5*time.Second, "the 50 ms window ends", func() bool {
		n, _, err := a.Count(ctx, "short")
		return err == nil && n == 0
	})
	if n, _, err := a.Hit(ctx, "short", time.Minute); err != nil || n != 1 {
		t.Fatalf("a hit after the window: %d, %v", n, err)
	}
}

// TestTryLock: one holder at a time across stores on the same Redis; a
// release frees it, and a lock expires by itself.
func TestTryLock(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	prefix := nextPrefix()
	a, b := newStore(t, newClient(t, srv.Addr), Options{Prefix: prefix}), newStore(t, newClient(t, srv.Addr), Options{Prefix: prefix})
	ctx := t.Context()
	release, ok, err := a.TryLock(ctx, "github-refresh:g1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "github-refresh:g1", time.Minute); ok || err != nil {
		t.Fatalf("second holder got the lock: %v %v", ok, err)
	}
	release()
	release2, ok, err := b.TryLock(ctx, "github-refresh:g1", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
	defer release2()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := a.TryLock(ctx, "github-refresh:g1", time.Minute); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock did not expire")
		}
		runtime.Gosched()
	}
}
