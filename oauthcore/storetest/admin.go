package storetest

import (
	"slices"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// testAdmin: the admin listings page through every live client and grant
// exactly once, small pages included, and leave out what has expired or
// been revoked or deleted.
func testAdmin(t *testing.T, newStore func(t *testing.T) oauthcore.Store) {
	s := newStore(t)
	ctx := t.Context()
	var live, liveGrants []string
	gone := newClient(t, soon())
	must(t, s.CreateClient(ctx, gone))
	deleted := newClient(t, inAnHour())
	must(t, s.CreateClient(ctx, deleted))
	for range 7 {
		c := newClient(t, inAnHour())
		must(t, s.CreateClient(ctx, c))
		live = append(live, c.ID)
		g := newGrant(t, c.ID, inAnHour())
		must(t, s.CreateGrant(ctx, g))
		liveGrants = append(liveGrants, g.ID)
	}
	revoked := newGrant(t, live[0], inAnHour())
	must(t, s.CreateGrant(ctx, revoked))
	must(t, s.RevokeGrant(ctx, revoked.ID))
	must(t, s.DeleteClient(ctx, deleted.ID))
	waitPast(gone.ExpiresAt)

	for _, limit := range []int{1, 3, 100} {
		var clients, grants []string
		pages := 0
		for cursor := ""; ; pages++ {
			page, next, err := s.ListClients(ctx, cursor, limit)
			must(t, err)
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d clients", limit, len(page))
			}
			for _, c := range page {
				clients = append(clients, c.ID)
			}
			if cursor = next; cursor == "" || pages > 100 {
				break
			}
		}
		for cursor := ""; ; {
			page, next, err := s.ListGrants(ctx, cursor, limit)
			must(t, err)
			for _, g := range page {
				grants = append(grants, g.ID)
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		sameSet(t, "clients", clients, live)
		sameSet(t, "grants", grants, liveGrants)
	}
	g, err := s.GetGrant(ctx, liveGrants[0])
	must(t, err)
	if g.ID != liveGrants[0] {
		t.Errorf("GetGrant returned %s", g.ID)
	}
	_, err = s.GetGrant(ctx, revoked.ID)
	wantErr(t, err, oauthcore.ErrNotFound)
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("listed %s %v, want each of %v exactly once", what, got, want)
	}
}
