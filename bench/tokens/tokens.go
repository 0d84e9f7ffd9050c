package tokens

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
)

type options struct {
	benchkit.Options
	workers int
	timeout time.Duration
}

const (
	kindRefresh  = "refresh"
	kindRegister = "register"
)

// Bench is the tokens mode (benchkit.Mode).
type Bench struct {
	o         options
	env       *benchkit.Env
	red       *benchkit.Redis
	stopGH    []func()
	instances []*instance
	variants  []*variant
	procs     benchkit.Procs
	hc        *http.Client
	traces    []*trace
	results   map[string][]*loadResult
	profile   string // the CPU profiles, Markdown
}

// New registers the mode's flags on fs.
func New(fs *flag.FlagSet) *Bench {
	b := &Bench{}
	b.o.Register(fs, 3, 10*time.Second)
	fs.IntVar(&b.o.workers, "workers", 32, "load goroutines (closed loop, one request at a time each); also the number of grants per store")
	fs.DurationVar(&b.o.timeout, "timeout", 10*time.Second, "per-request timeout")
	return b
}

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

// Setup starts Redis and the three instances, logs in once per worker and
// store, and traces one request of each kind through Redis.
func (b *Bench) Setup(ctx context.Context, env *benchkit.Env) error {
	o := &b.o
	if err := o.Check(); err != nil {
		return err
	}
	if o.workers < 1 {
		return errors.New("need -workers >= 1")
	}
	b.env = env
	var err error
	if b.red, err = benchkit.StartRedis(ctx, filepath.Join(env.Work, "redis")); err != nil {
		return err
	}
	benchkit.Logf("%s on %s (AOF, appendfsync everysec)", b.red.Version(), b.red.Addr)
	if err := b.startInstances(ctx); err != nil {
		return err
	}
	emb, ra := b.instances[0], b.instances[1]
	embGrants, err := b.login(emb)
	if err != nil {
		return err
	}
	redGrants, err := b.login(ra)
	if err != nil {
		return err
	}
	benchkit.Logf("%d grants per store obtained through the login flow", o.workers)
	if b.variants, err = b.buildVariants(embGrants, redGrants); err != nil {
		return err
	}
	for _, in := range b.instances {
		b.procs.Caddy = append(b.procs.Caddy, in.PID())
	}
	b.procs.Redis = []int{b.red.PID()}
	b.hc = newHTTPClient(o.workers, o.timeout)
	// What Redis does for one request of each kind, before any load.
	for _, k := range []string{kindRefresh, kindRegister} {
		t, err := traceRequest(ctx, b.red, b.hc, k, ra, redGrants[0])
		if err != nil {
			return err
		}
		b.traces = append(b.traces, t)
		benchkit.Logf("%s: %d round trip(s) to Redis, %d commands inside scripts", t.What, t.RoundTrips, t.Scripted)
	}
	return nil
}

// startInstances starts embedded (its own fake GitHub), and redis-a and
// redis-b sharing one issuer, one fake GitHub app and the Redis.
func (b *Bench) startInstances(ctx context.Context) error {
	admin := b.o.Profile > 0
	ghE, stop := fakegithub.Serve(fakegithub.Options{ClientSecret: benchkit.NewSecret(24)})
	b.stopGH = append(b.stopGH, stop)
	ghR, stop := fakegithub.Serve(fakegithub.Options{ClientSecret: benchkit.NewSecret(24)})
	b.stopGH = append(b.stopGH, stop)
	storage := "storage redis " + b.red.URL()
	specs := []struct {
		name, storage string
		gh            *fakegithub.Server
		shared        bool
	}{{"embedded", "", ghE, false}, {"redis-a", storage, ghR, false}, {"redis-b", storage, ghR, true}}
	for _, sp := range specs {
		var shared *instance
		if sp.shared {
			shared = b.instances[1]
		}
		in, err := startInstance(ctx, sp.name, b.env, sp.storage, sp.gh, shared, admin)
		if err != nil {
			return err
		}
		b.instances = append(b.instances, in)
	}
	emb, ra, rb := b.instances[0], b.instances[1], b.instances[2]
	benchkit.Logf("instances: embedded %s; redis-a %s and redis-b %s, issuer %s", emb.origin(), ra.origin(), rb.origin(), ra.issuer)
	return nil
}

// login gets one grant per worker on in, each through the whole login flow.
func (b *Bench) login(in *instance) ([]*grant, error) {
	gs := make([]*grant, b.o.workers)
	for i := range gs {
		tok, err := login.Login(in.issuer, in.gh.URL, "")
		if err != nil {
			return nil, fmt.Errorf("%s: login flow %d: %v\n%s", in.name, i+1, err, in.logTail())
		}
		gs[i] = &grant{clientID: tok.ClientID, refresh: tok.Refresh}
	}
	return gs, nil
}

// buildVariants lists the variants -variants keeps.
func (b *Bench) buildVariants(embGrants, redGrants []*grant) ([]*variant, error) {
	emb, ra, rb := b.instances[0], b.instances[1], b.instances[2]
	vs := []*variant{
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
	for _, v := range vs {
		v.usage = b.red.Usage
		if v.Store == "embedded" {
			v.usage = boltUsage
		}
	}
	return benchkit.SelectNamed(vs, func(v *variant) string { return v.Name }, b.o.Only)
}

// run is one load run of v for d, repeated while other load disturbs it.
// A failed request stops the benchmark: it can leave a grant revoked.
func (b *Bench) run(ctx context.Context, v *variant, d time.Duration) (*loadResult, error) {
	return benchkit.MeasureQuiet(ctx, b.o.Quiet, b.procs, v.Name, func() (*loadResult, error) {
		res, err := runLoad(ctx, v, d, b.o.workers, b.hc, b.procs, b.red)
		if err != nil {
			return nil, err
		}
		if res.Errors > 0 || res.OK == 0 {
			var logs []string
			for _, in := range v.Targets {
				logs = append(logs, in.name+":\n"+in.logTail())
			}
			return nil, fmt.Errorf("%s: %d of %d requests failed, e.g.:\n  %s\n%s", v.Name, res.Errors, res.OK+res.Errors,
				strings.Join(res.Samples, "\n  "), strings.Join(logs, "\n"))
		}
		return res, nil
	})
}

// Measure warms every variant up, runs the rounds, refreshes every grant
// once more and, with -profile, profiles the variants.
func (b *Bench) Measure(ctx context.Context) error {
	o := &b.o
	if o.Warmup > 0 {
		benchkit.Logf("warm-up: %s per variant", o.Warmup)
		err := benchkit.Interleave(ctx, 1, b.variants, func(_ int, v *variant) error {
			_, err := b.run(ctx, v, o.Warmup)
			return err
		})
		if err != nil {
			return err
		}
	}
	b.results = map[string][]*loadResult{}
	err := benchkit.Interleave(ctx, o.Rounds, b.variants, func(r int, v *variant) error {
		res, err := b.run(ctx, v, o.Duration)
		if err == nil {
			b.results[v.Name] = append(b.results[v.Name], res)
			b.logRun(r, v, res)
		}
		return err
	})
	if err != nil {
		return err
	}
	// Every grant still refreshes: nothing was revoked along the way.
	if err := finalCheck(b.hc, b.variants); err != nil {
		return err
	}
	if o.Profile > 0 {
		var err error
		b.profile, err = b.profileVariants(ctx)
		return err
	}
	return nil
}

func (b *Bench) logRun(round int, v *variant, res *loadResult) {
	benchkit.Logf("round %d/%d  %-18s %7.0f req/s  p50 %-9s p99 %-9s Caddy %4.0f µs/req  Redis %5.2f cmds/req  foreign CPU %s",
		round, b.o.Rounds, v.Name, res.RPS, benchkit.FmtDur(res.P50), benchkit.FmtDur(res.P99), res.caddyPerReq(),
		res.redisPerReq(), benchkit.FmtShare(res.CPU.ForeignShare()))
}

// profileVariants loads each variant again while the admin endpoint of its
// first instance records a CPU profile.
func (b *Bench) profileVariants(ctx context.Context) (string, error) {
	var targets []benchkit.ProfileTarget
	for _, v := range b.variants {
		in := v.Targets[0]
		targets = append(targets, benchkit.ProfileTarget{Name: v.Name, Caddy: in.name, Admin: in.adminAddr(),
			Load: func(ctx context.Context, d time.Duration) (string, error) {
				res, err := runLoad(ctx, v, d, b.o.workers, b.hc, b.procs, nil)
				if err == nil && res.Errors > 0 {
					err = fmt.Errorf("%d requests failed: %s", res.Errors, strings.Join(res.Samples, "; "))
				}
				if err != nil {
					return "", err
				}
				return fmt.Sprintf(", %.0f req/s meanwhile", res.RPS), nil
			}})
	}
	targets, err := benchkit.SelectNamed(targets, func(t benchkit.ProfileTarget) string { return t.Name }, b.o.ProfileOnly)
	if err != nil {
		return "", err
	}
	views := []benchkit.PprofView{
		{Args: []string{"-nodecount=35"}},
		{Title: "By cumulative share", Args: []string{"-cum", "-nodecount=45"}},
	}
	return benchkit.Profile(ctx, "tokens", b.env.CaddyBin, b.o.Profile, b.o.Quiet, b.procs, targets, views)
}

// Report renders the results, the traces and, with -profile, the profiles.
func (b *Bench) Report(ctx context.Context) (string, error) {
	rep := buildReport(ctx, b.o, b.env.Root, b.env.Work, b.red, b.variants, b.results)
	rep.Traces = b.traces
	text := rep.markdown()
	if b.profile != "" {
		text += fmt.Sprintf("\n# CPU profiles\n\nCaddy's own CPU profile (admin /debug/pprof/profile) of the first instance of each variant while the load generator (%d workers) loads the variant.\n%s",
			b.o.workers, b.profile)
	}
	return text, nil
}

// Close stops the instances, the fake GitHubs and Redis.
func (b *Bench) Close() {
	if b.hc != nil {
		b.hc.CloseIdleConnections()
	}
	for _, in := range b.instances {
		in.Stop()
	}
	for _, stop := range b.stopGH {
		stop()
	}
	if b.red != nil {
		b.red.Stop()
	}
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

// Options are the common flags, for the command.
func (b *Bench) Options() *benchkit.Options { return &b.o.Options }
