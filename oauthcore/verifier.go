package oauthcore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalidToken is returned by Verifier.Verify for a token that is
// malformed, forged, expired or revoked. Any other error is an outage.
var ErrInvalidToken = errors.New("invalid access token")

const cacheShards = 16

// Verifier checks access tokens for the gates of one server. A token is
// verified once (signature, claims, revocation in the store) and then served
// from a bounded in-process cache until it expires or a revocation
// announcement from the store removes it, so a repeat request costs a map
// lookup and no storage round trip.
type Verifier struct {
	tokens  *Tokens
	revoked revocationCheck
	now     func() time.Time
	leeway  int64 // seconds
	shards  [cacheShards]cacheShard
	// gen counts revocation announcements; a verification that raced one
	// is not cached, so a token revoked mid-check is re-checked next time.
	gen      atomic.Uint64
	perShard int
	cancel   func()
	health   NotifierHealth // nil: announcements always arrive
	// sessions, when set, hold per grant the user's GitHub token and
	// memberships, re-checked within membership_ttl.
	sessions *sessions
	stats    cacheStats // verifier_stats.go
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	claims *Claims
	exp    int64 // unix seconds, leeway included
}

// revocationCheck is the revocation lookup of a verified token, shared by
// the verifier and introspection: the token itself (RFC 7009), or its
// grant (code replay, refresh reuse, client deletion).
type revocationCheck struct {
	tokens RevocationStore
	grants GrantStore
}

// revoked reports whether a verified token was revoked, directly or
// through its grant.
func (rc revocationCheck) revoked(ctx context.Context, c *Claims) (bool, error) {
	if revoked, err := rc.tokens.TokenRevoked(ctx, c.ID); err != nil || revoked {
		return revoked, err
	}
	if c.GrantID == "" {
		return false, nil
	}
	return rc.grants.GrantRevoked(ctx, c.GrantID)
}

// verifierStore is what a verifier reads: revocations, and the
// announcements that keep its cache true.
type verifierStore interface {
	RevocationStore
	GrantStore
	RevocationNotifier
}

// newVerifier returns a verifier caching at most maxEntries tokens. Close
// it when the config that owns it is unloaded.
func newVerifier(tokens *Tokens, store verifierStore, now func() time.Time, leeway time.Duration, maxEntries int) *Verifier {
	if maxEntries < cacheShards {
		maxEntries = cacheShards
	}
	v := &Verifier{tokens: tokens, revoked: revocationCheck{store, store}, now: now,
		leeway: int64(leeway.Seconds()), perShard: maxEntries / cacheShards}
	for i := range v.shards {
		v.shards[i].m = make(map[string]*cacheEntry)
	}
	v.cancel = store.Subscribe(v.announced)
	v.health, _ = store.(NotifierHealth)
	return v
}

// Close stops listening for revocations.
func (v *Verifier) Close() { v.cancel() }

// Verify returns the claims of a valid, unrevoked access token. It returns
// ErrInvalidToken for a token that must be refused, and an *Error
// (temporarily_unavailable) when the store cannot say: the gate answers
// 503 then, never 401, or clients would throw their credentials away.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) == 0 || len(raw) > maxTokenBytes {
		return nil, ErrInvalidToken
	}
	sh := &v.shards[shardOf(raw)]
	if v.health != nil && !v.health.NotifierLive() {
		return v.verifyUncached(ctx, raw)
	}
	sh.mu.RLock()
	e := sh.m[raw]
	sh.mu.RUnlock()
	now := v.now().Unix()
	if e != nil {
		if now <= e.exp {
			v.stats.hits.Add(1)
			return e.claims, nil
		}
		sh.mu.Lock()
		delete(sh.m, raw)
		sh.mu.Unlock()
		return nil, ErrInvalidToken
	}
	v.stats.misses.Add(1)
	return v.verifyMiss(ctx, sh, raw)
}

func (v *Verifier) verifyMiss(ctx context.Context, sh *cacheShard, raw string) (*Claims, error) {
	gen := v.gen.Load()
	c, err := v.verifyUncached(ctx, raw)
	if err != nil {
		return nil, err
	}
	exp := c.ExpiresAt.Unix() + v.leeway
	sh.mu.Lock()
	if v.gen.Load() == gen {
		if len(sh.m) >= v.perShard {
			sh.evictOne()
		}
		sh.m[raw] = &cacheEntry{claims: c, exp: exp}
	}
	sh.mu.Unlock()
	return c, nil
}

// verifyUncached checks signature and claims in process, then revocation
// in the store.
func (v *Verifier) verifyUncached(ctx context.Context, raw string) (*Claims, error) {
	c, err := v.tokens.Verify(raw)
	if err != nil {
		return nil, ErrInvalidToken
	}
	revoked, err := v.revoked.revoked(ctx, c)
	if err != nil {
		return nil, unavailable(err)
	}
	if revoked {
		return nil, ErrInvalidToken
	}
	return c, nil
}

// Session returns the session of a verified token's grant (nil when
// there is none to keep: no session store, or a token without grant).
// useToken: the caller hands the GitHub token on (see sessions.get).
// ErrInvalidToken: the grant has ended, now or before; an *Error: an
// outage (503).
func (v *Verifier) Session(ctx context.Context, c *Claims, useToken bool) (*Session, error) {
	if v.sessions == nil || c.GrantID == "" {
		return nil, nil
	}
	return v.sessions.get(ctx, c, useToken)
}

// evictOne drops an arbitrary entry (Go's map order is randomised, so this
// is random eviction, which needs no bookkeeping on the hit path).
func (sh *cacheShard) evictOne() {
	for k := range sh.m {
		delete(sh.m, k)
		return
	}
}

// announced drops cached tokens that a revocation announcement names, or
// all of them after announcements may have been lost.
func (v *Verifier) announced(kind, id string) {
	v.gen.Add(1)
	if v.sessions != nil {
		v.sessions.announced(kind, id)
	}
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.Lock()
		if kind == "all" {
			clear(sh.m)
		}
		for k, e := range sh.m {
			if (kind == "token" && e.claims.ID == id) || (kind == "grant" && e.claims.GrantID == id) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// shardOf hashes the token's tail, which is signature bytes: random.
func shardOf(raw string) int {
	var h uint32 = 2166136261
	start := len(raw) - 16
	if start < 0 {
		start = 0
	}
	for i := start; i < len(raw); i++ {
		h = (h ^ uint32(raw[i])) * 16777619
	}
	return int(h % cacheShards)
}
