package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore/storetest"
)

// Interface guards: the server finds these abilities by type assertion.
var (
	_ oauthcore.Store          = (*Store)(nil)
	_ oauthcore.NotifierHealth = (*Store)(nil)
	_ storetest.Dumper         = (*Store)(nil)
)

// prefixes makes every store of a test run disjoint on a shared Redis,
// which is what "a new empty store" means here.
var prefixes atomic.Int64

func nextPrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

// newClient connects to addrs (several: a cluster) and closes at cleanup.
func newClient(t *testing.T, addrs ...string) redis.UniversalClient {
	t.Helper()
	rdb, err := NewClient(ClientConfig{Addrs: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// newStore opens a store; cleanups run last-in first-out, so the store
// closes before its client.
func newStore(t *testing.T, rdb redis.UniversalClient, opts Options) *Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = nextPrefix()
	}
	s, err := New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func must(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond every few milliseconds until it holds or within
// has passed.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// recorder collects announcements.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(kind, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, kind+":"+id)
}

func (r *recorder) has(kind, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e == kind+":"+id {
			return true
		}
	}
	return false
}

func (r *recorder) wait(t *testing.T, within time.Duration, kind, id string) {
	t.Helper()
	eventually(t, within, "announcement "+kind+":"+id, func() bool { return r.has(kind, id) })
}

// allKeys lists every key with its PTTL, on every master of a cluster.
func allKeys(t *testing.T, rdb redis.UniversalClient) map[string]time.Duration {
	t.Helper()
	ctx := t.Context()
	out := map[string]time.Duration{}
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		keys, err := scanKeys(ctx, c, "*")
		if err != nil {
			return err
		}
		for _, k := range keys {
			d, err := c.PTTL(ctx, k).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			out[k] = d
			mu.Unlock()
		}
		return nil
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, rdb)
	}
	must(t, err)
	return out
}

// auditTTLs is RD-08: after the suite, every key left has a TTL except the
// two kinds allowed to live forever: the signing key set, and clients
// registered without an expiry.
func auditTTLs(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	keys := allKeys(t, rdb)
	if len(keys) < 20 {
		t.Fatalf("only %d keys left after the suite: the audit would prove nothing", len(keys))
	}
	var noTTL int
	for k, d := range keys {
		if d != -1 { // -1: no TTL (-2: expired since SCAN)
			continue
		}
		noTTL++
		switch {
		case strings.HasSuffix(k, ":keys"):
		case strings.HasSuffix(k, "}:client") && clientNeverExpires(t, rdb, k):
		default:
			t.Errorf("key %s has no TTL", k)
		}
	}
	t.Logf("TTL audit: %d keys, %d without TTL (all allowed)", len(keys), noTTL)
}

func clientNeverExpires(t *testing.T, rdb redis.UniversalClient, key string) bool {
	raw, err := rdb.Get(t.Context(), key).Result()
	must(t, err)
	return !strings.Contains(raw, `"expires_at"`)
}

// redisZ is a sorted-set member scored with an end time, as the indexes
// keep them.
func redisZ(end time.Time, member string) redis.Z {
	return redis.Z{Score: float64(end.UnixMilli()), Member: member}
}
