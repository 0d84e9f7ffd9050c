package gate

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

// wrkResult is what one wrk run reported.
type wrkResult struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int64
	Non2xx   int64 // "Non-2xx or 3xx responses"
	SockErrs string
	Raw      string
	CPU      benchkit.CPUUse // CPU time spent during the run
	Repeats  int             // runs discarded before this one for foreign load
	// RedisCmds are the commands Redis processed during the run (with
	// -redis), from every client: the Redis Caddy's gate and its
	// background work.
	RedisCmds benchkit.CommandStats
}

type wrkConfig struct {
	Bin                string
	Threads, Conns     int
	Duration, Timeout  time.Duration
	AuthorizationValue string
	Procs              benchkit.Procs  // whose CPU time is accounted
	Redis              *benchkit.Redis // whose commands are counted (nil: none)
}

// with is cfg sending token as the bearer.
func (cfg wrkConfig) with(token string) wrkConfig {
	cfg.AuthorizationValue = "Bearer " + token
	return cfg
}

// runWrk runs wrk once against url and parses its report.
func runWrk(ctx context.Context, cfg wrkConfig, url string, d time.Duration) (*wrkResult, error) {
	args := []string{
		"-t" + strconv.Itoa(cfg.Threads),
		"-c" + strconv.Itoa(cfg.Conns),
		"-d" + wrkDuration(d),
		"--timeout", wrkDuration(cfg.Timeout),
		"--latency",
	}
	if cfg.AuthorizationValue != "" {
		args = append(args, "-H", "Authorization: "+cfg.AuthorizationValue)
	}
	args = append(args, url)
	var cmdsBefore benchkit.CommandStats
	if cfg.Redis != nil {
		var err error
		if cmdsBefore, err = cfg.Redis.CommandStats(); err != nil {
			return nil, err
		}
	}
	before, start := benchkit.TakeCPU(cfg.Procs), time.Now()
	cmd := exec.CommandContext(ctx, cfg.Bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	wrkCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	cpu := benchkit.TakeCPU(cfg.Procs).Since(before, wrkCPU, time.Since(start))
	res, err := parseWrk(string(out))
	if err != nil {
		return nil, err
	}
	res.CPU = cpu
	if cfg.Redis != nil {
		after, err := cfg.Redis.CommandStats()
		if err != nil {
			return nil, err
		}
		res.RedisCmds = after.Sub(cmdsBefore)
	}
	return res, nil
}

// Usage and SetRepeats make a run benchkit.Measured.
func (r *wrkResult) Usage() benchkit.CPUUse { return r.CPU }
func (r *wrkResult) SetRepeats(n int)       { r.Repeats = n }

// caddyPerReq is the measured Caddy's CPU time per request, in µs.
func (r *wrkResult) caddyPerReq() float64 {
	return benchkit.PerReq(r.CPU.Caddy, r.Requests)
}

// allPerReq is the CPU time per request of Caddy, the upstream (this
// process), Redis and wrk together, in µs.
func (r *wrkResult) allPerReq() float64 {
	return benchkit.PerReq(r.CPU.Caddy+r.CPU.Self+r.CPU.Redis+r.CPU.Load, r.Requests)
}

// foreignShare is the CPU time other processes used during the run, as a
// share of the whole machine.
func (r *wrkResult) foreignShare() float64 { return r.CPU.ForeignShare() }

// redisPerReq is the number of Redis commands per request during the run.
func (r *wrkResult) redisPerReq() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.RedisCmds.Total()) / float64(r.Requests)
}

// wrkDuration writes d as wrk reads it: an integer with a unit.
func wrkDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reP50      = regexp.MustCompile(`(?m)^\s+50%\s+(\S+)`)
	reP99      = regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`)
	reRequests = regexp.MustCompile(`(?m)^\s+(\d+) requests in `)
	reNon2xx   = regexp.MustCompile(`(?m)^\s+Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr  = regexp.MustCompile(`(?m)^\s+Socket errors:\s+(.*)$`)
)

// parseWrk reads wrk 4's text report (with --latency).
func parseWrk(out string) (*wrkResult, error) {
	res := &wrkResult{Raw: out}
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	res.RPS, _ = strconv.ParseFloat(m[1], 64)
	var err error
	if res.P50, err = wrkLatency(reP50, out); err != nil {
		return nil, err
	}
	if res.P99, err = wrkLatency(reP99, out); err != nil {
		return nil, err
	}
	if m = reRequests.FindStringSubmatch(out); m != nil {
		res.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m = reNon2xx.FindStringSubmatch(out); m != nil {
		res.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
		if res.Non2xx == 0 {
			res.Non2xx = -1 // the line is there: treat as failure all the same
		}
	}
	if m = reSockErr.FindStringSubmatch(out); m != nil {
		res.SockErrs = strings.TrimSpace(m[1])
	}
	return res, nil
}

// wrkLatency parses wrk's latency format: 271.00us, 1.23ms, 2.00s, 1.00m.
func wrkLatency(re *regexp.Regexp, out string) (time.Duration, error) {
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.New("no latency distribution in wrk output (was --latency given?)")
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return 0, fmt.Errorf("wrk latency %q: %v", m[1], err)
	}
	return d, nil
}

// failure tells why a run whose every request should have succeeded did not.
func (r *wrkResult) failure() string {
	var why []string
	if r.Non2xx != 0 {
		n := r.Non2xx
		if n < 0 {
			n = 0
		}
		why = append(why, fmt.Sprintf("Non-2xx or 3xx responses: %d", n))
	}
	if r.SockErrs != "" {
		why = append(why, "Socket errors: "+r.SockErrs)
	}
	if r.Requests == 0 {
		why = append(why, "no requests completed")
	}
	return strings.Join(why, "; ")
}
