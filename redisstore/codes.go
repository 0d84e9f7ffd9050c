package redisstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// A code is a Redis hash: the record as JSON (never rewritten), a used
// flag and the grant it produced. Consuming sets the flag inside a script,
// so the key, and with it the TTL, stays as the tombstone (checklist
// RD-01): a plain GETDEL would forget that the code was ever redeemed.

// PutCode stores a new authorization code. A hash already present (live
// code or tombstone) is refused: overwriting a tombstone would reopen
// replay.
func (s *Store) PutCode(ctx context.Context, hash string, c *oauthcore.AuthCode) error {
	if c.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return wrap(err)
	}
	var ok int64
	err = s.withCall(ctx, func(ctx context.Context) (err error) {
		ok, err = putCode.Run(ctx, s.rdb, []string{s.codeKey(hash)}, raw, s.ttl(c.ExpiresAt)).Int64()
		return err
	})
	if err == nil && ok == 0 {
		return oauthcore.ErrConflict
	}
	return err
}

// PeekCode reads an unused code; a used one is ErrCodeUsed with its
// tombstone, as ConsumeCode reports it.
func (s *Store) PeekCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	var v []any
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		v, err = s.rdb.HMGet(ctx, s.codeKey(hash), fieldRecord, fieldUsed, fieldGrant).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	rec, _ := v[0].(string)
	used, _ := v[1].(string)
	grant, _ := v[2].(string)
	if rec == "" {
		return nil, oauthcore.ErrNotFound
	}
	return s.decodeCode(rec, used == "1", grant)
}

// ConsumeCode marks the code used in one script; Redis runs scripts one at
// a time, so exactly one caller sees it unused.
func (s *Store) ConsumeCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	var v []string
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		v, err = consumeCode.Run(ctx, s.rdb, []string{s.codeKey(hash)}).StringSlice()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(v) != 3 {
		return nil, errors.New("redisstore: consume code: unexpected reply")
	}
	c, err := s.decodeCode(v[0], v[1] == "1", v[2])
	if err == nil {
		c.Used = true // the winner gets the code as it now is: used
	}
	return c, err
}

// SetCodeGrant records on the tombstone which grant the code produced, so
// a replay can revoke it.
func (s *Store) SetCodeGrant(ctx context.Context, hash, grantID string) error {
	var ok int64
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		ok, err = setCodeGrant.Run(ctx, s.rdb, []string{s.codeKey(hash)}, grantID).Int64()
		return err
	})
	if err == nil && ok == 0 {
		return oauthcore.ErrNotFound
	}
	return err
}

// decodeCode returns the code with nil, or as a tombstone with
// ErrCodeUsed, or ErrNotFound once it has ended on the store's clock.
func (s *Store) decodeCode(rec string, used bool, grantID string) (*oauthcore.AuthCode, error) {
	var c oauthcore.AuthCode
	if err := json.Unmarshal([]byte(rec), &c); err != nil {
		return nil, wrap(err)
	}
	if s.expired(c.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	c.Used = c.Used || used
	if grantID != "" {
		c.GrantID = grantID
	}
	if c.Used {
		return &c, oauthcore.ErrCodeUsed
	}
	return &c, nil
}
