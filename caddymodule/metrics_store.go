package caddymodule

import (
	"context"
	"errors"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/cimd"
	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// measuredStore times every store call into mcp_oauth_store_duration_seconds
// and counts its failures into mcp_oauth_store_errors_total, labelled by
// the store module (bolt, redis) and the operation. A missing record, a
// lost race and a used code are answers, not errors. The optional
// interfaces the server looks for are forwarded (NotifierLive: true, and
// documents: never cached, when the store has none).
type measuredStore struct {
	oauthcore.Store
	name string
	live oauthcore.NotifierHealth // nil: announcements cannot be lost
}

// Unwrap is the measured store, whose other abilities (locks, rate
// counters) the server finds through it; those calls are not timed.
func (s *measuredStore) Unwrap() oauthcore.Store { return s.Store }

func measure(st oauthcore.Store, name string) *measuredStore {
	live, _ := st.(oauthcore.NotifierHealth)
	return &measuredStore{Store: st, name: name, live: live}
}

// done records one call that started at start; defer it with the named
// error result.
func (s *measuredStore) done(op string, start time.Time, err *error) {
	metrics.storeDuration.WithLabelValues(s.name, op).Observe(time.Since(start).Seconds())
	if e := *err; e != nil && !errors.Is(e, oauthcore.ErrNotFound) && !errors.Is(e, oauthcore.ErrConflict) &&
		!errors.Is(e, oauthcore.ErrCodeUsed) {
		metrics.storeErrors.WithLabelValues(s.name, op).Inc()
	}
}

func (s *measuredStore) CreateClient(ctx context.Context, c *oauthcore.Client) (err error) {
	defer s.done("create_client", time.Now(), &err)
	return s.Store.CreateClient(ctx, c)
}

func (s *measuredStore) GetClient(ctx context.Context, id string) (c *oauthcore.Client, err error) {
	defer s.done("get_client", time.Now(), &err)
	return s.Store.GetClient(ctx, id)
}

func (s *measuredStore) UpdateClient(ctx context.Context, c *oauthcore.Client) (err error) {
	defer s.done("update_client", time.Now(), &err)
	return s.Store.UpdateClient(ctx, c)
}

func (s *measuredStore) DeleteClient(ctx context.Context, id string) (err error) {
	defer s.done("delete_client", time.Now(), &err)
	return s.Store.DeleteClient(ctx, id)
}

func (s *measuredStore) PutFlow(ctx context.Context, hash string, f *oauthcore.Flow) (err error) {
	defer s.done("put_flow", time.Now(), &err)
	return s.Store.PutFlow(ctx, hash, f)
}

func (s *measuredStore) TakeFlow(ctx context.Context, hash string) (f *oauthcore.Flow, err error) {
	defer s.done("take_flow", time.Now(), &err)
	return s.Store.TakeFlow(ctx, hash)
}

func (s *measuredStore) GetFlow(ctx context.Context, hash string) (f *oauthcore.Flow, err error) {
	defer s.done("get_flow", time.Now(), &err)
	return s.Store.GetFlow(ctx, hash)
}

func (s *measuredStore) PutCode(ctx context.Context, hash string, c *oauthcore.AuthCode) (err error) {
	defer s.done("put_code", time.Now(), &err)
	return s.Store.PutCode(ctx, hash, c)
}

func (s *measuredStore) PeekCode(ctx context.Context, hash string) (c *oauthcore.AuthCode, err error) {
	defer s.done("peek_code", time.Now(), &err)
	return s.Store.PeekCode(ctx, hash)
}

func (s *measuredStore) ConsumeCode(ctx context.Context, hash string) (c *oauthcore.AuthCode, err error) {
	defer s.done("consume_code", time.Now(), &err)
	return s.Store.ConsumeCode(ctx, hash)
}

func (s *measuredStore) SetCodeGrant(ctx context.Context, hash, grantID string) (err error) {
	defer s.done("set_code_grant", time.Now(), &err)
	return s.Store.SetCodeGrant(ctx, hash, grantID)
}

func (s *measuredStore) CreateGrant(ctx context.Context, g *oauthcore.Grant) (err error) {
	defer s.done("create_grant", time.Now(), &err)
	return s.Store.CreateGrant(ctx, g)
}

func (s *measuredStore) GrantByRefresh(ctx context.Context, hash string) (g *oauthcore.Grant, err error) {
	defer s.done("grant_by_refresh", time.Now(), &err)
	return s.Store.GrantByRefresh(ctx, hash)
}

func (s *measuredStore) UpdateGrant(ctx context.Context, g *oauthcore.Grant) (err error) {
	defer s.done("update_grant", time.Now(), &err)
	return s.Store.UpdateGrant(ctx, g)
}

func (s *measuredStore) RevokeGrant(ctx context.Context, id string) (err error) {
	defer s.done("revoke_grant", time.Now(), &err)
	return s.Store.RevokeGrant(ctx, id)
}

func (s *measuredStore) GrantRevoked(ctx context.Context, id string) (ok bool, err error) {
	defer s.done("grant_revoked", time.Now(), &err)
	return s.Store.GrantRevoked(ctx, id)
}

func (s *measuredStore) RevokeToken(ctx context.Context, jti string, exp time.Time) (err error) {
	defer s.done("revoke_token", time.Now(), &err)
	return s.Store.RevokeToken(ctx, jti, exp)
}

func (s *measuredStore) TokenRevoked(ctx context.Context, jti string) (ok bool, err error) {
	defer s.done("token_revoked", time.Now(), &err)
	return s.Store.TokenRevoked(ctx, jti)
}

func (s *measuredStore) PutConsent(ctx context.Context, hash string, exp time.Time) (err error) {
	defer s.done("put_consent", time.Now(), &err)
	return s.Store.PutConsent(ctx, hash, exp)
}

func (s *measuredStore) HasConsent(ctx context.Context, hash string) (ok bool, err error) {
	defer s.done("has_consent", time.Now(), &err)
	return s.Store.HasConsent(ctx, hash)
}

func (s *measuredStore) LoadKeys(ctx context.Context) (ks *oauthcore.KeySet, err error) {
	defer s.done("load_keys", time.Now(), &err)
	return s.Store.LoadKeys(ctx)
}

func (s *measuredStore) SaveKeys(ctx context.Context, ks *oauthcore.KeySet) (err error) {
	defer s.done("save_keys", time.Now(), &err)
	return s.Store.SaveKeys(ctx, ks)
}

func (s *measuredStore) GetDocument(ctx context.Context, clientID string) (e *cimd.Entry, err error) {
	ds, ok := s.Store.(oauthcore.DocumentStore)
	if !ok {
		return nil, oauthcore.ErrNotFound
	}
	defer s.done("get_document", time.Now(), &err)
	return ds.GetDocument(ctx, clientID)
}

func (s *measuredStore) PutDocument(ctx context.Context, clientID string, e *cimd.Entry) (err error) {
	ds, ok := s.Store.(oauthcore.DocumentStore)
	if !ok {
		return nil
	}
	defer s.done("put_document", time.Now(), &err)
	return ds.PutDocument(ctx, clientID, e)
}

func (s *measuredStore) Ping(ctx context.Context) (err error) {
	defer s.done("ping", time.Now(), &err)
	if p, ok := s.Store.(oauthcore.Pinger); ok {
		return p.Ping(ctx)
	}
	_, err = s.Store.HasConsent(ctx, "healthz")
	return err
}

// NotifierLive is the store's, or true for a store whose announcements
// cannot be lost.
func (s *measuredStore) NotifierLive() bool {
	return s.live == nil || s.live.NotifierLive()
}

// Interface guards
var (
	_ oauthcore.Store          = (*measuredStore)(nil)
	_ oauthcore.DocumentStore  = (*measuredStore)(nil)
	_ oauthcore.Pinger         = (*measuredStore)(nil)
	_ oauthcore.NotifierHealth = (*measuredStore)(nil)
	_ oauthcore.StoreWrapper   = (*measuredStore)(nil)
)
