package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// rateHit: KEYS counter; ARGV window ms. Counts one event in the window
// the key's first event opened; answers the count and the ms left.
var rateHit = script(`
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
`)

// rateCount: KEYS counter. The count and the ms left, counting nothing.
var rateCount = script(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = 0 end
return {n, left}
`)

// Hit counts one event for key in its current window, one round trip;
// every instance on this Redis counts in the same window, so a limit
// holds across them.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	return s.rate(ctx, rateHit, key, window.Milliseconds())
}

// Count returns key's events in its current window without counting.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Duration, error) {
	return s.rate(ctx, rateCount, key)
}

func (s *Store) rate(ctx context.Context, sc *redis.Script, key string, args ...any) (int64, time.Duration, error) {
	var out []int64
	err := s.withCall(ctx, func(ctx context.Context) error {
		var err error
		out, err = sc.Run(ctx, s.rdb, []string{s.rateKey(key)}, args...).Int64Slice()
		return err
	})
	if err != nil || len(out) != 2 {
		return 0, 0, err
	}
	return out[0], time.Duration(out[1]) * time.Millisecond, nil
}

var _ oauthcore.RateCounter = (*Store)(nil)
