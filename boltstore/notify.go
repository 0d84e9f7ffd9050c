package boltstore

// Revocations are announced in-process only: a bbolt file has a single
// writer process, so every revocation that can exist was made here.

// Subscribe registers fn, called with kind "grant" or "token" and the id
// after every revocation has been committed. fn runs synchronously in the
// revoking goroutine, so when RevokeGrant returns every cache has been told;
// it must be quick and must not block. The returned func unregisters fn: a
// Caddy config reload provisions a new cache against the same shared Store,
// and the old cache's callback must not stay registered forever.
func (s *Store) Subscribe(fn func(kind, id string)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// notify calls the subscribers outside the lock, so a callback may itself
// subscribe or read the store.
func (s *Store) notify(kind string, ids ...string) {
	s.mu.Lock()
	fns := make([]func(kind, id string), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, id := range ids {
		for _, fn := range fns {
			fn(kind, id)
		}
	}
}
