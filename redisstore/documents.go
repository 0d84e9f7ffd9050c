package redisstore

import (
	"context"
	"crypto/rand"
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

// ClaimDocumentFetch elects one instance to fetch clientID's document:
// SET NX of a claim key holding a random token, for ttl. release deletes
// the claim while it is still this caller's, and is best effort: a claim
// it fails to delete lapses after ttl.
func (s *Store) ClaimDocumentFetch(ctx context.Context, clientID string, ttl time.Duration) (func(), bool, error) {
	key := s.docFetchKey(oauthcore.HashSecret(clientID))
	token := rand.Text()
	var won bool
	err := s.withCall(ctx, func(ctx context.Context) error {
		var err error
		won, err = s.rdb.SetNX(ctx, key, token, ttl).Result()
		return err
	})
	if err != nil || !won {
		return nil, false, err
	}
	release := func() {
		ctx, cancel := s.call(context.WithoutCancel(ctx))
		defer cancel()
		_ = releaseFetch.Run(ctx, s.rdb, []string{key}, token).Err()
	}
	return release, true, nil
}

var (
	_ oauthcore.DocumentStore        = (*Store)(nil)
	_ oauthcore.DocumentFetchClaimer = (*Store)(nil)
)
