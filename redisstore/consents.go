package redisstore

import (
	"context"
	"time"
)

// PutConsent remembers an approval until expiresAt.
func (s *Store) PutConsent(ctx context.Context, hash string, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		return errNoExpiry
	}
	return s.withCall(ctx, func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.consentKey(hash), "1", time.Duration(s.ttl(expiresAt))*time.Millisecond).Err()
	})
}

// HasConsent reports whether an unexpired approval is remembered.
func (s *Store) HasConsent(ctx context.Context, hash string) (bool, error) {
	return s.exists(ctx, s.consentKey(hash))
}
