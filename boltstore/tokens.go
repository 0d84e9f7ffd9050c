package boltstore

import (
	"context"
	"time"
)

// RevokeToken denies an access token id until the token would have expired
// anyway; after that its signature check rejects it without our help.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if err := s.putUntil(ctx, bRevokedTokens, jti, expiresAt); err != nil {
		return err
	}
	s.Announce("token", jti)
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
