package memstore

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// Store is an in-memory oauthcore.Store. Its methods are safe for
// concurrent use; each one runs under a single mutex, which is what makes
// every check-and-set (code consumption, flow completion, grant rotation,
// key rotation) atomic.
type Store struct {
	// Revocations are announced in-process: nothing else shares the maps.
	oauthcore.Announcer

	now func() time.Time

	mu            sync.Mutex
	clients       map[string]*oauthcore.Client
	flows         map[string]*oauthcore.Flow
	codes         map[string]*oauthcore.AuthCode // a tombstone once Used
	grants        map[string]*oauthcore.Grant    // not revoked (maybe expired)
	refresh       map[string]string              // refresh hash -> grant id, every generation
	revokedGrants map[string]time.Time           // grant id -> end of its tombstone
	revokedTokens map[string]time.Time           // jti -> end
	consent       map[string]time.Time           // hash -> end
	documents     map[string]*cimd.Entry         // client_id URL -> fetched document
	keys          *oauthcore.KeySet
}

// New returns an empty store judging expiry by now (time.Now when nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now,
		clients: map[string]*oauthcore.Client{}, flows: map[string]*oauthcore.Flow{},
		codes: map[string]*oauthcore.AuthCode{}, grants: map[string]*oauthcore.Grant{},
		refresh: map[string]string{}, revokedGrants: map[string]time.Time{},
		revokedTokens: map[string]time.Time{}, consent: map[string]time.Time{},
		documents: map[string]*cimd.Entry{}}
}

// unknownRevocationTTL is how long a revoked id that had no grant stays
// blocked, as in the real stores: far longer than a code lives, so a code
// replay that overtakes the first redemption makes its CreateGrant fail.
const unknownRevocationTTL = time.Hour

var (
	errBadID         = errors.New("memstore: empty id")
	errClientChanged = errors.New("memstore: grant client id cannot change")
)

// lock takes the mutex unless the request is already over (a cancelled
// request fails as an outage would, as with the real stores).
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	return nil
}

// expired reports whether a record ending at t is gone. Zero means never.
func (s *Store) expired(t time.Time) bool { return !t.IsZero() && !s.now().Before(t) }

// clone deep-copies a record through its JSON form, so callers never share
// memory with the store (and times lose their monotonic reading, as they
// do in a real store).
func clone[T any](v *T) *T {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("memstore: " + err.Error())
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		panic("memstore: " + err.Error())
	}
	return out
}

// Dump returns everything stored, keys included, as JSON (storetest.Dumper).
func (s *Store) Dump() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(map[string]any{
		"clients": s.clients, "flows": s.flows, "codes": s.codes, "grants": s.grants,
		"refresh": s.refresh, "revoked_grants": s.revokedGrants, "revoked_tokens": s.revokedTokens,
		"consent": s.consent, "keys": s.keys, "documents": s.documents,
	})
}

// CreateClient stores a new client; an id in use is ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c *oauthcore.Client) error {
	if c.ID == "" {
		return errBadID
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return oauthcore.ErrConflict
	}
	s.clients[c.ID] = clone(c)
	return nil
}

// GetClient returns a live client (see liveClient).
func (s *Store) GetClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c, err := s.liveClient(id)
	if err != nil {
		return nil, err
	}
	return clone(c), nil
}

// UpdateClient replaces a live client.
func (s *Store) UpdateClient(ctx context.Context, c *oauthcore.Client) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, err := s.liveClient(c.ID); err != nil {
		return err
	}
	s.clients[c.ID] = clone(c)
	return nil
}

// DeleteClient removes a stored client and revokes every grant of it, in
// one step. An id never stored is ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	if _, ok := s.clients[id]; !ok {
		s.mu.Unlock()
		return oauthcore.ErrNotFound
	}
	delete(s.clients, id)
	var revoked []string
	for gid, g := range s.grants {
		if g.ClientID == id {
			s.revokeLocked(gid)
			revoked = append(revoked, gid)
		}
	}
	s.mu.Unlock()
	s.Announce("grant", revoked...)
	return nil
}

// liveClient is a stored client that is unexpired or still backs a live
// grant: a registration never dies under a valid refresh token.
func (s *Store) liveClient(id string) (*oauthcore.Client, error) {
	c, ok := s.clients[id]
	if !ok || (s.expired(c.ExpiresAt) && !s.hasLiveGrant(id)) {
		return nil, oauthcore.ErrNotFound
	}
	return c, nil
}

func (s *Store) hasLiveGrant(clientID string) bool {
	for _, g := range s.grants {
		if g.ClientID == clientID && !s.expired(g.ExpiresAt) {
			return true
		}
	}
	return false
}

// PutFlow stores a pending browser flow under the hash of its handle.
func (s *Store) PutFlow(ctx context.Context, hash string, f *oauthcore.Flow) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.flows[hash] = clone(f)
	return nil
}

// GetFlow reads a live flow without consuming it.
func (s *Store) GetFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	f, ok := s.flows[hash]
	if !ok || s.expired(f.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	return clone(f), nil
}

// TakeFlow reads and deletes a live flow in one step.
func (s *Store) TakeFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	f, ok := s.flows[hash]
	if !ok || s.expired(f.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	delete(s.flows, hash)
	return clone(f), nil
}

// PutCode stores a new code. A hash already live (code or tombstone) is
// ErrConflict: overwriting a tombstone would reopen replay.
func (s *Store) PutCode(ctx context.Context, hash string, c *oauthcore.AuthCode) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if old, ok := s.codes[hash]; ok && !s.expired(old.ExpiresAt) {
		return oauthcore.ErrConflict
	}
	s.codes[hash] = clone(c)
	return nil
}

// PeekCode reads an unused code; a used one is ErrCodeUsed with its
// tombstone.
func (s *Store) PeekCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c, err := s.liveCode(hash)
	if c == nil {
		return nil, err
	}
	return clone(c), err
}

// ConsumeCode marks a live code used and returns it; a used one is
// ErrCodeUsed with its tombstone.
func (s *Store) ConsumeCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c, err := s.liveCode(hash)
	if err != nil {
		if c == nil {
			return nil, err
		}
		return clone(c), err
	}
	c.Used = true
	return clone(c), nil
}

// SetCodeGrant records on a live code or tombstone the grant it produced.
func (s *Store) SetCodeGrant(ctx context.Context, hash, grantID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c, _ := s.liveCode(hash)
	if c == nil {
		return oauthcore.ErrNotFound
	}
	c.GrantID = grantID
	return nil
}

// liveCode returns the stored unexpired code, with ErrCodeUsed when it is a
// tombstone, or nil and ErrNotFound.
func (s *Store) liveCode(hash string) (*oauthcore.AuthCode, error) {
	c, ok := s.codes[hash]
	if !ok || s.expired(c.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	if c.Used {
		return c, oauthcore.ErrCodeUsed
	}
	return c, nil
}
