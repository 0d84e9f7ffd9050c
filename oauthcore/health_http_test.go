package oauthcore_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/oauthcore"
)

// TestHealth: /healthz is 200 {"status":"ok"} while the store answers,
// 503 with a reason (and never the store's own error text) when it fails
// or hangs, or when revocation announcements stop; only GET and HEAD.
func TestHealth(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	h := newHarness(t, withFaults(&fs))
	ok := h.serve(request(http.MethodGet, "/healthz", nil))
	if ok.Status != http.StatusOK || ok.Body != `{"status":"ok"}` || ok.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("healthy: %s (Cache-Control %q)", ok, ok.Header.Get("Cache-Control"))
	}
	if r := h.serve(request(http.MethodHead, "/healthz", nil)); r.Status != http.StatusOK {
		t.Errorf("HEAD: %s", r)
	}
	if r := h.serve(request(http.MethodPost, "/healthz", nil)); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %s, want 405 with Allow", r)
	}
	writes := fs.count("PutConsent") + fs.count("CreateClient") + fs.count("PutFlow")
	fs.fail("HasConsent")
	down := h.serve(request(http.MethodGet, "/healthz", nil))
	if down.Status != http.StatusServiceUnavailable || down.json(t)["reason"] != "the store is unavailable" {
		t.Fatalf("store down: %s", down)
	}
	if strings.Contains(down.Body, "10.9.8.7") {
		t.Errorf("LG-03: the store's error reached the client: %s", down.Body)
	}
	if !strings.Contains(h.logs(), "10.9.8.7") {
		t.Error("the cause was not logged")
	}
	fs.heal()
	if r := h.serve(request(http.MethodGet, "/healthz", nil)); r.Status != http.StatusOK {
		t.Errorf("healed: %s", r)
	}
	if n := fs.count("PutConsent") + fs.count("CreateClient") + fs.count("PutFlow"); n != writes {
		t.Errorf("the health check wrote to the store (%d writes)", n-writes)
	}
}

// hangingStore never answers a Ping until its context ends, and reports
// its announcements as live or not.
type hangingStore struct {
	oauthcore.Store
	hang atomic.Bool
	live atomic.Bool
}

func (s *hangingStore) Ping(ctx context.Context) error {
	if !s.hang.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingStore) NotifierLive() bool { return s.live.Load() }

// TestHealthBounded: a store that hangs is a 503 within the check's
// bound, and a store whose announcements stopped is a 503 too.
func TestHealthBounded(t *testing.T) {
	t.Parallel()
	var hs *hangingStore
	h := newHarness(t, func(o *harnessOptions) {
		o.WrapStore = func(s oauthcore.Store) oauthcore.Store {
			hs = &hangingStore{Store: s}
			hs.live.Store(true)
			return hs
		}
	})
	hs.hang.Store(true)
	start := time.Now()
	r := h.serve(request(http.MethodGet, "/healthz", nil))
	if d := time.Since(start); r.Status != http.StatusServiceUnavailable || d > time.Second {
		t.Fatalf("hanging store: %s after %v, want 503 within a second", r, d)
	}
	if !strings.Contains(r.json(t)["reason"].(string), "did not answer in time") {
		t.Errorf("reason: %s", r)
	}
	hs.hang.Store(false)
	hs.live.Store(false)
	r = h.serve(request(http.MethodGet, "/healthz", nil))
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "announcements") {
		t.Errorf("announcements down: %s", r)
	}
}
