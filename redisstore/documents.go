package redisstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// GetDocument returns the unexpired document fetched for clientID, as
// any instance on this Redis fetched it.
func (s *Store) GetDocument(ctx context.Context, clientID string) (*cimd.Entry, error) {
	var e cimd.Entry
	if err := s.getJSON(ctx, s.documentKey(oauthcore.HashSecret(clientID)), &e); err != nil {
		return nil, err
	}
	if s.expired(e.Expires) {
		return nil, oauthcore.ErrNotFound
	}
	return &e, nil
}

// PutDocument keeps a fetched document until it expires, under the hash
// of its client_id (which may be 1 KiB long).
func (s *Store) PutDocument(ctx context.Context, clientID string, e *cimd.Entry) error {
	if e.Expires.IsZero() {
		return errNoExpiry
	}
	if s.expired(e.Expires) {
		return nil
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return wrap(err)
	}
	return s.withCall(ctx, func(ctx context.Context) error {
		key := s.documentKey(oauthcore.HashSecret(clientID))
		return s.rdb.Set(ctx, key, raw, time.Duration(s.ttl(e.Expires))*time.Millisecond).Err()
	})
}

var _ oauthcore.DocumentStore = (*Store)(nil)
