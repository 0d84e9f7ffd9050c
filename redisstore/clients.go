package redisstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// liveCandidates bounds how many of an expired client's filed grants are
// checked for one that still lives. The latest-ending come first, and a
// filed id whose grant is gone only exists after an outage mid-operation.
const liveCandidates = 16

// CreateClient stores a new client. Ids are random, so an id already
// present means a bug or an attack, and is refused with ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c *oauthcore.Client) error {
	if c.ID == "" {
		return errEmptyID
	}
	return s.putClient(ctx, c, "NX", oauthcore.ErrConflict)
}

// GetClient returns a live client: stored, and either unexpired or still
// backing a live grant.
func (s *Store) GetClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	return s.loadClient(ctx, id)
}

// UpdateClient replaces a live client. The liveness check and the write
// are two steps; the write is SET XX, so a client deleted in between is
// not brought back.
func (s *Store) UpdateClient(ctx context.Context, c *oauthcore.Client) error {
	if _, err := s.loadClient(ctx, c.ID); err != nil {
		return err
	}
	return s.putClient(ctx, c, "XX", oauthcore.ErrNotFound)
}

// putClient writes c with SET mode (NX or XX), answering failed when the
// mode refuses.
func (s *Store) putClient(ctx context.Context, c *oauthcore.Client, mode string, failed error) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return wrap(err)
	}
	end := int64(0)
	if !c.ExpiresAt.IsZero() {
		end = max(c.ExpiresAt.UnixMilli(), 1)
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	ok, err := putClient.Run(ctx, s.rdb, []string{s.clientKey(c.ID), s.clientGrantsKey(c.ID)},
		raw, mode, end, s.nowMS()).Int()
	if err != nil {
		return wrap(err)
	}
	if ok == 0 {
		return failed
	}
	return nil
}

// loadClient reads a client that is live. A registration must not die
// under a refresh token that is still valid, or the client would lose
// access mid-session; the key's TTL is kept that long (linkGrant), and
// here the client's own end is checked against its grants.
func (s *Store) loadClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	var c oauthcore.Client
	if err := s.getJSON(ctx, s.clientKey(id), &c); err != nil {
		return nil, err
	}
	if !s.expired(c.ExpiresAt) {
		return &c, nil
	}
	live, err := s.hasLiveGrant(ctx, id)
	if err != nil {
		return nil, err
	}
	if !live {
		return nil, oauthcore.ErrNotFound
	}
	return &c, nil
}

// hasLiveGrant looks at the client's index and then at the grants it
// names: the index may name a grant that a revocation removed but whose
// index entry an outage kept (see RevokeGrant), and that must not count.
// Two reads of two tags: a grant created between them is missed, which
// only makes a registration that already expired read as expired.
func (s *Store) hasLiveGrant(ctx context.Context, clientID string) (bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.clientGrantsKey(clientID),
		Start: "+inf", Stop: "(" + itoa(s.nowMS()), ByScore: true, Rev: true, Count: liveCandidates}).Result()
	if err != nil || len(ids) == 0 {
		return false, wrap(err)
	}
	pipe := s.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(ids))
	for i, gid := range ids {
		exists[i] = pipe.Exists(ctx, s.grantKey(gid))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, wrap(err)
	}
	for _, e := range exists {
		if e.Val() == 1 {
			return true, nil
		}
	}
	return false, nil
}

// DeleteClient revokes every grant of the client, then removes it. The
// grants live under their own tags, so this cannot be one script; the
// order makes it safe to fail midway: until the last step the client and
// its index stay, so a retry finishes the job, and a grant filed while
// the others were being revoked is caught by the last step and revoked
// too. Unknown ids are ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	keys := []string{s.clientKey(id), s.clientGrantsKey(id)}
	ids, err := s.runStrings(ctx, clientGrantsIfExists, keys, s.nowMS())
	if err != nil {
		return err
	}
	for range 8 {
		for _, gid := range ids {
			if err := s.RevokeGrant(ctx, gid); err != nil {
				return err
			}
		}
		ids, err = s.runStrings(ctx, finishDelete, keys, append([]any{s.nowMS()}, anys(ids)...)...)
		if err != nil || len(ids) == 0 {
			return err
		}
	}
	return errors.New("redisstore: delete client: grants keep being created")
}

// runStrings runs a script that answers a list of strings (nil: ErrNotFound).
func (s *Store) runStrings(ctx context.Context, sc *redis.Script, keys []string, args ...any) ([]string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	out, err := sc.Run(ctx, s.rdb, keys, args...).StringSlice()
	return out, wrap(err)
}
