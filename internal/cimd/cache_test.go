package cimd

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryCacheBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := &MemoryCache{Max: 3, Now: clk.Now}
	ctx := t.Context()
	put := func(id string, ttl time.Duration) {
		t.Helper()
		if err := c.Put(ctx, id, &Entry{Expires: clk.Now().Add(ttl)}); err != nil {
			t.Fatal(err)
		}
	}
	put("old", time.Minute)
	put("a", time.Hour)
	put("b", time.Hour)
	clk.Add(2 * time.Minute)
	put("c", time.Hour) // full: the expired entry goes first
	if e, _ := c.Get(ctx, "old"); e != nil {
		t.Fatal("expired entry kept over a fresh one")
	}
	for _, id := range []string{"a", "b", "c"} {
		if e, _ := c.Get(ctx, id); e == nil {
			t.Fatalf("%s evicted", id)
		}
	}
	put("a", 2*time.Hour) // replacing never evicts
	if c.Len() != 3 {
		t.Fatalf("Len = %d", c.Len())
	}
	for i := range 100 {
		put("k"+strconv.Itoa(i), time.Hour)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d after a flood, want 3", c.Len())
	}
	var zero MemoryCache
	if e, err := zero.Get(ctx, "x"); e != nil || err != nil {
		t.Fatal("zero value Get")
	}
	if err := zero.Put(ctx, "x", &Entry{}); err != nil || zero.Len() != 1 {
		t.Fatal("zero value Put")
	}
}

// sharedCache is a MemoryCache that elects fetchers, as Redis does for
// several instances.
type sharedCache struct {
	MemoryCache
	mu     sync.Mutex
	claims map[string]bool
	lost   atomic.Int32
}

func (c *sharedCache) ClaimFetch(_ context.Context, clientID string, _ time.Duration) (func(), bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claims[clientID] {
		c.lost.Add(1)
		return nil, false, nil
	}
	if c.claims == nil {
		c.claims = map[string]bool{}
	}
	c.claims[clientID] = true
	return func() {
		c.mu.Lock()
		delete(c.claims, clientID)
		c.mu.Unlock()
	}, true, nil
}

// TestSharedCacheFetchesOnce: two resolvers on one shared cache (two
// instances on one Redis) that miss the same document at the same moment
// fetch it once between them; when the winner's fetch fails, the other
// fetches itself instead of waiting out its timeout.
func TestSharedCacheFetchesOnce(t *testing.T) {
	t.Parallel()
	for _, failFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "winner succeeds", true: "winner fails"}[failFirst], func(t *testing.T) {
			t.Parallel()
			gate := make(chan struct{})
			var served atomic.Int32
			srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				<-gate
				if failFirst && served.Add(1) == 1 {
					http.Error(w, "boom", http.StatusInternalServerError) // the winner's fetch
					return
				}
				serveDoc("max-age=3600")(w, r)
			})
			cache := &sharedCache{}
			mod := func(c *Config) { c.Cache = cache }
			r1, _ := testResolver(t, srv, mod)
			r2, _ := testResolver(t, srv, mod)
			id := srv.id("app.example.com", "/c")

			errs := make(chan error, 2)
			go func() { _, err := r1.Lookup(t.Context(), id); errs <- err }()
			for srv.hits.Load() == 0 { // r1 has won the claim and is fetching
				runtime.Gosched()
			}
			go func() { _, err := r2.Lookup(t.Context(), id); errs <- err }()
			for cache.lost.Load() == 0 { // r2 has lost the claim and waits
				runtime.Gosched()
			}
			close(gate)
			e1, e2 := <-errs, <-errs
			want := int32(1)
			if failFirst {
				want = 2
				if (e1 == nil) == (e2 == nil) {
					t.Fatalf("want one failure and one success, got %v and %v", e1, e2)
				}
			} else if e1 != nil || e2 != nil {
				t.Fatalf("lookups: %v, %v", e1, e2)
			}
			if n := srv.hits.Load(); n != want {
				t.Fatalf("fetched %d times, want %d", n, want)
			}
		})
	}
}
