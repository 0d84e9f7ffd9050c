package cimd

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCoalesceAndPerHostBound: lookups of one URL share a fetch; a fifth
// distinct URL on a host with four in flight fails at once; another host
// is not held up.
func TestCoalesceAndPerHostBound(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if strings.HasPrefix(r.Host, "app.example.com:") {
			<-release
		}
		serveDoc("")(w, r)
	})
	res, _ := testResolver(t, srv, nil)
	ctx := t.Context()
	errs := make(chan error, 16)
	for i := range 4 {
		for range 3 {
			go func() {
				_, err := res.Lookup(ctx, srv.id("app.example.com", "/c"+strconv.Itoa(i)))
				errs <- err
			}()
		}
	}
	for range 4 {
		<-arrived
	}
	wantBusy(t, mustFail(res.Lookup(ctx, srv.id("app.example.com", "/c4"))), time.Second)
	if _, err := res.Lookup(ctx, srv.id("other.example.com", "/c")); err != nil {
		t.Fatalf("other host: %v", err)
	}
	close(release)
	for range 12 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.hits.Load(); got != 5 {
		t.Fatalf("%d fetches, want 4 coalesced + 1", got)
	}
}

// TestCallerGivesUp: a caller whose context ends stops waiting with a
// timeout; the shared fetch goes on and serves the others.
func TestCallerGivesUp(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		serveDoc("")(w, r)
	})
	res, _ := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := res.Lookup(ctx, id); done <- err }()
	<-arrived
	other := make(chan error)
	go func() { _, err := res.Lookup(t.Context(), id); other <- err }()
	cancel()
	wantKind(t, <-done, KindTimeout)
	close(release)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("%d fetches", srv.hits.Load())
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	var ok atomic.Bool
	srv := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !ok.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		serveDoc("")(w, r)
	})
	res, clk := testResolver(t, srv, nil)
	id := srv.id("app.example.com", "/c")
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindFetch)
	// Another URL on the same host, from anyone: held back too.
	wantBusy(t, mustFail(res.Lookup(t.Context(), srv.id("app.example.com", "/d"))), time.Second)
	clk.Add(time.Second)
	wantKind(t, mustFail(res.Lookup(t.Context(), id)), KindFetch)
	clk.Add(time.Second)
	wantBusy(t, mustFail(res.Lookup(t.Context(), id)), time.Second)
	if srv.hits.Load() != 2 {
		t.Fatalf("%d fetches during the backoff", srv.hits.Load())
	}
	clk.Add(time.Second)
	ok.Store(true)
	if _, err := res.Lookup(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := res.Lookup(t.Context(), srv.id("app.example.com", "/d")); err != nil {
		t.Fatalf("after a success: %v", err)
	}
}
