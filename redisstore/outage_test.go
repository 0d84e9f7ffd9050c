package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// failFast is the bound on a failing call: the 300ms deadline plus room
// for a loaded test machine, far below go-redis's socket timeouts (3s).
const failFast = time.Second

// wantOutage checks that a call failed as an outage (the server answers
// 503), not as "not found" (which it would answer with invalid_grant or
// 401, making clients drop their credentials), and did so quickly.
func wantOutage(t *testing.T, what string, start time.Time, err error) {
	t.Helper()
	took := time.Since(start)
	switch {
	case err == nil:
		t.Fatalf("%s succeeded during the outage", what)
	case errors.Is(err, oauthcore.ErrNotFound):
		t.Fatalf("%s: outage reported as ErrNotFound: %v", what, err)
	case took > failFast:
		t.Fatalf("%s took %v to fail, want under %v", what, took, failFast)
	}
	t.Logf("%s failed after %v: %v", what, took.Round(time.Millisecond), err)
}

// TestPausedRedis (RD-03): with every client paused, calls fail within the
// call timeout, and work again when the pause ends.
func TestPausedRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, newClient(t, srv.Addr), Options{})
	ctx := t.Context()
	c := &oauthcore.Client{ID: "paused", ExpiresAt: hour(), Version: 1}
	must(t, s.CreateClient(ctx, c))

	srv.MustCLI("CLIENT", "PAUSE", "2000", "ALL")
	start := time.Now()
	_, err := s.GetClient(ctx, c.ID)
	wantOutage(t, "GetClient", start, err)
	start = time.Now()
	_, err = s.ConsumeCode(ctx, "some-hash")
	wantOutage(t, "ConsumeCode", start, err)

	eventually(t, 5*time.Second, "calls work after the pause", func() bool {
		_, err := s.GetClient(ctx, c.ID)
		return err == nil
	})
}

// TestRedisDown: with the server gone, calls fail fast as outages and the
// notifier reports itself down; after a restart on the same address the
// same Store works again, finds the data the AOF kept, and its callbacks
// get "all" for the announcements that may have been missed.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, newClient(t, srv.Addr), Options{})
	ctx := t.Context()
	eventually(t, 5*time.Second, "subscribed", s.NotifierLive)
	rec := &recorder{}
	t.Cleanup(s.Subscribe(rec.add))
	c := &oauthcore.Client{ID: "survivor", ExpiresAt: hour(), Version: 1}
	must(t, s.CreateClient(ctx, c))

	srv.Stop()
	start := time.Now()
	_, err := s.GetClient(ctx, c.ID)
	wantOutage(t, "GetClient", start, err)
	start = time.Now()
	wantOutage(t, "RevokeGrant", start, s.RevokeGrant(ctx, "g"))
	start = time.Now()
	_, err = s.GrantRevoked(ctx, "g")
	wantOutage(t, "GrantRevoked", start, err)
	eventually(t, 3*time.Second, "NotifierLive false while Redis is down", func() bool { return !s.NotifierLive() })

	srv.Restart()
	eventually(t, 5*time.Second, "calls work after the restart", func() bool {
		_, err := s.GetClient(ctx, c.ID)
		return err == nil
	})
	must(t, s.CreateClient(ctx, &oauthcore.Client{ID: "after", Version: 1}))
	eventually(t, 5*time.Second, "NotifierLive true after the restart", s.NotifierLive)
	rec.wait(t, time.Second, "all", "")
}
