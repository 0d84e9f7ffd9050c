package oauthcore

import (
	"sync"
	"time"
)

// throttle counts events per key in fixed windows and reports when a key
// has had too many. It guards the RFC 7592 endpoint against guessing
// registration access tokens (OAuth 2.1 §7.7, MG-07), counting failures per
// client address and client id and per client address, and open registration against floods (DR-01), counting
// registrations per client address. It is per process: with several
// instances the bound is per instance.
type throttle struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	counts  map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, maxKeys: 10000, counts: map[string]*failWindow{}}
}

// blocked reports whether key has used up its events in this window, and
// how long until it may try again.
func (t *throttle) blocked(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.counts[key]
	if w == nil || now.Sub(w.start) >= t.window {
		return false, 0
	}
	if w.n < t.limit {
		return false, 0
	}
	return true, w.start.Add(t.window).Sub(now)
}

// add records one event for key.
func (t *throttle) add(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.counts[key]
	if w == nil || now.Sub(w.start) >= t.window {
		if w == nil && len(t.counts) >= t.maxKeys {
			t.prune(now)
		}
		w = &failWindow{start: now}
		t.counts[key] = w
	}
	w.n++
}

// prune drops finished windows; if none finished, an arbitrary one, so the
// map stays bounded under a flood of distinct keys.
func (t *throttle) prune(now time.Time) {
	for k, w := range t.counts {
		if now.Sub(w.start) >= t.window {
			delete(t.counts, k)
		}
	}
	for k := range t.counts {
		if len(t.counts) < t.maxKeys {
			break
		}
		delete(t.counts, k)
	}
}

// hit records one event for key and returns the events of its window so
// far and the time left in it.
func (t *throttle) hit(key string, now time.Time) (int64, time.Duration) {
	t.add(key, now)
	return t.peek(key, now)
}

// peek returns key's events in its current window and the time left.
func (t *throttle) peek(key string, now time.Time) (int64, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.counts[key]
	if w == nil || now.Sub(w.start) >= t.window {
		return 0, 0
	}
	return int64(w.n), w.start.Add(t.window).Sub(now)
}
