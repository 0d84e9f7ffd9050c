package redisstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// PutFlow stores a pending browser flow under the hash of its handle.
func (s *Store) PutFlow(ctx context.Context, hash string, f *oauthcore.Flow) error {
	if f.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return wrap(err)
	}
	return s.withCall(ctx, func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.flowKey(hash), raw, time.Duration(s.ttl(f.ExpiresAt))*time.Millisecond).Err()
	})
}

// GetFlow reads a flow without consuming it.
func (s *Store) GetFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	var f oauthcore.Flow
	if err := s.getJSON(ctx, s.flowKey(hash), &f); err != nil {
		return nil, err
	}
	return s.liveFlow(&f)
}

// TakeFlow is GETDEL: of two callbacks racing with the same state, Redis
// hands the flow to one only.
func (s *Store) TakeFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	var raw []byte
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		raw, err = s.rdb.GetDel(ctx, s.flowKey(hash)).Bytes()
		return err
	})
	if err != nil {
		return nil, err
	}
	var f oauthcore.Flow
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, wrap(err)
	}
	return s.liveFlow(&f)
}

func (s *Store) liveFlow(f *oauthcore.Flow) (*oauthcore.Flow, error) {
	if s.expired(f.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	return f, nil
}
