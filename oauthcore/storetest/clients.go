package storetest

import (
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func testClients(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()

	t.Run("create_get", func(t *testing.T) {
		c := newClient(t, inAnHour())
		must(t, s.CreateClient(ctx, c))
		got, err := s.GetClient(ctx, c.ID)
		must(t, err)
		sameJSON(t, got, c)
	})
	t.Run("never_expires", func(t *testing.T) {
		c := newClient(t, time.Time{})
		must(t, s.CreateClient(ctx, c))
		got, err := s.GetClient(ctx, c.ID)
		must(t, err)
		sameJSON(t, got, c)
	})
	t.Run("unknown", func(t *testing.T) {
		id := newSecret(t)
		_, err := s.GetClient(ctx, id)
		wantErr(t, err, oauthcore.ErrNotFound)
		wantErr(t, s.UpdateClient(ctx, newClient(t, inAnHour())), oauthcore.ErrNotFound)
		wantErr(t, s.DeleteClient(ctx, id), oauthcore.ErrNotFound)
	})
	t.Run("update", func(t *testing.T) {
		c := newClient(t, inAnHour())
		must(t, s.CreateClient(ctx, c))
		u := *c
		u.Metadata.ClientName, u.Metadata.RedirectURIs = "renamed", []string{"http://127.0.0.1:9999/cb"}
		u.Version, u.ExpiresAt = 2, inAnHour().Add(time.Hour)
		must(t, s.UpdateClient(ctx, &u))
		got, err := s.GetClient(ctx, c.ID)
		must(t, err)
		sameJSON(t, got, &u)
	})
	t.Run("delete", func(t *testing.T) {
		c := newClient(t, inAnHour())
		must(t, s.CreateClient(ctx, c))
		must(t, s.DeleteClient(ctx, c.ID))
		_, err := s.GetClient(ctx, c.ID)
		wantErr(t, err, oauthcore.ErrNotFound)
		wantErr(t, s.UpdateClient(ctx, c), oauthcore.ErrNotFound)
		wantErr(t, s.DeleteClient(ctx, c.ID), oauthcore.ErrNotFound)
	})
	t.Run("delete_revokes_grants", func(t *testing.T) { testDeleteRevokes(t, s) })
}

// testDeleteRevokes: deleting a registration ends every grant of it, every
// refresh generation included, and no grant of another client.
func testDeleteRevokes(t *testing.T, s oauthcore.Store) {
	ctx := t.Context()
	doomed, other := newClient(t, inAnHour()), newClient(t, inAnHour())
	must(t, s.CreateClient(ctx, doomed))
	must(t, s.CreateClient(ctx, other))
	var hashes []string
	var grants []*oauthcore.Grant
	for range 3 {
		g := newGrant(t, doomed.ID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		r := rotated(t, g)
		must(t, s.UpdateGrant(ctx, r))
		grants, hashes = append(grants, r), append(hashes, g.RefreshHash, r.RefreshHash)
	}
	kept := newGrant(t, other.ID, inAnHour())
	must(t, s.CreateGrant(ctx, kept))

	must(t, s.DeleteClient(ctx, doomed.ID))
	for _, g := range grants {
		_, err := getGrant(t, s, ctx, g.ID)
		wantErr(t, err, oauthcore.ErrNotFound)
		revoked, err := s.GrantRevoked(ctx, g.ID)
		wantBool(t, "GrantRevoked", revoked, err, true)
	}
	for _, h := range hashes {
		_, err := s.GrantByRefresh(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
	}
	got, err := s.GrantByRefresh(ctx, kept.RefreshHash)
	must(t, err)
	sameJSON(t, got, kept)
	revoked, err := s.GrantRevoked(ctx, kept.ID)
	wantBool(t, "GrantRevoked(other client's grant)", revoked, err, false)
}

// testClientExpiry: a registration past its ExpiresAt is gone, unless a live
// grant still needs it (a refresh token outlives the idle registration TTL).
func testClientExpiry(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()
	end := soon()
	mk := func(grantEnds ...time.Time) (*oauthcore.Client, []*oauthcore.Grant) {
		c := newClient(t, end)
		must(t, s.CreateClient(ctx, c))
		var gs []*oauthcore.Grant
		for _, ge := range grantEnds {
			g := newGrant(t, c.ID, ge)
			must(t, s.CreateGrant(ctx, g))
			gs = append(gs, g)
		}
		return c, gs
	}
	alone, _ := mk()
	backed, backedGrants := mk(inAnHour())
	lapsed, _ := mk(end)
	revoked, revokedGrants := mk(inAnHour())
	mixed, mixedGrants := mk(end, inAnHour())
	must(t, s.RevokeGrant(ctx, revokedGrants[0].ID))
	waitPast(end)

	cases := []struct {
		name  string
		c     *oauthcore.Client
		alive bool
	}{
		{"no_grant", alone, false},
		{"live_grant", backed, true},
		{"expired_grant", lapsed, false},
		{"revoked_grant", revoked, false},
		{"one_of_two_grants_live", mixed, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetClient(ctx, tc.c.ID)
			if !tc.alive {
				wantErr(t, err, oauthcore.ErrNotFound)
				wantErr(t, s.UpdateClient(ctx, tc.c), oauthcore.ErrNotFound)
				return
			}
			must(t, err)
			sameJSON(t, got, tc.c)
		})
	}
	t.Run("dies_with_last_grant", func(t *testing.T) {
		must(t, s.RevokeGrant(ctx, backedGrants[0].ID))
		_, err := s.GetClient(ctx, backed.ID)
		wantErr(t, err, oauthcore.ErrNotFound)
		must(t, s.RevokeGrant(ctx, mixedGrants[1].ID))
		_, err = s.GetClient(ctx, mixed.ID)
		wantErr(t, err, oauthcore.ErrNotFound)
	})
}
