package boltstore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// PutCode stores a new authorization code. A hash already present (live
// code or tombstone) is refused: overwriting a tombstone would reopen replay.
func (s *Store) PutCode(ctx context.Context, hash string, c *oauthcore.AuthCode) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var old oauthcore.AuthCode
		if err := s.loadCode(tx, hash, &old); err == nil || err == oauthcore.ErrCodeUsed {
			return oauthcore.ErrConflict
		}
		return putJSON(tx.Bucket(bCodes), hash, c)
	})
}

// PeekCode reads an unused code; a used one is ErrCodeUsed with its
// tombstone, as ConsumeCode reports it.
func (s *Store) PeekCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	var c oauthcore.AuthCode
	err := s.view(ctx, func(tx *bolt.Tx) error { return s.loadCode(tx, hash, &c) })
	return codeResult(&c, err)
}

// ConsumeCode marks the code used inside one write transaction; bbolt runs
// write transactions one at a time, so exactly one caller sees it unused.
// The used record stays as a tombstone until the code expires.
func (s *Store) ConsumeCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	var c oauthcore.AuthCode
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := s.loadCode(tx, hash, &c); err != nil {
			return err
		}
		c.Used = true
		return putJSON(tx.Bucket(bCodes), hash, &c)
	})
	return codeResult(&c, err)
}

// SetCodeGrant records on the tombstone which grant the code produced, so a
// replay can revoke it.
func (s *Store) SetCodeGrant(ctx context.Context, hash, grantID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		var c oauthcore.AuthCode
		if err := s.loadCode(tx, hash, &c); err != nil && err != oauthcore.ErrCodeUsed {
			return err
		}
		c.GrantID = grantID
		return putJSON(tx.Bucket(bCodes), hash, &c)
	})
}

// loadCode reads a live code into c and returns ErrCodeUsed if it is a
// tombstone (c is filled in either case).
func (s *Store) loadCode(tx *bolt.Tx, hash string, c *oauthcore.AuthCode) error {
	if err := s.getLive(tx.Bucket(bCodes), hash, c, func() time.Time { return c.ExpiresAt }); err != nil {
		return err
	}
	if c.Used {
		return oauthcore.ErrCodeUsed
	}
	return nil
}

// codeResult returns the code with nil or ErrCodeUsed, nothing otherwise.
func codeResult(c *oauthcore.AuthCode, err error) (*oauthcore.AuthCode, error) {
	if err != nil && err != oauthcore.ErrCodeUsed {
		return nil, err
	}
	return c, err
}
