package storetest

import (
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

func testGrants(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()
	clientID := newSecret(t)

	t.Run("create_get", func(t *testing.T) {
		g := newGrant(t, clientID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		got, err := s.GetGrant(ctx, g.ID)
		must(t, err)
		sameJSON(t, got, g)
		got, err = s.GrantByRefresh(ctx, g.RefreshHash)
		must(t, err)
		sameJSON(t, got, g)
		revoked, err := s.GrantRevoked(ctx, g.ID)
		wantBool(t, "GrantRevoked(live)", revoked, err, false)
	})
	t.Run("unknown", func(t *testing.T) {
		id := newSecret(t)
		_, err := s.GetGrant(ctx, id)
		wantErr(t, err, oauthcore.ErrNotFound)
		_, err = s.GrantByRefresh(ctx, newHash(t))
		wantErr(t, err, oauthcore.ErrNotFound)
		wantErr(t, s.UpdateGrant(ctx, newGrant(t, clientID, inAnHour())), oauthcore.ErrNotFound)
		revoked, err := s.GrantRevoked(ctx, id)
		wantBool(t, "GrantRevoked(unknown)", revoked, err, true)
		must(t, s.RevokeGrant(ctx, id)) // unknown ids are not an error
	})
	t.Run("revoke", func(t *testing.T) {
		g := newGrant(t, clientID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		r := rotated(t, g)
		must(t, s.UpdateGrant(ctx, r))
		must(t, s.RevokeGrant(ctx, g.ID))
		expectGone(t, s, r, g.RefreshHash, r.RefreshHash)
		wantErr(t, s.UpdateGrant(ctx, rotated(t, r)), oauthcore.ErrNotFound)
		must(t, s.RevokeGrant(ctx, g.ID)) // twice is fine
	})
	t.Run("revoked_id_stays_revoked", func(t *testing.T) { testRevokedID(t, s, clientID) })
	t.Run("expiry", func(t *testing.T) {
		g := newGrant(t, clientID, soon())
		must(t, s.CreateGrant(ctx, g))
		waitPast(g.ExpiresAt)
		expectGone(t, s, g, g.RefreshHash)
		wantErr(t, s.UpdateGrant(ctx, rotated(t, g)), oauthcore.ErrNotFound)
	})
}

// testRevokedID: a revoked grant id is never created again, even when the
// revocation came first. The server derives a grant's id from its code, so
// a replay that overtakes the first redemption revokes the id before
// CreateGrant runs, and that CreateGrant must then fail.
func testRevokedID(t *testing.T, s oauthcore.Store, clientID string) {
	cases := []struct {
		name   string
		create bool // whether the grant existed when revoked
	}{{"after_create", true}, {"before_create", false}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			g := newGrant(t, clientID, inAnHour())
			if tc.create {
				must(t, s.CreateGrant(ctx, g))
			}
			must(t, s.RevokeGrant(ctx, g.ID))
			wantErr(t, s.CreateGrant(ctx, g), oauthcore.ErrConflict)
			expectGone(t, s, g, g.RefreshHash)
		})
	}
}

// expectGone checks that g reads as revoked by id and by every hash.
func expectGone(t *testing.T, s oauthcore.Store, g *oauthcore.Grant, hashes ...string) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetGrant(ctx, g.ID)
	wantErr(t, err, oauthcore.ErrNotFound)
	for _, h := range hashes {
		_, err := s.GrantByRefresh(ctx, h)
		wantErr(t, err, oauthcore.ErrNotFound)
	}
	revoked, err := s.GrantRevoked(ctx, g.ID)
	wantBool(t, "GrantRevoked", revoked, err, true)
}

// testGrantRotation: UpdateGrant is a compare-and-swap on Version, and every
// refresh generation keeps finding the grant so reuse can be detected
// (RFC 9700 §4.14.2).
func testGrantRotation(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()
	clientID := newSecret(t)

	t.Run("every_generation_finds_grant", func(t *testing.T) {
		g := newGrant(t, clientID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		hashes := []string{g.RefreshHash}
		for range 3 {
			g = rotated(t, g)
			must(t, s.UpdateGrant(ctx, g))
			hashes = append(hashes, g.RefreshHash)
			for _, h := range hashes {
				got, err := s.GrantByRefresh(ctx, h)
				must(t, err)
				sameJSON(t, got, g)
			}
		}
	})
	t.Run("update_without_rotation", func(t *testing.T) {
		g := newGrant(t, clientID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		u := *g
		u.Version, u.LastUsed = 2, u.LastUsed.Add(time.Second)
		must(t, s.UpdateGrant(ctx, &u))
		got, err := s.GrantByRefresh(ctx, g.RefreshHash)
		must(t, err)
		sameJSON(t, got, &u)
	})
	t.Run("stale_version", func(t *testing.T) { testStaleVersion(t, s, clientID) })
	t.Run("one_of_concurrent_updates_wins", func(t *testing.T) {
		g := newGrant(t, clientID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		next := make([]*oauthcore.Grant, racers)
		for i := range next {
			next[i] = rotated(t, g) // all from the same read
		}
		errs := race(racers, func(i int) error { return s.UpdateGrant(ctx, next[i]) })
		w := oneWinner(t, errs, oauthcore.ErrConflict)
		for i, n := range next {
			got, err := s.GrantByRefresh(ctx, n.RefreshHash)
			if i == w {
				must(t, err)
				sameJSON(t, got, n)
				continue
			}
			wantErr(t, err, oauthcore.ErrNotFound) // a loser's token must not work
		}
	})
}

// testStaleVersion: any Version other than stored+1 is refused, and the
// refused write leaves neither the record nor the refresh index changed.
func testStaleVersion(t *testing.T, s oauthcore.Store, clientID string) {
	ctx := t.Context()
	g := newGrant(t, clientID, inAnHour())
	must(t, s.CreateGrant(ctx, g))
	g2 := rotated(t, g)
	must(t, s.UpdateGrant(ctx, g2))
	for _, version := range []int{0, 1, 2, 4, 5} {
		bad := rotated(t, g2)
		bad.Version = version
		wantErr(t, s.UpdateGrant(ctx, bad), oauthcore.ErrConflict)
		_, err := s.GrantByRefresh(ctx, bad.RefreshHash)
		wantErr(t, err, oauthcore.ErrNotFound)
	}
	got, err := s.GetGrant(ctx, g.ID)
	must(t, err)
	sameJSON(t, got, g2)
}
