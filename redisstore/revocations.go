package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// unknownRevocationTTL is how long a revoked id that had no grant stays
// blocked: far longer than a code lives (at most ten minutes). The server
// derives grant ids from codes, and a code replay that overtakes the first
// redemption revokes the grant before it is created; the tombstone makes
// that CreateGrant fail. Same as boltstore.
const unknownRevocationTTL = time.Hour

// RevokeGrant deletes the grant with its family set and leaves a tombstone
// until the grant would have ended, in one script that also publishes the
// announcement, so no instance can see the revocation without being told.
// Unknown ids are not an error; they get a tombstone and an announcement
// too. The refresh pointers and the client's index entry are removed
// afterwards, best effort: both are checked against the grant on every
// read, so leftovers lead nowhere and expire with their TTLs.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	var out []string
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		out, err = revokeGrant.Run(ctx, s.rdb, s.grantKeys(id), unknownRevocationTTL.Milliseconds(),
			s.channel(), message("grant", id)).StringSlice()
		return err
	})
	if err != nil {
		return err
	}
	s.Announce("grant", id) // this process's caches at once; the echo follows
	if len(out) == 0 || out[0] == "" {
		return nil
	}
	var g oauthcore.Grant
	if json.Unmarshal([]byte(out[0]), &g) == nil {
		s.unlinkGrant(ctx, g.ClientID, id)
	}
	s.releaseRefresh(ctx, id, out[1:])
	return nil
}

// GrantRevoked is true unless the grant is live.
func (s *Store) GrantRevoked(ctx context.Context, id string) (bool, error) {
	_, err := s.GetGrant(ctx, id)
	if errors.Is(err, oauthcore.ErrNotFound) {
		return true, nil
	}
	return err != nil, err
}

// RevokeToken denies an access token id until the token would have expired
// anyway; after that its signature check rejects it without our help. The
// entry and the announcement are one script.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		return errNoExpiry
	}
	err := s.withCall(ctx, func(ctx context.Context) error {
		return revokeToken.Run(ctx, s.rdb, []string{s.jtiKey(jti)}, s.ttl(expiresAt),
			s.channel(), message("token", jti)).Err()
	})
	if err != nil {
		return err
	}
	s.Announce("token", jti)
	return nil
}

// TokenRevoked reports whether jti is on the deny list.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.exists(ctx, s.jtiKey(jti))
}
