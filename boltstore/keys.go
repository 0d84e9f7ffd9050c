package boltstore

import (
	"context"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// The signing key set is one record that never expires.
const keySetKey = "current"

// LoadKeys returns the signing key set, ErrNotFound before the first save.
func (s *Store) LoadKeys(ctx context.Context) (*oauthcore.KeySet, error) {
	var ks oauthcore.KeySet
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bKeys), keySetKey, &ks)
		if err == nil && !ok {
			err = oauthcore.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ks, nil
}

// SaveKeys stores ks if nobody saved since it was read: two rotations racing
// must not each publish a different new key.
func (s *Store) SaveKeys(ctx context.Context, ks *oauthcore.KeySet) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var old oauthcore.KeySet
		if _, err := getJSON(tx.Bucket(bKeys), keySetKey, &old); err != nil {
			return err
		}
		if old.Version != ks.Version-1 {
			return oauthcore.ErrConflict
		}
		return putJSON(tx.Bucket(bKeys), keySetKey, ks)
	})
}
