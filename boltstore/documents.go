package boltstore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// document is the stored form of a fetched client metadata document:
// the entry, with its end named as the sweeper expects.
type document struct {
	ExpiresAt time.Time   `json:"expires_at"`
	Entry     *cimd.Entry `json:"entry"`
}

// GetDocument returns the unexpired document fetched for clientID.
func (s *Store) GetDocument(ctx context.Context, clientID string) (*cimd.Entry, error) {
	var d document
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return s.getLive(tx.Bucket(bDocuments), oauthcore.HashSecret(clientID), &d, func() time.Time { return d.ExpiresAt })
	})
	if err != nil {
		return nil, err
	}
	return d.Entry, nil
}

// PutDocument keeps a fetched document until it expires. Keys are the
// hash of the client_id, which may be 1 KiB long.
func (s *Store) PutDocument(ctx context.Context, clientID string, e *cimd.Entry) error {
	if s.expired(e.Expires) {
		return nil
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bDocuments), oauthcore.HashSecret(clientID), document{ExpiresAt: e.Expires, Entry: e})
	})
}

var _ oauthcore.DocumentStore = (*Store)(nil)
