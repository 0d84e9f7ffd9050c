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
