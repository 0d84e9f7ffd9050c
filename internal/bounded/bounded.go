package bounded

import (
	"sync"
	"sync/atomic"
)

// Map is a sync.Map that stops taking new keys once it holds Max entries.
// Entries are never removed: the values it caches are cheap to rebuild,
// so past the bound a caller simply builds them per request. The count
// never goes past Max, so no number of distinct keys can wrap it and lift
// the bound.
type Map struct {
	Max int

	mu   sync.Mutex
	n    int
	full atomic.Bool // n == Max: misses skip the lock
	m    sync.Map
}

// Load returns the value stored under key.
func (b *Map) Load(key string) (any, bool) { return b.m.Load(key) }

// Keep stores v under key unless key is already present or the map is
// full, and returns the value the map now holds for key (v when it was
// not kept).
func (b *Map) Keep(key string, v any) any {
	if old, ok := b.m.Load(key); ok {
		return old
	}
	if b.full.Load() {
		return v
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.m.Load(key); ok {
		return old
	}
	if b.n >= b.Max {
		return v
	}
	b.n++
	b.full.Store(b.n >= b.Max)
	b.m.Store(key, v)
	return v
}

// Len is the number of entries held.
func (b *Map) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
