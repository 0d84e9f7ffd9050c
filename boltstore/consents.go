package boltstore

import (
	"context"
	"time"
)

// PutConsent remembers an approval until expiresAt.
func (s *Store) PutConsent(ctx context.Context, hash string, expiresAt time.Time) error {
	return s.putUntil(ctx, bConsent, hash, expiresAt)
}

// HasConsent reports whether an unexpired approval is remembered.
func (s *Store) HasConsent(ctx context.Context, hash string) (bool, error) {
	return s.hasLive(ctx, bConsent, hash)
}
