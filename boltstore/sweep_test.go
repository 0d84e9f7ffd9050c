package boltstore

import (
	"maps"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// seedExpiring writes one record of every kind ending at end, and returns a
// client and grant that live on past it.
func seedExpiring(t *testing.T, s *Store, end, later time.Time) {
	ctx := t.Context()
	dead := &oauthcore.Client{ID: "dead-client", ExpiresAt: end}
	kept := &oauthcore.Client{ID: "kept-client", ExpiresAt: end} // kept alive by its grant
	g := &oauthcore.Grant{ID: "dead-grant", ClientID: dead.ID, ExpiresAt: end, RefreshHash: "rt-1", Version: 1}
	g2 := *g
	g2.RefreshHash, g2.PrevRefreshHash, g2.Version = "rt-2", "rt-1", 2
	revoked := &oauthcore.Grant{ID: "revoked-grant", ClientID: dead.ID, ExpiresAt: end, RefreshHash: "rt-3", Version: 1}
	live := &oauthcore.Grant{ID: "live-grant", ClientID: kept.ID, ExpiresAt: later, RefreshHash: "rt-4", Version: 1}
	mustDo(t,
		s.CreateClient(ctx, dead), s.CreateClient(ctx, kept),
		s.CreateGrant(ctx, g), s.UpdateGrant(ctx, &g2),
		s.CreateGrant(ctx, revoked), s.RevokeGrant(ctx, revoked.ID),
		s.CreateGrant(ctx, live),
		s.PutFlow(ctx, "flow", &oauthcore.Flow{ExpiresAt: end}),
		s.PutCode(ctx, "code", &oauthcore.AuthCode{ExpiresAt: end}),
		s.RevokeToken(ctx, "jti", end),
		s.PutConsent(ctx, "consent", end),
		s.SaveKeys(ctx, &oauthcore.KeySet{Version: 1}),
		s.PutDocument(ctx, "https://app.example.com/doc.json", &cimd.Entry{Expires: end}),
	)
}

// TestSweeper: the background sweeper deletes every expired record with its
// index entries, and nothing that is still live.
func TestSweeper(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := open(t, tempPath(t), Options{Now: clk.Now, SweepInterval: 10 * time.Millisecond})
	seedExpiring(t, s, clk.Now().Add(time.Hour), clk.Now().Add(3*time.Hour))
	clk.Add(2 * time.Hour)

	want := map[string]int{ // what survives: the live grant, its client, the keys
		"clients": 1, "client_grants": 1, "grants": 1, "refresh": 1, "grant_refresh": 1,
		"flows": 0, "codes": 0, "revoked_grants": 0, "revoked_tokens": 0, "consent": 0, "keys": 1,
		"documents": 0,
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := map[string]int{}
		for _, b := range allBuckets {
			got[string(b)] = keyCount(t, s, b)
		}
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sweeping, keys per bucket = %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.GetClient(t.Context(), "kept-client"); err != nil {
		t.Fatalf("client kept alive by its grant: %v", err)
	}
}
