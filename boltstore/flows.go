package boltstore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// PutFlow stores a pending browser flow under the hash of its handle.
func (s *Store) PutFlow(ctx context.Context, hash string, f *oauthcore.Flow) error {
	return s.update(ctx, func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bFlows), hash, f) })
}

// GetFlow reads a flow without consuming it.
func (s *Store) GetFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	var f oauthcore.Flow
	err := s.view(ctx, func(tx *bolt.Tx) error { return s.loadFlow(tx, hash, &f) })
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// TakeFlow reads and deletes in one write transaction, so of two callbacks
// racing with the same state only one continues the flow.
func (s *Store) TakeFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	var f oauthcore.Flow
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := s.loadFlow(tx, hash, &f); err != nil {
			return err
		}
		return tx.Bucket(bFlows).Delete([]byte(hash))
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func (s *Store) loadFlow(tx *bolt.Tx, hash string, f *oauthcore.Flow) error {
	return s.getLive(tx.Bucket(bFlows), hash, f, func() time.Time { return f.ExpiresAt })
}
