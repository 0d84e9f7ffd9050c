package boltstore

import (
	"context"
	"errors"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// RevokeToken denies an access token id until the token would have expired
// anyway; after that its signature check rejects it without our help.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if err := s.putUntil(ctx, bRevokedTokens, jti, expiresAt); err != nil {
		return err
	}
	s.Announce("token", jti)
	return nil
}

// TokenRevoked reports whether jti is on the deny list.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.hasLive(ctx, bRevokedTokens, jti)
}

// RevokeGrant revokes a grant; unknown ids are not an error, and are
// announced anyway so a cache holding them drops them. An unknown id still
// gets a tombstone: the server derives grant ids from codes, and a code
// replay that overtakes the first redemption revokes the grant before it is
// created; the tombstone makes that CreateGrant fail.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		found, err := s.revokeGrantTx(tx, id)
		if err != nil || found {
			return err
		}
		return s.tombstone(tx, id, s.now().Add(unknownRevocationTTL))
	})
	if err != nil {
		return err
	}
	s.Announce("grant", id)
	return nil
}

// unknownRevocationTTL is how long a revoked id that had no grant stays
// blocked: far longer than a code lives (at most ten minutes), which bounds
// the race above.
const unknownRevocationTTL = time.Hour

// GrantRevoked is true unless the grant is live.
func (s *Store) GrantRevoked(ctx context.Context, id string) (bool, error) {
	revoked := true
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var g oauthcore.Grant
		err := s.loadGrant(tx, id, &g)
		if errors.Is(err, oauthcore.ErrNotFound) {
			return nil
		}
		revoked = err != nil
		return err
	})
	return revoked, err
}

// revokeGrantTx drops a stored grant, with its index entries, and leaves a
// tombstone until the grant would have expired. It reports whether there
// was a grant to drop.
func (s *Store) revokeGrantTx(tx *bolt.Tx, id string) (bool, error) {
	var g oauthcore.Grant
	ok, err := getJSON(tx.Bucket(bGrants), id, &g)
	if err != nil || !ok {
		return false, err
	}
	if err := dropGrant(tx, &g); err != nil {
		return true, err
	}
	return true, s.tombstone(tx, id, g.ExpiresAt)
}

// tombstone records a revoked grant id until end, never shortening one that
// is already there.
func (s *Store) tombstone(tx *bolt.Tx, id string, end time.Time) error {
	b := tx.Bucket(bRevokedGrants)
	var old expiry
	ok, err := getJSON(b, id, &old)
	if err != nil || s.expired(end) {
		return err
	}
	if ok && !s.expired(old.ExpiresAt) && outlives(old.ExpiresAt, end) {
		return nil
	}
	return putJSON(b, id, expiry{ExpiresAt: end})
}

// outlives reports whether a ends no earlier than b; zero means never.
func outlives(a, b time.Time) bool { return a.IsZero() || (!b.IsZero() && !a.Before(b)) }

// revokedID reports whether id has a live revocation tombstone.
func (s *Store) revokedID(tx *bolt.Tx, id string) (bool, error) {
	var e expiry
	ok, err := getJSON(tx.Bucket(bRevokedGrants), id, &e)
	return ok && !s.expired(e.ExpiresAt), err
}
