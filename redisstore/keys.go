package redisstore

import (
	"context"
	"encoding/json"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// The signing key set is one key without TTL: it must outlive every token
// it signed, and its own records say when keys retire.

// LoadKeys returns the signing key set, ErrNotFound before the first save.
func (s *Store) LoadKeys(ctx context.Context) (*oauthcore.KeySet, error) {
	var ks oauthcore.KeySet
	if err := s.getJSON(ctx, s.keySetKey(), &ks); err != nil {
		return nil, err
	}
	return &ks, nil
}

// SaveKeys stores ks if nobody saved since it was read: two instances
// rotating at once must not each publish a different new key.
func (s *Store) SaveKeys(ctx context.Context, ks *oauthcore.KeySet) error {
	raw, err := json.Marshal(ks)
	if err != nil {
		return wrap(err)
	}
	var ok int64
	err = s.withCall(ctx, func(ctx context.Context) (err error) {
		ok, err = saveKeys.Run(ctx, s.rdb, []string{s.keySetKey()}, raw, ks.Version-1).Int64()
		return err
	})
	if err == nil && ok == 0 {
		return oauthcore.ErrConflict
	}
	return err
}
