package boltstore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	bolt "go.etcd.io/bbolt"
)

// RevokeToken denies an access token id until the token would have expired
// anyway; after that its signature check rejects it without our help.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if err := s.putUntil(ctx, bRevokedTokens, jti, expiresAt); err != nil {
		return err
	}
	s.notify("token", jti)
	return nil
}

// TokenRevoked reports whether jti is on the deny list.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.hasLive(ctx, bRevokedTokens, jti)
}

// PutConsent remembers an approval until expiresAt.
func (s *Store) PutConsent(ctx context.Context, hash string, expiresAt time.Time) error {
	return s.putUntil(ctx, bConsent, hash, expiresAt)
}

// HasConsent reports whether an unexpired approval is remembered.
func (s *Store) HasConsent(ctx context.Context, hash string) (bool, error) {
	return s.hasLive(ctx, bConsent, hash)
}

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
