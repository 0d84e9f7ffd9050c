package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// A grant is written in up to three atomic steps, because its keys live
// under three kinds of hash tag: the refresh pointers (one per hash), the
// client's index, and the grant itself. The rule that makes the split safe:
// indexes are written before the record they lead to, and every index is
// checked against the record when read. So a failure between steps leaves
// at most an index entry pointing at nothing (ignored on read, gone with
// its TTL), never a record an index cannot find:
//
//   - a refresh pointer (rt:<hash> -> grant id) is only a hint: the grant's
//     family set, under the grant's tag, says which hashes belong to it,
//     and GrantByRefresh checks it. A pointer claimed by a refresh that
//     then loses the compare-and-swap leads nowhere.
//   - the client's index (and the client key's TTL) is extended before the
//     grant, so a live grant always keeps its registration alive and is
//     always found when the client is deleted.

var (
	errClientChanged = errors.New("redisstore: grant client id cannot change")
	errEmptyID       = errors.New("redisstore: empty id")
)

// CreateGrant stores a new grant. An id in use, or revoked (even before it
// existed), is refused with ErrConflict: reviving a revoked id would
// revive every token that carries it.
func (s *Store) CreateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if g.ID == "" || g.ClientID == "" {
		return errEmptyID
	}
	if g.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	raw, err := json.Marshal(g)
	if err != nil {
		return wrap(err)
	}
	claimed, err := s.claimRefresh(ctx, g, g.RefreshHash)
	if err != nil {
		return err
	}
	if err := s.linkGrant(ctx, g); err != nil {
		s.releaseRefresh(ctx, g.ID, claimed)
		return err
	}
	res, err := s.runString(ctx, createGrant, s.grantKeys(g.ID), raw, g.ExpiresAt.UnixMilli(),
		s.nowMS(), s.ttl(g.ExpiresAt), g.RefreshHash)
	if err != nil || res == "ok" {
		// On an error the script may have run (a reply lost to the
		// deadline), so the indexes stay: if it did not run they lead
		// nowhere.
		return err
	}
	s.releaseRefresh(ctx, g.ID, claimed)
	if res == "revoked" {
		// The id can never be created now, so its index entry may go; for
		// "exists" it must stay: it is the live grant's.
		s.unlinkGrant(ctx, g.ClientID, g.ID)
	}
	return oauthcore.ErrConflict
}

// GetGrant returns a live grant.
func (s *Store) GetGrant(ctx context.Context, id string) (*oauthcore.Grant, error) {
	var g oauthcore.Grant
	if err := s.getJSON(ctx, s.grantKey(id), &g); err != nil {
		return nil, err
	}
	return s.liveGrant(&g)
}

// GrantByRefresh finds the live grant that any generation of refresh token
// belongs to; the caller compares hash with g.RefreshHash to detect reuse.
// Two reads: the pointer (its own slot), then the grant checked against
// its family set in one script (the grant's slot).
func (s *Store) GrantByRefresh(ctx context.Context, hash string) (*oauthcore.Grant, error) {
	var id string
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		id, err = s.rdb.Get(ctx, s.refreshKey(hash)).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	var raw string
	err = s.withCall(ctx, func(ctx context.Context) (err error) {
		raw, err = grantByRefresh.Run(ctx, s.rdb, s.grantKeys(id)[:2], hash, s.nowMS()).Text()
		return err
	})
	if err != nil {
		return nil, err
	}
	var g oauthcore.Grant
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return nil, wrap(err)
	}
	return s.liveGrant(&g)
}

// UpdateGrant is the compare-and-swap behind refresh rotation: of any
// number of refreshes that read the same version, exactly one writes.
func (s *Store) UpdateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if g.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	raw, err := json.Marshal(g)
	if err != nil {
		return wrap(err)
	}
	hashes := refreshHashes(g)
	var claimed []string
	for _, h := range hashes {
		c, err := s.claimRefresh(ctx, g, h)
		claimed = append(claimed, c...)
		if err != nil {
			s.releaseRefresh(ctx, g.ID, claimed)
			return err
		}
	}
	if err := s.linkGrant(ctx, g); err != nil {
		s.releaseRefresh(ctx, g.ID, claimed)
		return err
	}
	args := append([]any{raw, g.Version - 1, g.ClientID, g.ExpiresAt.UnixMilli(), s.nowMS(), s.ttl(g.ExpiresAt)},
		anys(hashes)...)
	res, err := s.runString(ctx, updateGrant, s.grantKeys(g.ID)[:2], args...)
	if err != nil || res == "ok" {
		// As in CreateGrant: after an error the new pointer may already
		// lead to the rotated grant, whose successor token a retry with
		// the previous token will hand out, so it must stay.
		return err
	}
	s.releaseRefresh(ctx, g.ID, claimed)
	switch res {
	case "missing":
		return oauthcore.ErrNotFound
	case "client":
		// The grant belongs to another client; the entry just filed under
		// this one must not make it count there (liveness, deletion).
		s.unlinkGrant(ctx, g.ClientID, g.ID)
		return errClientChanged
	}
	return oauthcore.ErrConflict
}

// refreshHashes lists the hashes UpdateGrant indexes: the current one and
// the one it replaced, whose life is extended to the grant's new end so
// the grace window and reuse detection keep finding it.
func refreshHashes(g *oauthcore.Grant) []string {
	hs := []string{g.RefreshHash}
	if g.PrevRefreshHash != "" && g.PrevRefreshHash != g.RefreshHash {
		hs = append(hs, g.PrevRefreshHash)
	}
	return slices.DeleteFunc(hs, func(h string) bool { return h == "" })
}

// claimRefresh points hash at g until g ends. It returns the hash if this
// call created the pointer (so a failure later may release it), and
// ErrConflict if the hash already belongs to another grant: two families
// must never merge.
func (s *Store) claimRefresh(ctx context.Context, g *oauthcore.Grant, hash string) ([]string, error) {
	if hash == "" {
		return nil, nil
	}
	var res int64
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		res, err = claimRefresh.Run(ctx, s.rdb, []string{s.refreshKey(hash)}, g.ID, s.ttl(g.ExpiresAt)).Int64()
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case res == 0:
		return nil, oauthcore.ErrConflict
	case res == 1:
		return []string{hash}, nil
	}
	return nil, nil
}

// releaseRefresh deletes pointers this call created for a write that then
// failed. Best effort: a pointer left behind leads to no family member and
// expires with its TTL.
func (s *Store) releaseRefresh(ctx context.Context, grantID string, hashes []string) {
	for _, h := range hashes {
		_ = s.withCall(ctx, func(ctx context.Context) error {
			return releaseRefresh.Run(ctx, s.rdb, []string{s.refreshKey(h)}, grantID).Err()
		})
	}
}

// linkGrant files the grant under its client until the grant ends and
// keeps the client key at least that long.
func (s *Store) linkGrant(ctx context.Context, g *oauthcore.Grant) error {
	return s.withCall(ctx, func(ctx context.Context) error {
		return linkGrant.Run(ctx, s.rdb, []string{s.clientKey(g.ClientID), s.clientGrantsKey(g.ClientID)},
			g.ID, g.ExpiresAt.UnixMilli(), s.nowMS(), s.ttl(g.ExpiresAt)).Err()
	})
}

// unlinkGrant removes a revoked grant from its client's index. Best
// effort: an entry left behind names a grant that no longer exists, which
// hasLiveGrant checks, and it expires when the grant would have.
func (s *Store) unlinkGrant(ctx context.Context, clientID, grantID string) {
	_ = s.withCall(ctx, func(ctx context.Context) error {
		return s.rdb.ZRem(ctx, s.clientGrantsKey(clientID), grantID).Err()
	})
}

// grantKeys are the keys under a grant's tag: record, family, tombstone.
func (s *Store) grantKeys(id string) []string {
	return []string{s.grantKey(id), s.familyKey(id), s.revokedKey(id)}
}

// liveGrant returns g unless it has ended on the store's clock.
func (s *Store) liveGrant(g *oauthcore.Grant) (*oauthcore.Grant, error) {
	if s.expired(g.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	return g, nil
}

// withCall runs fn under the per-call deadline and wraps its error.
func (s *Store) withCall(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	return wrap(fn(ctx))
}

// runString runs a script that answers a status word.
func (s *Store) runString(ctx context.Context, sc *redis.Script, keys []string, args ...any) (string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	res, err := sc.Run(ctx, s.rdb, keys, args...).Text()
	return res, wrap(err)
}
