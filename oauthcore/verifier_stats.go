package oauthcore

import "sync/atomic"

// cacheStats counts the verified-token cache's lookups, for metrics.
type cacheStats struct {
	hits, misses atomic.Uint64
}

// CacheStats reports how many verifications the cache answered (hits),
// how many went to the signature check and the store (misses), and how
// many tokens it holds now.
func (v *Verifier) CacheStats() (hits, misses uint64, entries int) {
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.RLock()
		entries += len(sh.m)
		sh.mu.RUnlock()
	}
	return v.stats.hits.Load(), v.stats.misses.Load(), entries
}
