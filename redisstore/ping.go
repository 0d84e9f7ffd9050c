package redisstore

import "context"

// Ping asks Redis to answer (PING), within the call timeout: the health
// check's probe, which writes nothing.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	return s.rdb.Ping(ctx).Err()
}
