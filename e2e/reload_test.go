package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReloadUnderTraffic_CA02: `caddy reload` while clients keep calling
// the server. Caddy provisions the new config before it stops the old one,
// so the embedded store must be shared across the two (a second bbolt
// open would block on the file lock). No request may fail, and tokens,
// refresh tokens and a consent flow opened before the reload keep working.
func TestReloadUnderTraffic_CA02(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{Admin: true})
	c := e.newClient(basic)
	_, tok := e.fullFlow(c)
	b := e.newBrowser()
	pending := b.openConsent(newAuthReq(c)) // an in-flight consent page

	var stop atomic.Bool
	var failures atomic.Int64
	var requests atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r, err := e.try(e.api, mustRequest(http.MethodGet, e.url("/.well-known/oauth-authorization-server")))
				requests.Add(1)
				if err != nil || r.Status != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	// Traffic flows before the first reload and goes on after the last
	// one, while the old servers shut down.
	waitFor(t, 10*time.Second, "traffic before the reloads", func() bool { return requests.Load() >= 40 })
	for i := 0; i < 3; i++ {
		e.caddy.reload()
	}
	after := requests.Load()
	waitFor(t, 10*time.Second, "traffic after the reloads", func() bool { return requests.Load() >= after+40 })
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during the reloads", n, requests.Load())
	}
	if !e.active(c, tok.Access) {
		t.Error("an access token issued before the reload is no longer active")
	}
	next := e.parseTokens(e.refresh(c, tok.Refresh, nil))
	if next.Access == "" || !e.active(c, next.Access) {
		t.Error("a refresh token issued before the reload no longer refreshes")
	}
	r := b.submit(pending, "approve", nil)
	wantStatus(t, "consent opened before the reload, approved after", r, http.StatusSeeOther, "")
}

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}
