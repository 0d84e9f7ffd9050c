package memstore

import (
	"context"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// GetDocument returns the unexpired document fetched for clientID.
func (s *Store) GetDocument(ctx context.Context, clientID string) (*cimd.Entry, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.documents[clientID]
	if !ok || s.expired(e.Expires) {
		return nil, oauthcore.ErrNotFound
	}
	return clone(e), nil
}

// PutDocument keeps a fetched document until it expires.
func (s *Store) PutDocument(ctx context.Context, clientID string, e *cimd.Entry) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.documents[clientID] = clone(e)
	return nil
}

var _ oauthcore.DocumentStore = (*Store)(nil)
