package memstore

import (
	"context"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// CreateGrant stores a new grant and indexes its refresh hashes. An id in
// use, or revoked (even before it existed), is ErrConflict.
func (s *Store) CreateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if g.ID == "" || g.ClientID == "" {
		return errBadID
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.grants[g.ID]; ok || s.revokedLocked(g.ID) {
		return oauthcore.ErrConflict
	}
	return s.putGrantLocked(g)
}

// GetGrant returns a live grant.
func (s *Store) GetGrant(ctx context.Context, id string) (*oauthcore.Grant, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g, err := s.liveGrant(id)
	if err != nil {
		return nil, err
	}
	return clone(g), nil
}

// GrantByRefresh finds the live grant any refresh generation belongs to.
func (s *Store) GrantByRefresh(ctx context.Context, hash string) (*oauthcore.Grant, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id, ok := s.refresh[hash]
	if !ok {
		return nil, oauthcore.ErrNotFound
	}
	g, err := s.liveGrant(id)
	if err != nil {
		return nil, err
	}
	return clone(g), nil
}

// UpdateGrant is the compare-and-swap behind rotation: g is stored only if
// the live grant's Version is g.Version-1.
func (s *Store) UpdateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, err := s.liveGrant(g.ID)
	if err != nil {
		return err
	}
	if old.Version != g.Version-1 {
		return oauthcore.ErrConflict
	}
	if old.ClientID != g.ClientID {
		return errClientChanged
	}
	return s.putGrantLocked(g)
}

// RevokeGrant drops the grant with its refresh index and remembers the id
// until the grant would have expired (an hour for an unknown id), then
// announces it. Unknown ids are not an error.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	s.revokeLocked(id)
	s.mu.Unlock()
	s.Announce("grant", id)
	return nil
}

// GrantRevoked is true unless the grant is live.
func (s *Store) GrantRevoked(ctx context.Context, id string) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return true, err
	}
	defer s.mu.Unlock()
	_, err := s.liveGrant(id)
	return err != nil, nil
}

func (s *Store) liveGrant(id string) (*oauthcore.Grant, error) {
	g, ok := s.grants[id]
	if !ok || s.expired(g.ExpiresAt) {
		return nil, oauthcore.ErrNotFound
	}
	return g, nil
}

// putGrantLocked stores g and indexes its current and previous refresh
// hashes. A hash already indexed for another grant would merge two
// families: ErrConflict, and nothing is changed.
func (s *Store) putGrantLocked(g *oauthcore.Grant) error {
	hashes := []string{g.RefreshHash, g.PrevRefreshHash}
	for _, h := range hashes {
		if id, ok := s.refresh[h]; ok && h != "" && id != g.ID {
			return oauthcore.ErrConflict
		}
	}
	for _, h := range hashes {
		if h != "" {
			s.refresh[h] = g.ID
		}
	}
	s.grants[g.ID] = clone(g)
	return nil
}

// revokeLocked drops a stored grant (expired or not) and every refresh
// hash indexed for it, and leaves a tombstone.
func (s *Store) revokeLocked(id string) {
	end := s.now().Add(unknownRevocationTTL)
	if g, ok := s.grants[id]; ok {
		end = g.ExpiresAt
		delete(s.grants, id)
		for h, gid := range s.refresh {
			if gid == id {
				delete(s.refresh, h)
			}
		}
	}
	if s.expired(end) {
		return
	}
	// Never shorten a tombstone already there.
	if old, ok := s.revokedGrants[id]; ok && !s.expired(old) && (old.IsZero() || (!end.IsZero() && !old.Before(end))) {
		return
	}
	s.revokedGrants[id] = end
}

func (s *Store) revokedLocked(id string) bool {
	end, ok := s.revokedGrants[id]
	return ok && !s.expired(end)
}

// RevokeToken denies an access-token id until expiresAt, and announces it.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if err := s.putUntil(ctx, s.revokedTokens, jti, expiresAt); err != nil {
		return err
	}
	s.Announce("token", jti)
	return nil
}

// TokenRevoked reports whether jti is denied.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.has(ctx, s.revokedTokens, jti)
}

// PutConsent remembers an approval until expiresAt.
func (s *Store) PutConsent(ctx context.Context, hash string, expiresAt time.Time) error {
	return s.putUntil(ctx, s.consent, hash, expiresAt)
}

// HasConsent reports whether an unexpired approval is remembered.
func (s *Store) HasConsent(ctx context.Context, hash string) (bool, error) {
	return s.has(ctx, s.consent, hash)
}

// putUntil records key in set until end; an end already past is not
// worth keeping.
func (s *Store) putUntil(ctx context.Context, set map[string]time.Time, key string, end time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if !s.expired(end) {
		set[key] = end
	}
	return nil
}

func (s *Store) has(ctx context.Context, set map[string]time.Time, key string) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	end, ok := set[key]
	return ok && !s.expired(end), nil
}

// LoadKeys returns the signing key set, ErrNotFound before the first save.
func (s *Store) LoadKeys(ctx context.Context) (*oauthcore.KeySet, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.keys == nil {
		return nil, oauthcore.ErrNotFound
	}
	return clone(s.keys), nil
}

// SaveKeys stores ks if the stored version is ks.Version-1 (0: none).
func (s *Store) SaveKeys(ctx context.Context, ks *oauthcore.KeySet) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	stored := 0
	if s.keys != nil {
		stored = s.keys.Version
	}
	if stored != ks.Version-1 {
		return oauthcore.ErrConflict
	}
	s.keys = clone(ks)
	return nil
}
