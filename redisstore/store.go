package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Prefix starts every key and the revocation channel, so several
	// issuers (or tests) can share one Redis. It must not contain '{' or
	// '}': the keys' hash tags follow it. Default: "mcpoauth:".
	Prefix string
	// CallTimeout is the deadline of every Redis call. A slow or paused
	// Redis then fails the request (503) quickly instead of hanging it
	// (checklist RD-03). Default: 300ms.
	CallTimeout time.Duration
	// Now is the clock record expiry is judged by; TTLs are computed from
	// it as durations, so Redis's own clock only has to run at the right
	// speed. Default: time.Now.
	Now func() time.Time
}

const (
	defaultPrefix  = "mcpoauth:"
	defaultTimeout = 300 * time.Millisecond
)

// Store is an oauthcore.Store on a go-redis UniversalClient: standalone,
// Sentinel or Cluster.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time

	// Revocation announcements: local callbacks and the pub/sub listener.
	oauthcore.Announcer
	mu     sync.Mutex // guards ps and closed
	live   atomic.Bool
	ps     *redis.PubSub
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

// New returns a store on rdb and starts its pub/sub listener. The caller
// owns rdb and closes it after Close. rdb must honour context deadlines
// (ContextTimeoutEnabled, as NewClient sets): go-redis ignores them
// otherwise and a stalled Redis would hold requests for its socket
// timeouts instead of CallTimeout.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if !honoursDeadlines(rdb) {
		return nil, errors.New("redisstore: the client must be built with ContextTimeoutEnabled, or calls ignore their deadline")
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain '{' or '}' (it would break the hash tags)", opts.Prefix)
	}
	s := &Store{rdb: rdb, prefix: opts.Prefix, timeout: opts.CallTimeout, now: opts.Now,
		done: make(chan struct{})}
	if s.prefix == "" {
		s.prefix = defaultPrefix
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.listen(ctx)
	return s, nil
}

// honoursDeadlines checks the client kinds whose options can be read.
func honoursDeadlines(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// Close stops the pub/sub listener; NotifierLive is false from then on.
// It does not close the client, which the caller owns. Safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stop()
	ps := s.ps
	s.mu.Unlock()
	if ps != nil {
		_ = ps.Close() // unblocks the listener's read
	}
	<-s.done
	return nil
}

// call returns a context carrying the per-call deadline.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// wrap maps redis.Nil to ErrNotFound and prefixes anything else, which the
// server answers with 503. Sentinels pass through untouched.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return oauthcore.ErrNotFound
	case errors.Is(err, oauthcore.ErrNotFound), errors.Is(err, oauthcore.ErrConflict),
		errors.Is(err, oauthcore.ErrCodeUsed):
		return err
	}
	return fmt.Errorf("redisstore: %w", err)
}

// errNoExpiry refuses a record that should expire but names no end: it
// would become a key without TTL, which nothing would ever remove (RD-08).
var errNoExpiry = errors.New("redisstore: record has no expiry time")

// ttl is the time from now until end in whole milliseconds, rounded up and
// at least 1 (PX 0 is an error; a record already ended lives 1 ms).
func (s *Store) ttl(end time.Time) int64 {
	d := end.Sub(s.now())
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return max(int64(ms), 1)
}

// expired reports whether a record ending at t is gone. Zero means never.
// Reads check it as well as the TTL, so expiry is exact on the store's
// clock even where a TTL was extended to keep a key for an index.
func (s *Store) expired(t time.Time) bool {
	return !t.IsZero() && !s.now().Before(t)
}

// nowMS is the store clock in Unix milliseconds, the unit of index scores.
func (s *Store) nowMS() int64 { return s.now().UnixMilli() }
