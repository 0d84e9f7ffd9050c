package cimd

import (
	"context"
	"sync"
	"time"
)

// Entry is a fetched, validated document and how long it may be used.
// It is plain data (JSON-encodable) so that a store can keep it.
type Entry struct {
	Document *Document `json:"document"`
	// Fetched is when the document was fetched.
	Fetched time.Time `json:"fetched"`
	// Expires is when the Resolver stops using the entry; a store may
	// drop it then (its TTL is Expires minus now).
	Expires time.Time `json:"expires"`
}

// Cache keeps entries by Client Identifier URL. Only valid documents are
// ever put (the draft §5.2: errors and invalid documents are never
// cached). The Resolver checks expiry and the entry's client_id itself,
// so an implementation may return expired entries and need not validate.
// Implementations must be safe for concurrent use; MemoryCache is one,
// and a store shared by several instances (Redis) lets them fetch a
// document once per lifetime between them.
type Cache interface {
	// Get returns the entry for clientID, or nil and no error when there
	// is none.
	Get(ctx context.Context, clientID string) (*Entry, error)
	// Put stores e under clientID, replacing any entry.
	Put(ctx context.Context, clientID string, e *Entry) error
}

// FetchClaimer is a Cache shared by several instances that elects one of
// them to fetch a document none of them holds, so that a document is
// fetched once per lifetime between them even when they miss at the same
// moment. ClaimFetch reports whether the caller won the claim on
// clientID, which lapses after ttl unless release (called once the
// winner's fetch is over and its entry, if any, put) ends it sooner. A
// caller that lost waits for the winner's entry, claiming again while it
// waits so that it fetches itself should the winner fail or vanish.
type FetchClaimer interface {
	ClaimFetch(ctx context.Context, clientID string, ttl time.Duration) (release func(), won bool, err error)
}

// DefaultCacheEntries is MemoryCache's bound when Max is zero.
const DefaultCacheEntries = 1024

// MemoryCache is a bounded in-process Cache. Client IDs are chosen by
// whoever sends an authorization request, so the map stops growing at
// Max: a full cache drops its expired entries, then an arbitrary one.
// The zero value is ready to use.
type MemoryCache struct {
	// Max is the number of entries kept; 0 means DefaultCacheEntries.
	Max int
	// Now is the clock used to find expired entries; nil means time.Now.
	Now func() time.Time

	mu sync.RWMutex
	m  map[string]*Entry
}

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, clientID string) (*Entry, error) {
	c.mu.RLock()
	e := c.m[clientID]
	c.mu.RUnlock()
	return e, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, clientID string, e *Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*Entry)
	}
	if _, ok := c.m[clientID]; !ok && len(c.m) >= c.max() {
		c.evict()
	}
	c.m[clientID] = e
	return nil
}

// Len is the number of entries held, expired ones included.
func (c *MemoryCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *MemoryCache) max() int {
	if c.Max > 0 {
		return c.Max
	}
	return DefaultCacheEntries
}

// evict makes room for one entry; the caller holds mu.
func (c *MemoryCache) evict() {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now()
	for k, e := range c.m {
		if !t.Before(e.Expires) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max() {
			break
		}
		delete(c.m, k)
	}
}
