package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// TryLock takes name for ttl unless another holder has it (SET NX PX), so
// work that must happen once across instances (renewing a GitHub App
// token, whose refresh token GitHub accepts once) does. The lock expires
// by itself should its holder die; release deletes it only while it is
// still this holder's.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, false, err
	}
	owner, key := hex.EncodeToString(b), s.prefix+"lock:"+name
	var ok bool
	err := s.withCall(ctx, func(ctx context.Context) (err error) {
		ok, err = s.rdb.SetNX(ctx, key, owner, ttl).Result()
		return err
	})
	if err != nil || !ok {
		return nil, false, err
	}
	release := func() {
		_ = s.withCall(context.WithoutCancel(ctx), func(ctx context.Context) error {
			return releaseLock.Run(ctx, s.rdb, []string{key}, owner).Err()
		})
	}
	return release, true, nil
}
