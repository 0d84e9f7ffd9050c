package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
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
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 3; i++ {
		out, err := exec.Command(caddyBin, "reload", "--config", filepath.Join(e.caddy.home, "Caddyfile"),
			"--adapter", "caddyfile", "--address", e.caddy.admin, "--force").CombinedOutput()
		if err != nil {
			t.Fatalf("caddy reload: %v\n%s", err, out)
		}
	}
	time.Sleep(200 * time.Millisecond)
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
