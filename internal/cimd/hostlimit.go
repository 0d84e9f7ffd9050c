package cimd

import (
	"sync"
	"time"
)

// Per-host bounds, so that /authorize cannot be turned into a way to flood
// a third party with fetches (issue 9 item 2). Keyed by the document's
// host name (without port: ports of one host are one machine), never by
// who sent the request.
const (
	// DefaultMaxPerHost is how many fetches may be in flight to one host.
	// Fetches of one URL are coalesced, so this bounds distinct URLs.
	DefaultMaxPerHost = 4
	// DefaultMaxFetches bounds fetches in flight overall.
	DefaultMaxFetches = 32
	// MaxBackoff caps the failure backoff: after n consecutive failed
	// fetches from a host, it is not fetched from for 2^(n-1) s, at most
	// this long. A success ends the backoff.
	MaxBackoff = 10 * time.Second
	// maxHosts bounds the table; past it, new hosts are busy until
	// entries expire (fail closed: the flood bound holds).
	maxHosts = 10000
)

type hostState struct {
	inflight int
	failures int
	until    time.Time // end of the backoff
}

// idle reports whether s holds nothing worth keeping at now: nothing in
// flight and a backoff over long enough that its count is forgotten.
func (s *hostState) idle(now time.Time) bool {
	return s.inflight == 0 && !now.Before(s.until.Add(MaxBackoff))
}

// hostTable is the bookkeeping behind the bounds: a mutex and a map are
// enough, the critical sections are a few comparisons.
type hostTable struct {
	perHost, maxTotal int

	mu    sync.Mutex
	total int
	m     map[string]*hostState
}

func newHostTable(perHost, maxTotal int) *hostTable {
	return &hostTable{perHost: perHost, maxTotal: maxTotal, m: make(map[string]*hostState)}
}

// acquire reserves a fetch slot for host, or says why not (KindBusy).
func (t *hostTable) acquire(host string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[host]
	if s != nil && now.Before(s.until) {
		return busy("the client's host failed recently; try again shortly", s.until.Sub(now))
	}
	if t.total >= t.maxTotal {
		return busy("too many client metadata fetches in flight", time.Second)
	}
	if s == nil {
		if len(t.m) >= maxHosts {
			t.sweep(now)
		}
		if len(t.m) >= maxHosts {
			return busy("too many client hosts failing; try again shortly", MaxBackoff)
		}
		s = &hostState{}
		t.m[host] = s
	}
	if s.inflight >= t.perHost {
		return busy("too many fetches in flight to the client's host", time.Second)
	}
	if s.idle(now) {
		s.failures = 0
	}
	s.inflight++
	t.total++
	return nil
}

// release returns the slot; a failed fetch starts or extends the backoff,
// a successful one ends it.
func (t *hostTable) release(host string, now time.Time, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[host]
	s.inflight--
	t.total--
	if failed {
		s.failures++
		s.until = now.Add(backoff(s.failures))
	} else {
		s.failures, s.until = 0, time.Time{}
	}
	if s.inflight == 0 && s.failures == 0 {
		delete(t.m, host)
	}
}

func (t *hostTable) sweep(now time.Time) {
	for h, s := range t.m {
		if s.idle(now) {
			delete(t.m, h)
		}
	}
}

// backoff is 1 s, 2 s, 4 s, 8 s, then MaxBackoff.
func backoff(failures int) time.Duration {
	if failures > 4 {
		return MaxBackoff
	}
	return min(time.Second<<(failures-1), MaxBackoff)
}

func busy(reason string, retry time.Duration) *Error {
	return &Error{Kind: KindBusy, Reason: reason, RetryAfter: retry}
}
