package boltstore

import (
	"context"
	"errors"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// Only live grants are kept in bGrants: revoking deletes the record and
// leaves a tombstone in bRevokedGrants until the grant would have expired.

var errClientChanged = errors.New("grant client id cannot change")

// CreateGrant stores a new grant, indexes its refresh hash and files it
// under its client. An id in use, or revoked (even before it existed), is
// refused: reviving a revoked id would revive every token that carries it.
func (s *Store) CreateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if err := checkIDs(g.ID, g.ClientID); err != nil {
		return wrap(err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		revoked, err := s.revokedID(tx, g.ID)
		if err != nil {
			return err
		}
		if revoked || tx.Bucket(bGrants).Get([]byte(g.ID)) != nil {
			return oauthcore.ErrConflict
		}
		if err := tx.Bucket(bClientGrants).Put(pair(g.ClientID, g.ID), []byte{}); err != nil {
			return err
		}
		return s.putGrant(tx, g)
	})
}

// GetGrant returns a live grant.
func (s *Store) GetGrant(ctx context.Context, id string) (*oauthcore.Grant, error) {
	var g oauthcore.Grant
	err := s.view(ctx, func(tx *bolt.Tx) error { return s.loadGrant(tx, id, &g) })
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// GrantByRefresh finds the live grant that any generation of refresh token
// belongs to; the caller compares hash with g.RefreshHash to detect reuse.
func (s *Store) GrantByRefresh(ctx context.Context, hash string) (*oauthcore.Grant, error) {
	var g oauthcore.Grant
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bRefresh).Get([]byte(hash))
		if id == nil {
			return oauthcore.ErrNotFound
		}
		return s.loadGrant(tx, string(id), &g)
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// UpdateGrant is the compare-and-swap behind refresh rotation: of any number
// of refreshes that read the same version, exactly one writes.
func (s *Store) UpdateGrant(ctx context.Context, g *oauthcore.Grant) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var old oauthcore.Grant
		if err := s.loadGrant(tx, g.ID, &old); err != nil {
			return err
		}
		if old.Version != g.Version-1 {
			return oauthcore.ErrConflict
		}
		if old.ClientID != g.ClientID {
			return errClientChanged // the client index would go stale
		}
		return s.putGrant(tx, g)
	})
}

func (s *Store) loadGrant(tx *bolt.Tx, id string, g *oauthcore.Grant) error {
	return s.getLive(tx.Bucket(bGrants), id, g, func() time.Time { return g.ExpiresAt })
}

// putGrant writes g and indexes its refresh hashes. A hash that already
// points at another grant would merge two families, so it is refused.
func (s *Store) putGrant(tx *bolt.Tx, g *oauthcore.Grant) error {
	for _, h := range []string{g.RefreshHash, g.PrevRefreshHash} {
		if err := indexRefresh(tx, g.ID, h); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bGrants), g.ID, g)
}

func indexRefresh(tx *bolt.Tx, grantID, hash string) error {
	if hash == "" {
		return nil
	}
	refresh := tx.Bucket(bRefresh)
	if cur := refresh.Get([]byte(hash)); cur != nil {
		if string(cur) != grantID {
			return oauthcore.ErrConflict
		}
		return nil
	}
	if err := refresh.Put([]byte(hash), []byte(grantID)); err != nil {
		return err
	}
	return tx.Bucket(bGrantRefresh).Put(pair(grantID, hash), []byte{})
}

// dropGrant deletes a grant with its refresh index and client index entries.
func dropGrant(tx *bolt.Tx, g *oauthcore.Grant) error {
	byGrant := tx.Bucket(bGrantRefresh)
	for _, h := range members(byGrant, g.ID) {
		if err := tx.Bucket(bRefresh).Delete([]byte(h)); err != nil {
			return err
		}
		if err := byGrant.Delete(pair(g.ID, h)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bClientGrants).Delete(pair(g.ClientID, g.ID)); err != nil {
		return err
	}
	return tx.Bucket(bGrants).Delete([]byte(g.ID))
}
