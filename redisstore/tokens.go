package redisstore

import (
	"context"
	"time"
)

// RevokeToken denies an access token id until the token would have expired
// anyway; after that its signature check rejects it without our help. The
// entry and the announcement are one script.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		return errNoExpiry
	}
	err := s.withCall(ctx, func(ctx context.Context) error {
		return revokeToken.Run(ctx, s.rdb, []string{s.jtiKey(jti)}, s.ttl(expiresAt),
			s.channel(), message("token", jti)).Err()
	})
	if err != nil {
		return err
	}
	s.Announce("token", jti)
	return nil
}

// TokenRevoked reports whether jti is on the deny list.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.exists(ctx, s.jtiKey(jti))
}

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
