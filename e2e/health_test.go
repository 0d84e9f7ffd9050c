package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/redistest"
)

// TestHealthzBolt: the embedded store is healthy as soon as Caddy serves.
func TestHealthzBolt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, caddyConfig{})
	r := e.get(e.api, "/healthz")
	if r.Status != http.StatusOK || r.Body != `{"status":"ok"}` {
		t.Fatalf("/healthz on bolt: %s", r)
	}
}

// TestHealthzRedisPause: /healthz is 200 on Redis, 503 within a second of
// Redis pausing (SIGSTOP: connections open, no answers), and 200 again
// once it resumes.
func TestHealthzRedisPause(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	e := newEnv(t, caddyConfig{Extra: []string{redisStorage(redis)}})
	if r := e.get(e.api, "/healthz"); r.Status != http.StatusOK || r.Body != `{"status":"ok"}` {
		t.Fatalf("/healthz on Redis: %s", r)
	}
	redis.Pause()
	t.Cleanup(redis.Resume)
	paused := time.Now()
	var last *response
	err := caddyproc.Poll(t.Context(), time.Second, func() (bool, error) {
		last = e.get(e.api, "/healthz")
		return last.Status == http.StatusServiceUnavailable, nil
	})
	if err != nil {
		t.Fatalf("/healthz did not turn 503 within a second of Redis pausing: %v: %s", err, last)
	}
	if d := time.Since(paused); d > time.Second {
		t.Fatalf("/healthz answered 503 only %v after Redis paused", d)
	} else {
		t.Logf("503 %v after the pause: %s", d.Round(time.Millisecond), last.Body)
	}
	if got := last.json(t)["reason"]; got == nil || got == "" {
		t.Errorf("503 without a reason: %s", last)
	}
	redis.Resume()
	err = caddyproc.Poll(t.Context(), 10*time.Second, func() (bool, error) {
		last = e.get(e.api, "/healthz")
		return last.Status == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("/healthz did not recover after Redis resumed: %v: %s", err, last)
	}
}
