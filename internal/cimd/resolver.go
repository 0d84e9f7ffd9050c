package cimd

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultTimeout bounds one fetch, from DNS to the last byte.
const DefaultTimeout = 5 * time.Second

// Config configures a Resolver. The zero value is the default policy: any
// public host, a 5 s timeout, lifetimes up to 24 h, an in-memory cache.
type Config struct {
	// Timeout bounds each fetch in total; 0 means DefaultTimeout.
	Timeout time.Duration
	// CacheMax is the longest a document is used before it is fetched
	// again, whatever its headers say; 0 means DefaultCacheMax. It must
	// be at least MinLifetime.
	CacheMax time.Duration
	// AllowedHosts, when not empty, restricts Client Identifier URLs to
	// these hosts (see HostPatterns); checked before any fetch and on
	// every lookup, cached or not.
	AllowedHosts []string
	// PrivateHosts lists host or host:port entries whose documents may be
	// fetched from private and loopback addresses (tests, intranets).
	// They are matched on the client_id URL's host as written, never on
	// what it resolves to; an entry with a port matches only that port
	// (443 when the URL names none). Reserved addresses (link-local,
	// multicast, documentation ...) stay refused. AllowedHosts still
	// applies.
	PrivateHosts []string
	// MaxPerHost bounds fetches in flight to one host; 0 means
	// DefaultMaxPerHost. A fetch past the bound fails at once (KindBusy)
	// rather than queueing behind a slow host.
	MaxPerHost int
	// MaxFetches bounds fetches in flight overall; 0 means
	// DefaultMaxFetches.
	MaxFetches int
	// Cache keeps fetched documents; nil means a MemoryCache of
	// DefaultCacheEntries.
	Cache Cache
	// CheckRedirectURI, when set, is the server's redirect URI policy,
	// applied to every redirect_uris entry before a document is accepted
	// and cached; its error is shown as the reason.
	CheckRedirectURI func(uri string) error
	// Transport supplies TLS settings (a test CA's pool, say); nil means
	// Go's defaults, which honour SSL_CERT_FILE and SSL_CERT_DIR. It is
	// cloned, and its DialContext, DialTLSContext and Proxy are always
	// replaced: every connection goes through the address check, and no
	// proxy (which would resolve names itself) is used.
	Transport *http.Transport
	// DNS resolves host names; nil means net.DefaultResolver.
	DNS NameResolver
	// Dial dials a checked ip:port; nil means a net.Dialer that checks
	// the address again at connect time.
	Dial DialFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// UserAgent is sent with each fetch; empty means "caddy-mcp-oauth".
	UserAgent string
	// Log receives cache errors; nil discards them.
	Log *slog.Logger
	// OnFetch, when set, is told the outcome of every fetch attempted or
	// refused for a bound: "ok" or the Kind's name (for metrics).
	OnFetch func(outcome string)
}

// Resolver looks up Client ID Metadata Documents: from its cache when a
// fresh entry is there, else by fetching under the SSRF rules. It is safe
// for concurrent use.
type Resolver struct {
	cfg     Config
	allowed *HostPatterns
	client  *http.Client
	hosts   *hostTable

	mu       sync.Mutex
	inflight map[string]*call
}

// call is one fetch that concurrent lookups of the same URL share.
type call struct {
	done  chan struct{}
	entry *Entry
	err   error
}

// New checks cfg and builds a Resolver; an error names the bad setting.
func New(cfg Config) (*Resolver, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	allowed, err := ParseHostPatterns(cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	private, err := parsePrivateHosts(cfg.PrivateHosts)
	if err != nil {
		return nil, err
	}
	g := &guard{dns: cfg.DNS, dial: cfg.Dial, private: private}
	return &Resolver{
		cfg:      cfg,
		allowed:  allowed,
		client:   newHTTPClient(cfg.Transport, g),
		hosts:    newHostTable(cfg.MaxPerHost, cfg.MaxFetches),
		inflight: make(map[string]*call),
	}, nil
}

func (c *Config) defaults() error {
	if c.Timeout < 0 || c.CacheMax < 0 || c.MaxPerHost < 0 || c.MaxFetches < 0 {
		return errors.New("cimd: timeout, cache_max and bounds must not be negative")
	}
	if c.CacheMax != 0 && c.CacheMax < MinLifetime {
		return errors.New("cimd: cache_max must be at least 1m")
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.CacheMax = cmp.Or(c.CacheMax, DefaultCacheMax)
	c.MaxPerHost = cmp.Or(c.MaxPerHost, DefaultMaxPerHost)
	c.MaxFetches = cmp.Or(c.MaxFetches, DefaultMaxFetches)
	c.UserAgent = cmp.Or(c.UserAgent, "caddy-mcp-oauth")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Cache == nil {
		c.Cache = &MemoryCache{Now: c.Now}
	}
	if c.DNS == nil {
		c.DNS = net.DefaultResolver
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// CheckClientID applies the checks that need no network: the URL rules
// and AllowedHosts. Lookup applies them too.
func (r *Resolver) CheckClientID(clientID string) error {
	p, err := parseClientID(clientID)
	if err != nil {
		return err
	}
	return r.checkHost(p.host)
}

func (r *Resolver) checkHost(host string) error {
	if r.allowed.Len() > 0 && !r.allowed.Match(host) {
		return &Error{Kind: KindForbidden, Reason: "the client_id host is not among the allowed hosts"}
	}
	return nil
}

// Lookup returns the document for clientID: the cached one while it is
// fresh, else a fetched one (which is then cached). This is the call for
// /authorize, /token and /revoke, and for the refresh grant: a refresh
// while the document is cached costs nothing, one after it expired
// fetches it once, and the caller compares the new document with the
// grant. A failed fetch is never cached and no stale document is served
// in its place. Errors are *Error.
func (r *Resolver) Lookup(ctx context.Context, clientID string) (*Document, error) {
	p, err := parseClientID(clientID)
	if err != nil {
		return nil, err
	}
	if err := r.checkHost(p.host); err != nil {
		return nil, err
	}
	e, err := r.cfg.Cache.Get(ctx, clientID)
	if err != nil {
		r.cfg.Log.Warn("client metadata cache get failed", "client_id", clientID, "error", err)
	} else if e != nil && e.Document != nil && e.Document.ClientID == clientID && r.cfg.Now().Before(e.Expires) {
		return e.Document, nil
	}
	return r.fetchShared(ctx, clientID, p.host, false)
}

// Refetch fetches clientID's document even when a fresh one is cached,
// and caches the result: for a caller that must see the current document
// (an operator's "refresh now"). Concurrent lookups share the fetch.
func (r *Resolver) Refetch(ctx context.Context, clientID string) (*Document, error) {
	p, err := parseClientID(clientID)
	if err != nil {
		return nil, err
	}
	if err := r.checkHost(p.host); err != nil {
		return nil, err
	}
	return r.fetchShared(ctx, clientID, p.host, true)
}

// fetchShared joins the fetch of clientID in flight or starts one. The
// fetch runs detached from ctx, under its own timeout, so that a caller
// who gives up does not fail the others; each caller waits at most until
// its own ctx ends. When force is set, a copy another instance put before
// this call is not taken for the fetch (Refetch).
func (r *Resolver) fetchShared(ctx context.Context, clientID, host string, force bool) (*Document, error) {
	r.mu.Lock()
	c, ok := r.inflight[clientID]
	if !ok {
		if err := r.hosts.acquire(host, r.cfg.Now()); err != nil {
			r.mu.Unlock()
			r.fetched(err)
			return nil, err
		}
		c = &call{done: make(chan struct{})}
		r.inflight[clientID] = c
		go r.run(context.WithoutCancel(ctx), c, clientID, host, force)
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		return c.entry.Document, nil
	case <-ctx.Done():
		return nil, newError(KindTimeout, "gave up waiting for the client metadata document", ctx.Err())
	}
}

func (r *Resolver) run(ctx context.Context, c *call, clientID, host string, force bool) {
	var after time.Time // a peer's entry is taken when fetched after this
	if force {
		after = r.cfg.Now()
	}
	release, peer := r.claim(ctx, clientID, after)
	if peer != nil {
		c.entry = peer
		r.hosts.release(host, r.cfg.Now(), false)
	} else {
		c.entry, c.err = r.fetch(ctx, clientID)
		r.fetched(c.err)
		r.hosts.release(host, r.cfg.Now(), c.err != nil)
		if c.err == nil {
			ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
			if err := r.cfg.Cache.Put(ctx, clientID, c.entry); err != nil {
				r.cfg.Log.Warn("client metadata cache put failed", "client_id", clientID, "error", err)
			}
			cancel()
		}
		release()
	}
	r.mu.Lock()
	delete(r.inflight, clientID)
	r.mu.Unlock()
	close(c.done)
}

// claimPoll is how often a resolver that lost the fetch claim looks for
// the winner's entry.
const claimPoll = 25 * time.Millisecond

// claim elects this resolver to fetch clientID when the cache is shared
// (FetchClaimer). It returns the release to call after the fetch, or the
// entry another instance fetched meanwhile (then nothing is fetched
// here; with after set, only an entry fetched after it counts). Waiting is bounded by the fetch timeout; a claim that cannot be
// made (the store failing) lets this resolver fetch, as it would alone.
func (r *Resolver) claim(ctx context.Context, clientID string, after time.Time) (release func(), peer *Entry) {
	nothing := func() {}
	cl, ok := r.cfg.Cache.(FetchClaimer)
	if !ok {
		return nothing, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	tick := time.NewTicker(claimPoll)
	defer tick.Stop()
	for {
		release, won, err := cl.ClaimFetch(ctx, clientID, r.cfg.Timeout+time.Second)
		if err != nil {
			r.cfg.Log.Warn("client metadata fetch claim failed", "client_id", clientID, "error", err)
			return nothing, nil
		}
		if won {
			// Another instance may have fetched, put and released between
			// this resolver's cache miss and its claim: look once more.
			if e := r.peerEntry(ctx, clientID, after); e != nil {
				release()
				return nothing, e
			}
			return release, nil
		}
		select {
		case <-ctx.Done():
			return nothing, nil
		case <-tick.C:
		}
		// The winner puts its entry before it releases the claim, so
		// the entry is looked for before claiming again.
		if e := r.peerEntry(ctx, clientID, after); e != nil {
			return nothing, e
		}
	}
}

// peerEntry is the cache's fresh entry for clientID fetched after after,
// or nil.
func (r *Resolver) peerEntry(ctx context.Context, clientID string, after time.Time) *Entry {
	e, err := r.cfg.Cache.Get(ctx, clientID)
	if err == nil && e != nil && e.Document != nil && e.Document.ClientID == clientID &&
		e.Fetched.After(after) && r.cfg.Now().Before(e.Expires) {
		return e
	}
	return nil
}

// fetched reports a fetch's outcome to OnFetch.
func (r *Resolver) fetched(err error) {
	if r.cfg.OnFetch == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = KindFetch.String()
		var e *Error
		if errors.As(err, &e) {
			outcome = e.Kind.String()
		}
	}
	r.cfg.OnFetch(outcome)
}
