package boltstore

import (
	"context"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// CreateClient stores a new client. Ids are random, so an id already present
// means a bug or an attack, and is refused with ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c *oauthcore.Client) error {
	if err := checkIDs(c.ID); err != nil {
		return wrap(err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bClients)
		if b.Get([]byte(c.ID)) != nil {
			return oauthcore.ErrConflict
		}
		return putJSON(b, c.ID, c)
	})
}

// GetClient returns a live client; see loadClient for what live means.
func (s *Store) GetClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	var c oauthcore.Client
	err := s.view(ctx, func(tx *bolt.Tx) error { return s.loadClient(tx, id, &c) })
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateClient replaces a live client.
func (s *Store) UpdateClient(ctx context.Context, c *oauthcore.Client) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var old oauthcore.Client
		if err := s.loadClient(tx, c.ID, &old); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bClients), c.ID, c)
	})
}

// DeleteClient removes the client and revokes its grants in one transaction,
// so no refresh can slip in between. Unknown ids are ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	var revoked []string
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bClients)
		if b.Get([]byte(id)) == nil {
			return oauthcore.ErrNotFound
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		var err error
		revoked, err = s.revokeClientGrants(tx, id)
		return err
	})
	if err != nil {
		return err
	}
	s.Announce("grant", revoked...)
	return nil
}

// revokeClientGrants revokes every grant indexed under the client and
// returns their ids. Index entries of grants already gone are dropped too.
func (s *Store) revokeClientGrants(tx *bolt.Tx, clientID string) ([]string, error) {
	ids := members(tx.Bucket(bClientGrants), clientID)
	for _, gid := range ids {
		if _, err := s.revokeGrantTx(tx, gid); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bClientGrants).Delete(pair(clientID, gid)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// loadClient reads a client that is live: stored, and either unexpired or
// still backing a live grant. A registration must not die under a refresh
// token that is still valid, or the client would lose access mid-session.
func (s *Store) loadClient(tx *bolt.Tx, id string, c *oauthcore.Client) error {
	ok, err := getJSON(tx.Bucket(bClients), id, c)
	if err != nil {
		return err
	}
	if !ok {
		return oauthcore.ErrNotFound
	}
	if s.expired(c.ExpiresAt) && !s.hasLiveGrant(tx, id) {
		return oauthcore.ErrNotFound
	}
	return nil
}

// hasLiveGrant walks only this client's grants, through the index.
func (s *Store) hasLiveGrant(tx *bolt.Tx, clientID string) bool {
	for _, gid := range members(tx.Bucket(bClientGrants), clientID) {
		var g oauthcore.Grant
		if s.loadGrant(tx, gid, &g) == nil {
			return true
		}
	}
	return false
}
