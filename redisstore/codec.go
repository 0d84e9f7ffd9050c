package redisstore

import (
	"context"
	"encoding/json"
	"strconv"
)

// getJSON decodes the JSON value under key into v (redis.Nil: ErrNotFound).
func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	raw, err := s.rdb.Get(ctx, key).Bytes()
	if err != nil {
		return wrap(err)
	}
	return wrap(json.Unmarshal(raw, v))
}

// exists reports whether key is present (markers: revocations, consent).
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	n, err := s.rdb.Exists(ctx, key).Result()
	return n == 1, wrap(err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// anys converts script arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
