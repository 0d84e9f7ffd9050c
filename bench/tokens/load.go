package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
)

// grant is one worker's refresh-token family: its client and the refresh
// token to present next. Only its worker touches it.
type grant struct {
	clientID string
	refresh  string
	dead     bool // refused with a 4xx: the grant may be revoked
}

// loadResult is what one measured run of a variant gave.
type loadResult struct {
	OK       int64 // 200/201 with a well-formed body
	Errors   int64
	Samples  []string // the first few distinct errors
	P50, P99 time.Duration
	RPS      float64 // OK per second of the run
	Wall     time.Duration
	CPU      benchkit.CPUUse
	Redis    benchkit.CommandStats
	Repeats  int // runs discarded before this one for foreign load
	// Growth of the variant's store during the run: keys (Redis only;
	// -1 for bolt) and bytes (Redis used_memory, or the bolt file's size).
	Keys, Bytes int64
}

// Usage and SetRepeats make a run benchkit.Measured.
func (r *loadResult) Usage() benchkit.CPUUse { return r.CPU }
func (r *loadResult) SetRepeats(n int)       { r.Repeats = n }

func (r *loadResult) caddyPerReq() float64 { return benchkit.PerReq(r.CPU.Caddy, r.OK) }
func (r *loadResult) redisCPUPerReq() float64 {
	return benchkit.PerReq(r.CPU.Redis, r.OK)
}

// allPerReq adds this process (the load generator, and the idle fake
// GitHubs) to Caddy and Redis.
func (r *loadResult) allPerReq() float64 {
	return benchkit.PerReq(r.CPU.Caddy+r.CPU.Redis+r.CPU.Self, r.OK)
}

func (r *loadResult) redisPerReq() float64 {
	if r.OK == 0 {
		return 0
	}
	return float64(r.Redis.Total()) / float64(r.OK)
}

// worker is the state of one load goroutine during a run.
type worker struct {
	lat     []time.Duration
	ok      int64
	errs    int64
	samples []string
}

func (w *worker) fail(format string, args ...any) {
	w.errs++
	if len(w.samples) < 3 {
		w.samples = append(w.samples, fmt.Sprintf(format, args...))
	}
}

// newHTTPClient keeps one connection per worker and instance alive.
func newHTTPClient(workers int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: 4 * workers, MaxIdleConnsPerHost: 2 * workers, IdleConnTimeout: 5 * time.Minute,
		DisableCompression: true, ForceAttemptHTTP2: false,
	}}
}

// runLoad runs v for d: every worker sends its next request as soon as
// the previous one is answered (a closed loop), alternating between v's
// instances.
func runLoad(ctx context.Context, v *variant, d time.Duration, workers int, hc *http.Client, procs benchkit.Procs, red *benchkit.Redis) (*loadResult, error) {
	var cmdsBefore benchkit.CommandStats
	if red != nil {
		var err error
		if cmdsBefore, err = red.CommandStats(); err != nil {
			return nil, err
		}
	}
	keys0, bytes0, err := v.usage()
	if err != nil {
		return nil, err
	}
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	before, start := benchkit.TakeCPU(procs), time.Now()
	deadline := start.Add(d)
	for i := range ws {
		w := &worker{lat: make([]time.Duration, 0, 4096)}
		ws[i] = w
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; time.Now().Before(deadline) && ctx.Err() == nil; j++ {
				target := v.Targets[(i+j)%len(v.Targets)]
				switch v.Kind {
				case kindRefresh:
					g := v.Grants[i]
					if g.dead {
						return
					}
					refreshOnce(hc, w, target.origin(), g)
				case kindRegister:
					registerOnce(hc, w, target.origin())
				}
			}
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	res := &loadResult{Wall: wall, CPU: benchkit.TakeCPU(procs).Since(before, 0, wall)}
	if red != nil {
		after, err := red.CommandStats()
		if err != nil {
			return nil, err
		}
		res.Redis = after.Sub(cmdsBefore)
	}
	keys1, bytes1, err := v.usage()
	if err != nil {
		return nil, err
	}
	res.Keys, res.Bytes = keys1-keys0, bytes1-bytes0
	if keys0 < 0 {
		res.Keys = -1
	}
	var lat []time.Duration
	for _, w := range ws {
		res.OK += w.ok
		res.Errors += w.errs
		lat = append(lat, w.lat...)
		for _, s := range w.samples {
			if len(res.Samples) < 5 && !slices.Contains(res.Samples, s) {
				res.Samples = append(res.Samples, s)
			}
		}
	}
	res.P50, res.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	res.RPS = float64(res.OK) / wall.Seconds()
	return res, ctx.Err()
}

// percentile is the q-quantile of xs (nearest rank); it sorts xs.
func percentile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(q*float64(len(xs))+0.5) - 1
	i = min(max(i, 0), len(xs)-1)
	return xs[i]
}

// post sends one request and reads the whole answer; the latency covers
// both.
func post(hc *http.Client, w *worker, url, contentType string, body []byte) (int, []byte, bool) {
	start := time.Now()
	resp, err := hc.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		w.fail("POST %s: %v", url, err)
		return 0, nil, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	w.lat = append(w.lat, time.Since(start))
	if err != nil {
		w.fail("POST %s: reading the body: %v", url, err)
		return 0, nil, false
	}
	return resp.StatusCode, b, true
}

// refreshOnce presents g's current refresh token and keeps the new one.
// A token is never presented again once a response has rotated it: past
// the grace window that revokes the whole grant, by design. After a
// transport error or a 5xx the same token is presented again, which the
// grace window answers with the same successor if the rotation happened.
func refreshOnce(hc *http.Client, w *worker, origin string, g *grant) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.refresh}, "client_id": {g.clientID}}
	status, body, ok := post(hc, w, origin+"/token", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if !ok {
		return
	}
	if status != http.StatusOK {
		w.fail("refresh on %s: %d %s", origin, status, snippet(body))
		if status < 500 {
			g.dead = true
		}
		return
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
		w.fail("refresh on %s: 200 without access_token, refresh_token or token_type Bearer: %s", origin, snippet(body))
		g.dead = true
		return
	}
	if tr.RefreshToken == g.refresh {
		w.fail("refresh on %s: the refresh token was not rotated", origin)
		g.dead = true
		return
	}
	g.refresh = tr.RefreshToken
	w.ok++
}

var registration = login.RegistrationBody("tokenbench")

// registerOnce registers a public client.
func registerOnce(hc *http.Client, w *worker, origin string) {
	status, body, ok := post(hc, w, origin+"/register", "application/json", registration)
	if !ok {
		return
	}
	if status != http.StatusCreated {
		w.fail("register on %s: %d %s", origin, status, snippet(body))
		return
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &reg); err != nil || reg.ClientID == "" {
		w.fail("register on %s: 201 without client_id: %s", origin, snippet(body))
		return
	}
	w.ok++
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
