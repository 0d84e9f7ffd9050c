package cimd

import (
	"context"
	"testing"
	"time"
)

// cachedResolver holds claude.ai's client_id in its MemoryCache, with the
// real clock and an AllowedHosts list to match on every hit.
func cachedResolver(b *testing.B) (*Resolver, string) {
	const id = "https://claude.ai/oauth/claude-code-client-metadata"
	cache := &MemoryCache{}
	res, err := New(Config{Cache: cache, AllowedHosts: []string{"*.anthropic.com", "vscode.dev", "claude.ai"}})
	if err != nil {
		b.Fatal(err)
	}
	doc, err := ParseDocument(id, []byte(`{"client_id":"`+id+`","client_name":"Claude Code","redirect_uris":["http://localhost/callback","http://127.0.0.1/callback"]}`))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := cache.Put(context.Background(), id, &Entry{Document: doc, Fetched: now, Expires: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	return res, id
}

// BenchmarkLookupCached is the cost of a lookup served from the cache:
// the URL check, the host policy, a map read and the expiry check.
func BenchmarkLookupCached(b *testing.B) {
	res, id := cachedResolver(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := res.Lookup(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupCachedParallel(b *testing.B) {
	res, id := cachedResolver(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := res.Lookup(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseDocument(b *testing.B) {
	body := []byte(docFor(testID))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDocument(testID, body); err != nil {
			b.Fatal(err)
		}
	}
}
