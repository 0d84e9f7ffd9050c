package cimd

import (
	"strconv"
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
