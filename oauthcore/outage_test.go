package oauthcore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// flakyStore fails the grant and client lookups as a storage outage would.
type flakyStore struct {
	oauthcore.Store
	down bool
}

var errDown = errors.New("connection refused")

func (f *flakyStore) GrantByRefresh(ctx context.Context, h string) (*oauthcore.Grant, error) {
	if f.down {
		return nil, errDown
	}
	return f.Store.GrantByRefresh(ctx, h)
}

func (f *flakyStore) GetClient(ctx context.Context, id string) (*oauthcore.Client, error) {
	if f.down {
		return nil, errDown
	}
	return f.Store.GetClient(ctx, id)
}

// TestStorageOutageIsNotInvalidGrant covers RT-09 (and the rule behind
// RD-03): clients throw credentials away on invalid_grant, so a storage
// failure must be 503 temporarily_unavailable with Retry-After.
func TestStorageOutageIsNotInvalidGrant(t *testing.T) {
	base := newServer(t, nil)
	fs := &flakyStore{Store: base.Store()}
	cfg := base.Config()
	s, err := oauthcore.NewServer(cfg, fs, oauthcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewRecorder()
	rr := httptest.NewRequest("POST", "/register", strings.NewReader(
		`{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`))
	rr.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(reg, rr)
	var c struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(reg.Body.Bytes(), &c); err != nil || c.ClientID == "" {
		t.Fatalf("register: %d %s", reg.Code, reg.Body)
	}
	for _, failing := range []string{"grant lookup", "client lookup"} {
		t.Run(failing, func(t *testing.T) {
			fs.down = true
			defer func() { fs.down = false }()
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"anything"}, "client_id": {c.ClientID}}
			r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "temporarily_unavailable") ||
				w.Header().Get("Retry-After") == "" {
				t.Fatalf("outage answered %d %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"))
			}
			if strings.Contains(w.Body.String(), errDown.Error()) {
				t.Fatal("the storage error leaked to the client (LG-03)")
			}
		})
	}
}

// countingStore counts the revocation lookups the verifier makes.
type countingStore struct {
	oauthcore.Store
	lookups int
}

func (c *countingStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	c.lookups++
	return c.Store.TokenRevoked(ctx, jti)
}

func (c *countingStore) GrantRevoked(ctx context.Context, id string) (bool, error) {
	c.lookups++
	return c.Store.GrantRevoked(ctx, id)
}

// TestGarbageTouchesNoStore covers JW-10 and JW-02: the signature is
// verified before any storage lookup, so random bearers, forged tokens and
// unknown kids cost no I/O; a valid token costs one check, then none.
func TestGarbageTouchesNoStore(t *testing.T) {
	base := newServer(t, nil)
	cs := &countingStore{Store: base.Store()}
	s, err := oauthcore.NewServer(base.Config(), cs, oauthcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := s.NewGate(resource, nil, true)
	for i := 0; i < 10000; i++ {
		checkPath(s, g, "Bearer "+fmt.Sprintf("eyJhbGciOiJFUzI1NiJ9.%d.%x", i, i*7919), "/github")
	}
	forged, _ := mint(t, newServer(t, nil), nil) // another server's key: an unknown kid here
	checkPath(s, g, "Bearer "+forged, "/github")
	if cs.lookups != 0 {
		t.Fatalf("%d storage lookups for tokens that fail their signature", cs.lookups)
	}
	good, _ := mint(t, s, nil)
	checkPath(s, g, "Bearer "+good, "/github")
	after := cs.lookups
	for i := 0; i < 100; i++ {
		checkPath(s, g, "Bearer "+good, "/github")
	}
	if after == 0 || cs.lookups != after {
		t.Fatalf("a valid token: %d lookups at first use, %d more on 100 repeats; want some, then none", after, cs.lookups-after)
	}
}
