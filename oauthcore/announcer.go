package oauthcore

import "sync"

// Announcer is the subscriber registry behind RevocationNotifier, for
// stores to embed: Subscribe registers a callback, Announce calls every
// callback, outside the lock, so a callback may itself subscribe or read
// the store.
type Announcer struct {
	mu   sync.Mutex
	next int
	subs map[int]func(kind, id string)
}

// Subscribe registers fn and returns the func that unregisters it.
func (a *Announcer) Subscribe(fn func(kind, id string)) (cancel func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.subs == nil {
		a.subs = map[int]func(kind, id string){}
	}
	id := a.next
	a.next++
	a.subs[id] = fn
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.subs, id)
	}
}

// Announce calls every subscriber with kind and each id.
func (a *Announcer) Announce(kind string, ids ...string) {
	a.mu.Lock()
	fns := make([]func(kind, id string), 0, len(a.subs))
	for _, fn := range a.subs {
		fns = append(fns, fn)
	}
	a.mu.Unlock()
	for _, id := range ids {
		for _, fn := range fns {
			fn(kind, id)
		}
	}
}
