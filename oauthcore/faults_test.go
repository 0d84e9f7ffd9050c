package oauthcore_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// errStoreOutage is what a failing store returns: an outage, with detail a
// client must never see (LG-03).
var errStoreOutage = errors.New("dial tcp 10.9.8.7:6379: connection reset by peer")

// faultStore wraps a store and fails the methods a test names, as an
// outage would (any error but the store sentinels). Part of the harness:
//
//	var fs *faultStore
//	h := newHarness(t, withFaults(&fs))
//	fs.fail("GrantByRefresh")   // every later call of it fails
//	fs.heal()
type faultStore struct {
	oauthcore.Store
	mu      sync.Mutex
	failing map[string]bool
	calls   map[string]int
}

// withFaults makes the harness's store a faultStore and hands it out.
func withFaults(out **faultStore) func(*harnessOptions) {
	return func(o *harnessOptions) {
		o.WrapStore = func(s oauthcore.Store) oauthcore.Store {
			*out = &faultStore{Store: s, failing: map[string]bool{}, calls: map[string]int{}}
			return *out
		}
	}
}

// fail makes the named methods fail from now on.
func (f *faultStore) fail(methods ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range methods {
		f.failing[m] = true
	}
}

// heal makes every method work again.
func (f *faultStore) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.failing)
}

// count is how often the named method was called (failed calls included).
func (f *faultStore) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// down records a call of method and reports whether it must fail.
func (f *faultStore) down(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	return f.failing[method]
}

func (f *faultStore) GetClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	if f.down("GetClient") {
		return nil, errStoreOutage
	}
	return f.Store.GetClient(ctx, id)
}

func (f *faultStore) PutFlow(ctx context.Context, hash string, fl *oauthcore.Flow) error {
	if f.down("PutFlow") {
		return errStoreOutage
	}
	return f.Store.PutFlow(ctx, hash, fl)
}

func (f *faultStore) GetFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	if f.down("GetFlow") {
		return nil, errStoreOutage
	}
	return f.Store.GetFlow(ctx, hash)
}

func (f *faultStore) TakeFlow(ctx context.Context, hash string) (*oauthcore.Flow, error) {
	if f.down("TakeFlow") {
		return nil, errStoreOutage
	}
	return f.Store.TakeFlow(ctx, hash)
}

func (f *faultStore) PutCode(ctx context.Context, hash string, c *oauthcore.AuthCode) error {
	if f.down("PutCode") {
		return errStoreOutage
	}
	return f.Store.PutCode(ctx, hash, c)
}

func (f *faultStore) PeekCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	if f.down("PeekCode") {
		return nil, errStoreOutage
	}
	return f.Store.PeekCode(ctx, hash)
}

func (f *faultStore) ConsumeCode(ctx context.Context, hash string) (*oauthcore.AuthCode, error) {
	if f.down("ConsumeCode") {
		return nil, errStoreOutage
	}
	return f.Store.ConsumeCode(ctx, hash)
}

func (f *faultStore) CreateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if f.down("CreateGrant") {
		return errStoreOutage
	}
	return f.Store.CreateGrant(ctx, g)
}

func (f *faultStore) GrantByRefresh(ctx context.Context, hash string) (*oauthcore.Grant, error) {
	if f.down("GrantByRefresh") {
		return nil, errStoreOutage
	}
	return f.Store.GrantByRefresh(ctx, hash)
}

func (f *faultStore) UpdateGrant(ctx context.Context, g *oauthcore.Grant) error {
	if f.down("UpdateGrant") {
		return errStoreOutage
	}
	return f.Store.UpdateGrant(ctx, g)
}

func (f *faultStore) RevokeGrant(ctx context.Context, id string) error {
	if f.down("RevokeGrant") {
		return errStoreOutage
	}
	return f.Store.RevokeGrant(ctx, id)
}

func (f *faultStore) GrantRevoked(ctx context.Context, id string) (bool, error) {
	if f.down("GrantRevoked") {
		return false, errStoreOutage
	}
	return f.Store.GrantRevoked(ctx, id)
}

func (f *faultStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if f.down("TokenRevoked") {
		return false, errStoreOutage
	}
	return f.Store.TokenRevoked(ctx, jti)
}

func (f *faultStore) PutConsent(ctx context.Context, hash string, end time.Time) error {
	if f.down("PutConsent") {
		return errStoreOutage
	}
	return f.Store.PutConsent(ctx, hash, end)
}

func (f *faultStore) HasConsent(ctx context.Context, hash string) (bool, error) {
	if f.down("HasConsent") {
		return false, errStoreOutage
	}
	return f.Store.HasConsent(ctx, hash)
}
