package memstore

import (
	"context"
	"slices"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// ListClients returns a page of live clients in id order; the cursor is
// the last id of the page before.
func (s *Store) ListClients(ctx context.Context, cursor string, limit int) ([]*oauthcore.Client, string, error) {
	return listLive(s, ctx, s.clients, cursor, limit, s.liveClient)
}

// ListGrants returns a page of live grants in id order.
func (s *Store) ListGrants(ctx context.Context, cursor string, limit int) ([]*oauthcore.Grant, string, error) {
	return listLive(s, ctx, s.grants, cursor, limit, s.liveGrant)
}

// listLive pages through m's ids, keeping copies of what live finds.
func listLive[T any](s *Store, ctx context.Context, m map[string]*T, cursor string, limit int,
	live func(string) (*T, error)) ([]*T, string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, "", err
	}
	defer s.mu.Unlock()
	var out []*T
	next := pageIDs(keys(m), cursor, limit, func(id string) bool {
		v, err := live(id)
		if err == nil {
			out = append(out, clone(v))
		}
		return err == nil
	})
	return out, next, nil
}

func keys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// pageIDs takes ids after cursor until limit were taken; it returns the
// last id looked at, or "" when none are left.
func pageIDs(ids []string, cursor string, limit int, take func(string) bool) string {
	taken, limit := 0, max(limit, 1)
	for i, id := range ids {
		if cursor != "" && id <= cursor {
			continue
		}
		if taken == limit {
			return ids[i-1]
		}
		if take(id) {
			taken++
		}
	}
	return ""
}
