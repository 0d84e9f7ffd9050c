package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// crossInstance is how soon a revocation made by one instance must reach
// another: the gate's cache there drops the token on this signal.
const crossInstance = time.Second

func hour() time.Time { return time.Now().Add(time.Hour) }

// TestAnnouncementsAcrossInstances: two Stores (two Caddy instances, each
// with its own client) share one Redis; what one revokes, the other hears.
// TestCluster runs the same on a cluster.
func TestAnnouncementsAcrossInstances(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	testAcross(t, func() redis.UniversalClient { return newClient(t, srv.Addr) })
}

func testAcross(t *testing.T, client func() redis.UniversalClient) {
	ctx, prefix := t.Context(), nextPrefix()
	a := newStore(t, client(), Options{Prefix: prefix})
	b := newStore(t, client(), Options{Prefix: prefix})
	eventually(t, 5*time.Second, "both subscriptions up", func() bool { return a.NotifierLive() && b.NotifierLive() })
	rec := &recorder{}
	t.Cleanup(b.Subscribe(rec.add))

	g := &oauthcore.Grant{ID: "grant-1", ClientID: "client-0", ExpiresAt: hour(), RefreshHash: "rt-1", Version: 1}
	must(t, a.CreateGrant(ctx, g), a.RevokeGrant(ctx, g.ID))
	rec.wait(t, crossInstance, "grant", g.ID)

	must(t, a.RevokeToken(ctx, "jti-1", hour()))
	rec.wait(t, crossInstance, "token", "jti-1")

	c := &oauthcore.Client{ID: "client-1", ExpiresAt: hour(), Version: 1}
	must(t, a.CreateClient(ctx, c))
	for _, id := range []string{"grant-2", "grant-3"} {
		must(t, a.CreateGrant(ctx, &oauthcore.Grant{ID: id, ClientID: c.ID, ExpiresAt: hour(), RefreshHash: "rt-" + id, Version: 1}))
	}
	must(t, a.DeleteClient(ctx, c.ID))
	rec.wait(t, crossInstance, "grant", "grant-2")
	rec.wait(t, crossInstance, "grant", "grant-3")
}

// TestResubscribeAfterKill: when Redis drops the pub/sub connection
// (CLIENT KILL TYPE pubsub), NotifierLive turns false, and once the Store
// has subscribed again it turns true and every callback gets "all", since
// a revocation may have been published in the gap. Announcements then flow
// again.
func TestResubscribeAfterKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	prefix := nextPrefix()
	s := newStore(t, newClient(t, srv.Addr), Options{Prefix: prefix})
	other := newStore(t, newClient(t, srv.Addr), Options{Prefix: prefix})
	eventually(t, 5*time.Second, "subscribed", s.NotifierLive)
	rec := &recorder{}
	t.Cleanup(s.Subscribe(rec.add))

	if out := srv.MustCLI("CLIENT", "KILL", "TYPE", "pubsub"); out == "0" {
		t.Fatal("CLIENT KILL found no pub/sub connection")
	}
	eventually(t, time.Second, "NotifierLive false after the kill", func() bool { return !s.NotifierLive() })
	if rec.has("all", "") {
		t.Fatal(`"all" announced before the subscription was back`)
	}
	eventually(t, 5*time.Second, "NotifierLive true again", s.NotifierLive)
	rec.wait(t, time.Second, "all", "")

	must(t, other.RevokeToken(t.Context(), "after-kill", hour()))
	rec.wait(t, crossInstance, "token", "after-kill")
}

func TestSubscribeCancel(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, newClient(t, srv.Addr), Options{})
	rec := &recorder{}
	cancel := s.Subscribe(rec.add)
	must(t, s.RevokeToken(t.Context(), "a", hour()))
	cancel()
	must(t, s.RevokeToken(t.Context(), "b", hour()))
	time.Sleep(100 * time.Millisecond) // room for a stray echo
	if !rec.has("token", "a") || rec.has("token", "b") {
		t.Fatalf("events %v: want token:a only", rec.events)
	}
}

// TestClose: Close stops the listener (NotifierLive false) and is safe to
// repeat; the client stays usable, as the caller owns it.
func TestClose(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := newClient(t, srv.Addr)
	s, err := New(rdb, Options{})
	must(t, err)
	eventually(t, 5*time.Second, "subscribed", s.NotifierLive)
	must(t, s.Close(), s.Close())
	if s.NotifierLive() {
		t.Fatal("NotifierLive after Close")
	}
	must(t, rdb.Ping(t.Context()).Err())
}
