// Command tokenbench measures the throughput of the token endpoint's
// refresh grant and of dynamic client registration, with the embedded
// store and with Redis, on one instance and on two instances sharing that
// Redis.
//
// It builds the plugin's Caddy, starts a redis-server and three Caddy
// processes on loopback (one on the embedded bolt store; two on the Redis,
// with the same issuer, as behind a load balancer), and gets one grant per
// load worker and store through the real login flow against a fake GitHub.
// A Go load generator then runs the variants interleaved, round after
// round: for the refresh grant every worker presents its grant's current
// refresh token and keeps the rotated one from every response; for
// registration it posts a small public-client registration. Against two
// instances each worker alternates between them.
//
// Run it from the module root:
//
//	go run ./bench/tokenbench [-rounds 3] [-duration 10s] [-workers 32]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	workers     int
	timeout     time.Duration
	caddyBin    string
	outDir      string
	tag         string
	noWrite     bool
	keep        bool
	maxForeign  float64
	retries     int
	quietWait   time.Duration
	only        string
	profile     time.Duration
	profileOnly string
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "measurement rounds; each runs every variant once, interleaved")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "load duration per variant and round")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unreported run per variant before round 1 (0: none)")
	flag.IntVar(&o.workers, "workers", 32, "load goroutines (closed loop, one request at a time each); also the number of grants per store")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.StringVar(&o.caddyBin, "caddy", "", "prebuilt Caddy with the plugin (default: go build ./cmd/caddy)")
	flag.StringVar(&o.outDir, "out", "bench/results", "directory for tokens-<date>.md (relative to the module root)")
	flag.StringVar(&o.tag, "tag", "", "name the results tokens-<date>-<tag>.md instead of tokens-<date>.md")
	flag.BoolVar(&o.noWrite, "no-write", false, "print the report only; do not write the results file")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (Caddyfiles, logs, bolt file, Redis AOF)")
	flag.Float64Var(&o.maxForeign, "max-foreign", 0.10, "share of the machine's CPU other processes may use during a run; a run above it is repeated (0: never repeat)")
	flag.IntVar(&o.retries, "retries", 4, "how often a run disturbed by other processes is repeated before it is kept anyway")
	flag.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "how long to wait before each run for other processes to calm down")
	flag.StringVar(&o.only, "variants", "", "comma-separated variants to measure (default: all)")
	flag.DurationVar(&o.profile, "profile", 0, "after measuring, take a CPU profile of this length per variant through Caddy's admin /debug/pprof (0: off; turns admin on)")
	flag.StringVar(&o.profileOnly, "profile-variants", "", "comma-separated variants to profile (default: all measured)")
	flag.Parse()
	if o.rounds < 1 || o.duration < time.Second || o.workers < 1 {
		fmt.Fprintln(os.Stderr, "tokenbench: need rounds >= 1, duration >= 1s, workers >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenbench:", err)
	}
	os.Exit(code)
}

const (
	kindRefresh  = "refresh"
	kindRegister = "register"
)

// variant is one kind of request against one set of instances.
type variant struct {
	Name    string
	Kind    string // refresh or register
	Store   string // embedded or redis
	Targets []*instance
	Grants  []*grant // refresh: one per worker
	// usage measures the store: keys (-1: not counted) and bytes.
	usage func() (keys, bytes int64, err error)
}

func run(ctx context.Context, o options) (int, error) {
	root, err := benchkit.ModuleRoot()
	if err != nil {
		return 1, err
	}
	work, err := os.MkdirTemp("", "tokenbench-")
	if err != nil {
		return 1, err
	}
	defer func() {
		if o.keep {
			benchkit.Logf("work directory kept: %s", work)
		} else {
			_ = os.RemoveAll(work)
		}
	}()
	if o.caddyBin == "" {
		o.caddyBin = filepath.Join(work, "caddy")
		if err := benchkit.BuildCaddy(ctx, root, o.caddyBin); err != nil {
			return 1, err
		}
	}

	red, err := benchkit.StartRedis(ctx, filepath.Join(work, "redis"))
	if err != nil {
		return 1, err
	}
	defer red.Stop()
	benchkit.Logf("%s on %s (AOF, appendfsync everysec)", red.Version(), red.Addr)

	ghE, err := benchkit.StartGitHub()
	if err != nil {
		return 1, err
	}
	defer ghE.Close()
	ghR, err := benchkit.StartGitHub()
	if err != nil {
		return 1, err
	}
	defer ghR.Close()
	admin := o.profile > 0
	emb, err := startInstance(ctx, "embedded", o.caddyBin, work, "", ghE, nil, admin)
	if err != nil {
		return 1, err
	}
	defer emb.Stop()
	storage := "storage redis " + red.URL()
	ra, err := startInstance(ctx, "redis-a", o.caddyBin, work, storage, ghR, nil, admin)
	if err != nil {
		return 1, err
	}
	defer ra.Stop()
	rb, err := startInstance(ctx, "redis-b", o.caddyBin, work, storage, ghR, ra, admin)
	if err != nil {
		return 1, err
	}
	defer rb.Stop()
	instances := []*instance{emb, ra, rb}
	benchkit.Logf("instances: embedded %s; redis-a %s and redis-b %s, issuer %s", emb.origin(), ra.origin(), rb.origin(), ra.issuer)

	// One grant per worker and store, each through the whole login flow.
	login := func(in *instance) ([]*grant, error) {
		gs := make([]*grant, o.workers)
		for i := range gs {
			tok, err := benchkit.Login(in.issuer, in.gh.URL, "")
			if err != nil {
				return nil, fmt.Errorf("%s: login flow %d: %v\n%s", in.name, i+1, err, in.LogTail())
			}
			gs[i] = &grant{clientID: tok.ClientID, refresh: tok.Refresh}
		}
		return gs, nil
	}
	embGrants, err := login(emb)
	if err != nil {
		return 1, err
	}
	redGrants, err := login(ra)
	if err != nil {
		return 1, err
	}
	benchkit.Logf("%d grants per store obtained through the login flow", o.workers)

	variants := []*variant{
		{Name: "refresh-embedded", Kind: kindRefresh, Store: "embedded", Targets: []*instance{emb}, Grants: embGrants},
		{Name: "refresh-redis", Kind: kindRefresh, Store: "redis", Targets: []*instance{ra}, Grants: redGrants},
		{Name: "refresh-redis-2x", Kind: kindRefresh, Store: "redis", Targets: []*instance{ra, rb}, Grants: redGrants},
		{Name: "register-embedded", Kind: kindRegister, Store: "embedded", Targets: []*instance{emb}},
		{Name: "register-redis", Kind: kindRegister, Store: "redis", Targets: []*instance{ra}},
		{Name: "register-redis-2x", Kind: kindRegister, Store: "redis", Targets: []*instance{ra, rb}},
	}
	boltUsage := func() (int64, int64, error) {
		fi, err := os.Stat(emb.boltPath())
		if err != nil {
			return 0, 0, err
		}
		return -1, fi.Size(), nil
	}
	for _, v := range variants {
		v.usage = red.Usage
		if v.Store == "embedded" {
			v.usage = boltUsage
		}
	}
	if variants, err = selectVariants(variants, o.only); err != nil {
		return 1, err
	}

	var procs benchkit.Procs
	for _, in := range instances {
		procs.Caddy = append(procs.Caddy, in.PID())
	}
	procs.Redis = []int{red.PID()}
	hc := newHTTPClient(o.workers, o.timeout)
	defer hc.CloseIdleConnections()

	measure := func(v *variant, d time.Duration) (*loadResult, error) {
		for attempt := 0; ; attempt++ {
			if o.maxForeign > 0 {
				benchkit.WaitQuiet(ctx, procs, o.maxForeign, o.quietWait)
			}
			res, err := runLoad(ctx, v, d, o.workers, hc, procs, red)
			if err != nil {
				return nil, err
			}
			if res.Errors > 0 || res.OK == 0 {
				// A failed request can leave a grant revoked: stop here.
				var logs []string
				for _, in := range v.Targets {
					logs = append(logs, in.name+":\n"+in.LogTail())
				}
				return res, fmt.Errorf("%s: %d of %d requests failed, e.g.:\n  %s\n%s", v.Name, res.Errors, res.OK+res.Errors,
					strings.Join(res.Samples, "\n  "), strings.Join(logs, "\n"))
			}
			res.Repeats = attempt
			if o.maxForeign <= 0 || res.CPU.ForeignShare() <= o.maxForeign || attempt >= o.retries {
				return res, nil
			}
			benchkit.Logf("%s: other processes used %s of the machine during the run; measuring again", v.Name, benchkit.FmtShare(res.CPU.ForeignShare()))
		}
	}

	// What Redis does for one request of each kind, before any load.
	var traces []*trace
	for _, k := range []string{kindRefresh, kindRegister} {
		t, err := traceRequest(ctx, red, hc, k, ra, redGrants[0])
		if err != nil {
			return 1, err
		}
		traces = append(traces, t)
		benchkit.Logf("%s: %d round trip(s) to Redis, %d commands inside scripts", t.What, t.RoundTrips, t.Scripted)
	}

	if o.warmup > 0 {
		benchkit.Logf("warm-up: %s per variant", o.warmup)
		for _, v := range variants {
			if _, err := measure(v, o.warmup); err != nil {
				return 1, err
			}
		}
	}
	results := map[string][]*loadResult{}
	for r := 1; r <= o.rounds; r++ {
		for _, v := range variants {
			if ctx.Err() != nil {
				return 1, ctx.Err()
			}
			res, err := measure(v, o.duration)
			if err != nil {
				return 1, err
			}
			results[v.Name] = append(results[v.Name], res)
			benchkit.Logf("round %d/%d  %-18s %7.0f req/s  p50 %-9s p99 %-9s Caddy %4.0f µs/req  Redis %5.2f cmds/req  foreign CPU %s",
				r, o.rounds, v.Name, res.RPS, benchkit.FmtDur(res.P50), benchkit.FmtDur(res.P99), res.caddyPerReq(),
				res.redisPerReq(), benchkit.FmtShare(res.CPU.ForeignShare()))
		}
	}
	// Every grant still refreshes: nothing was revoked along the way.
	if err := finalCheck(hc, variants); err != nil {
		return 1, err
	}

	rep := buildReport(ctx, o, root, work, red, variants, results)
	rep.Traces = traces
	text := rep.markdown()
	fmt.Print(text)
	stamp := rep.Date.Format("2006-01-02")
	if o.tag != "" {
		stamp += "-" + o.tag
	}
	if !o.noWrite {
		if err := benchkit.WriteResult(root, o.outDir, "tokens-"+stamp+".md", text); err != nil {
			return 1, err
		}
	}
	if o.profile > 0 {
		prof, err := profileVariants(ctx, o, variants, hc, procs)
		if err != nil {
			return 1, err
		}
		fmt.Print(prof)
		head := fmt.Sprintf("# Token endpoint benchmark CPU profiles, %s\n\nCaddy's own CPU profile (admin /debug/pprof/profile) of the first instance of each variant while the load generator (%d workers) loads the variant.\n",
			rep.Date.Format("2006-01-02 15:04 MST"), o.workers)
		if !o.noWrite {
			if err := benchkit.WriteResult(root, o.outDir, "tokens-"+stamp+"-profile.md", head+prof); err != nil {
				return 1, err
			}
		}
	}
	return 0, nil
}

// finalCheck refreshes every grant once more on every instance it was
// measured on.
func finalCheck(hc *http.Client, variants []*variant) error {
	seen := map[*grant]bool{}
	for _, v := range variants {
		if v.Kind != kindRefresh {
			continue
		}
		for _, g := range v.Grants {
			if seen[g] {
				continue
			}
			seen[g] = true
			for _, in := range v.Targets {
				w := &worker{}
				refreshOnce(hc, w, in.origin(), g)
				if w.errs > 0 {
					return fmt.Errorf("after measuring, %s: %s", v.Name, strings.Join(w.samples, "; "))
				}
			}
		}
	}
	return nil
}

// selectVariants keeps the variants -variants names, in their usual order.
func selectVariants(all []*variant, only string) ([]*variant, error) {
	return benchkit.SelectNamed(all, func(v *variant) string { return v.Name }, only)
}
