package boltstore

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// BenchmarkCreateClientParallel is registration's store write from many
// requests at once: what the group commit is for.
func BenchmarkCreateClientParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "b.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := &oauthcore.Client{ID: rand.Text(), Metadata: oauthcore.Metadata{ClientName: "bench", RedirectURIs: []string{"http://127.0.0.1/cb"}},
				ExpiresAt: time.Now().Add(time.Hour), Version: 1}
			if err := s.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
