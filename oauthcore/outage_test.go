package oauthcore_test

import (
	"context"
	"encoding/json"
	"errors"
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
