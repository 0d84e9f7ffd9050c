package gate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/login"
)

type options struct {
	benchkit.Options
	conns    int
	threads  int
	timeout  time.Duration
	wrkBin   string
	strict   bool
	controls bool
	redis    bool
}

// Targets the project holds the gate to.
const (
	targetVsNoAuth      = 0.95
	targetVsForwardAuth = 1.8
	// The gate on the Redis store against the gate on the embedded store.
	targetRedisVsEmbedded = 0.95
)

// Bench is the gate mode (benchkit.Mode).
type Bench struct {
	o        options
	env      *benchkit.Env
	up       *upstream
	caddies  []*caddyProc
	red      *benchkit.Redis
	variants []variant
	other    map[*caddyProc]string // the token each Caddy must refuse
	wc       wrkConfig
	results  map[string][]*wrkResult
	profile  string // the CPU profiles, Markdown
}

// New registers the mode's flags on fs.
func New(fs *flag.FlagSet) *Bench {
	b := &Bench{}
	o := &b.o
	o.Register(fs, 5, 5*time.Second)
	fs.IntVar(&o.conns, "connections", 32, "wrk connections (-c)")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Second, "wrk per-request timeout (--timeout)")
	fs.StringVar(&o.wrkBin, "wrk", "wrk", "wrk binary")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when the gate misses a target")
	fs.BoolVar(&o.controls, "controls", false, "also measure noauth on the HS256 Caddy and the gate's site without the gate (route /mcp* { reverse_proxy })")
	fs.BoolVar(&o.redis, "redis", false, "also start a redis-server and an ES256 Caddy storing in it, measure its gate (gate-redis; with -controls also noauth-redis) and count Redis commands per request")
	return b
}

// variant is one URL wrk measures.
type variant struct {
	Name  string
	Kind  string // noauth, gate, forward_auth
	URL   string
	Caddy *caddyProc
	Token string
}

// Setup starts the upstream and the Caddy processes, logs in to each and
// checks every variant.
func (b *Bench) Setup(ctx context.Context, env *benchkit.Env) error {
	o := &b.o
	if err := o.Check(); err != nil {
		return err
	}
	if o.conns < 1 || o.threads < 1 || o.conns < o.threads {
		return errors.New("need -connections >= -threads >= 1")
	}
	wrkPath, err := exec.LookPath(o.wrkBin)
	if err != nil {
		return fmt.Errorf("wrk not found (%v); install it (apt-get install wrk) or use bench/gate.sh", err)
	}
	o.wrkBin, b.env = wrkPath, env
	if b.up, err = startUpstream(); err != nil {
		return err
	}
	if err := b.startCaddies(ctx); err != nil {
		return err
	}
	for _, c := range b.caddies {
		if err := loginTo(c); err != nil {
			return err
		}
	}
	if b.variants, err = b.buildVariants(); err != nil {
		return err
	}
	for _, v := range b.variants {
		if err := checkVariant(v, b.other[v.Caddy]); err != nil {
			return fmt.Errorf("%s (%s): %v\n%s", v.Name, v.URL, err, v.Caddy.logTail())
		}
	}
	logf("every variant answers 200 with its token; gate and forward_auth answer 401 without it or with the other Caddy's token")
	b.wc = wrkConfig{Bin: o.wrkBin, Threads: o.threads, Conns: o.conns, Duration: o.Duration, Timeout: o.timeout, Redis: b.red}
	for _, c := range b.caddies {
		b.wc.Procs.Caddy = append(b.wc.Procs.Caddy, c.PID())
	}
	if b.red != nil {
		b.wc.Procs.Redis = []int{b.red.PID()}
	}
	return nil
}

// startCaddies starts the ES256 and HS256 Caddy, and with -redis a
// redis-server and the Caddy storing in it.
func (b *Bench) startCaddies(ctx context.Context) error {
	prof := b.o.Profile > 0
	specs := []caddySpec{{name: "ES256"}, {name: "HS256", jwtSecret: benchkit.NewSecret(48)}}
	if b.o.redis {
		var err error
		if b.red, err = benchkit.StartRedis(ctx, filepath.Join(b.env.Work, "redis")); err != nil {
			return err
		}
		logf("%s on %s (AOF, appendfsync everysec)", b.red.Version(), b.red.Addr)
		specs = append(specs, caddySpec{name: "redis", storage: "storage redis " + b.red.URL()})
	}
	for _, spec := range specs {
		c, err := startCaddy(ctx, spec, b.env, b.up.addr, prof)
		if err != nil {
			return err
		}
		b.caddies = append(b.caddies, c)
	}
	return nil
}

// loginTo gets c's access token for its gate through the login flow.
func loginTo(c *caddyProc) error {
	tok, err := login.Login(c.issuer(), c.gh.URL, c.resource())
	if err != nil {
		return fmt.Errorf("caddy %s: login flow: %v\n%s", c.name, err, c.logTail())
	}
	if alg := benchkit.JWTAlg(tok.Access); alg != c.alg {
		return fmt.Errorf("caddy %s issued a %q token", c.name, alg)
	}
	c.token = tok.Access
	logf("caddy %s: issuer %s, token for %s obtained through the login flow", c.name, c.issuer(), c.resource())
	return nil
}

// buildVariants lists the variants the flags enable and -variants keeps.
func (b *Bench) buildVariants() ([]variant, error) {
	es, hs := b.caddies[0], b.caddies[1]
	vs := []variant{
		{Name: "noauth", Kind: "noauth", URL: es.noAuthURL(), Caddy: es, Token: es.token},
		{Name: "gate-ES256", Kind: "gate", URL: es.gateURL(), Caddy: es, Token: es.token},
		{Name: "gate-HS256", Kind: "gate", URL: hs.gateURL(), Caddy: hs, Token: hs.token},
		{Name: "forward_auth-ES256", Kind: "forward_auth", URL: es.faURL(), Caddy: es, Token: es.token},
		{Name: "forward_auth-HS256", Kind: "forward_auth", URL: hs.faURL(), Caddy: hs, Token: hs.token},
	}
	if b.o.controls {
		vs = append(vs,
			variant{Name: "noauth-HS256", Kind: "noauth", URL: hs.noAuthURL(), Caddy: hs, Token: hs.token},
			variant{Name: "route-ES256", Kind: "noauth", URL: es.routeURL(), Caddy: es, Token: es.token},
			variant{Name: "route-HS256", Kind: "noauth", URL: hs.routeURL(), Caddy: hs, Token: hs.token})
	}
	b.other = map[*caddyProc]string{es: hs.token, hs: es.token}
	if len(b.caddies) > 2 {
		rc := b.caddies[2]
		// Both ES256, with different keys: the other's token must fail.
		b.other[rc] = es.token
		vs = append(vs, variant{Name: "gate-redis", Kind: "gate", URL: rc.gateURL(), Caddy: rc, Token: rc.token})
		if b.o.controls {
			vs = append(vs, variant{Name: "noauth-redis", Kind: "noauth", URL: rc.noAuthURL(), Caddy: rc, Token: rc.token})
		}
	}
	return benchkit.SelectNamed(vs, func(v variant) string { return v.Name }, b.o.Only)
}

// run is one wrk run of v for d, repeated while other load disturbs it.
func (b *Bench) run(ctx context.Context, v variant, d time.Duration) (*wrkResult, error) {
	return benchkit.MeasureQuiet(ctx, b.o.Quiet, b.wc.Procs, v.Name, func() (*wrkResult, error) {
		res, err := runWrk(ctx, b.wc.with(v.Token), v.URL, d)
		if err != nil {
			return nil, err
		}
		if why := res.failure(); why != "" {
			return nil, fmt.Errorf("%s: not every request succeeded (%s):\n%s\n%s", v.Name, why, res.Raw, v.Caddy.logTail())
		}
		return res, nil
	})
}

// Measure warms every variant up, runs the rounds, checks the variants
// again and, with -profile, profiles them.
func (b *Bench) Measure(ctx context.Context) error {
	o := &b.o
	if o.Warmup > 0 {
		logf("warm-up: %s per variant", o.Warmup)
		err := benchkit.Interleave(ctx, 1, b.variants, func(_ int, v variant) error {
			_, err := b.run(ctx, v, o.Warmup)
			return err
		})
		if err != nil {
			return err
		}
	}
	b.results = make(map[string][]*wrkResult)
	err := benchkit.Interleave(ctx, o.Rounds, b.variants, func(r int, v variant) error {
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
	// A last check that nothing was revoked or expired under load.
	for _, v := range b.variants {
		if err := checkVariant(v, b.other[v.Caddy]); err != nil {
			return fmt.Errorf("after measuring, %s: %v", v.Name, err)
		}
	}
	if o.Profile > 0 {
		var err error
		b.profile, err = b.profileVariants(ctx)
		return err
	}
	return nil
}

func (b *Bench) logRun(round int, v variant, res *wrkResult) {
	redis := ""
	if b.red != nil {
		redis = fmt.Sprintf("  Redis %.4f cmds/req (%s)", res.redisPerReq(), res.RedisCmds)
	}
	logf("round %d/%d  %-20s %7.0f req/s  p50 %-9s p99 %-9s Caddy %3.0f µs/req  foreign CPU %s%s",
		round, b.o.Rounds, v.Name, res.RPS, fmtDur(res.P50), fmtDur(res.P99), res.caddyPerReq(), fmtShare(res.foreignShare()), redis)
}

// profileVariants loads each variant with wrk while its Caddy records a
// CPU profile: the hottest functions, and the plugin's own cost (samples
// in its code that are not in the reverse_proxy the gate calls as its next
// handler).
func (b *Bench) profileVariants(ctx context.Context) (string, error) {
	var targets []benchkit.ProfileTarget
	for _, v := range b.variants {
		targets = append(targets, benchkit.ProfileTarget{Name: v.Name, Caddy: "Caddy " + v.Caddy.name, Admin: v.Caddy.adminAddr(),
			Load: func(ctx context.Context, d time.Duration) (string, error) {
				res, err := runWrk(ctx, b.wc.with(v.Token), v.URL, d)
				if err == nil && res.failure() != "" {
					err = errors.New(res.failure())
				}
				return " of wrk", err
			}})
	}
	targets, err := benchkit.SelectNamed(targets, func(t benchkit.ProfileTarget) string { return t.Name }, b.o.ProfileOnly)
	if err != nil {
		return "", err
	}
	views := []benchkit.PprofView{
		{Args: []string{"-nodecount=30"}},
		{Title: "Plugin code outside reverse_proxy (-focus=mcpoauth -ignore=reverseproxy)",
			Args:      []string{"-cum", "-nodecount=25", "-focus=mcpoauth", "-ignore=reverseproxy"},
			NoSamples: "(no samples in the plugin outside reverse_proxy)"},
	}
	return benchkit.Profile(ctx, "gate", b.env.CaddyBin, b.o.Profile, b.o.Quiet, b.wc.Procs, targets, views)
}

// Report renders the results and, with -profile, the profiles.
func (b *Bench) Report(ctx context.Context) (string, error) {
	rep := buildReport(ctx, b.o, b.env.Root, b.variants, b.results)
	if b.red != nil {
		rep.Redis = fmt.Sprintf("%s on %s, AOF with appendfsync everysec, no RDB snapshots", b.red.Version(), b.red.Addr)
	}
	text := rep.markdown()
	if b.profile != "" {
		text += fmt.Sprintf("\n# CPU profiles\n\nCaddy's own CPU profile (admin /debug/pprof/profile) while `%s` loads one variant.\n%s", rep.Command, b.profile)
	}
	if b.o.strict && !rep.allMet() {
		return text, benchkit.ErrMissed
	}
	return text, nil
}

// Close stops the Caddy processes, Redis and the upstream.
func (b *Bench) Close() {
	for _, c := range b.caddies {
		c.close()
	}
	if b.red != nil {
		b.red.Stop()
	}
	if b.up != nil {
		b.up.Close()
	}
}

// checkVariant proves a variant does what it is measured for: 200 with the
// upstream's body for the token; for gate and forward_auth, the upstream
// sees the user's id, and requests without a token or with a token of the
// other Caddy's keys get 401.
func checkVariant(v variant, foreignToken string) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	probe := func(token string) (*http.Response, string, error) {
		req, _ := http.NewRequest(http.MethodGet, v.URL, nil)
		req.Header.Set(probeHeader, "1")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	resp, body, err := probe(v.Token)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || body != upstreamBody {
		return fmt.Errorf("with the token: %d %q, want 200 from the upstream", resp.StatusCode, body)
	}
	if v.Kind == "noauth" {
		return nil
	}
	if got := resp.Header.Get("X-Bench-User-Id"); got != aliceID {
		return fmt.Errorf("upstream saw X-User-Id %q, want %q", got, aliceID)
	}
	if v.Kind == "gate" && resp.Header.Get("X-Bench-Authorization") != "" {
		return errors.New("the gate passed the access token on to the upstream")
	}
	for what, tok := range map[string]string{"without a token": "", "with the other Caddy's token": foreignToken} {
		resp, body, err := probe(tok)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("%s: %d %q, want 401", what, resp.StatusCode, body)
		}
	}
	return nil
}

// The upstream: one small fixed 200 for every variant. Requests carrying
// probeHeader (the checks, never wrk) get back what the upstream saw.
const (
	upstreamBody = `{"jsonrpc":"2.0","id":1,"result":{}}` + "\n"
	probeHeader  = "X-Bench-Probe"
	aliceID      = "1001" // fakegithub.DefaultUsers()[0]
)

type upstream struct {
	addr string
	srv  *http.Server
}

func (u *upstream) Close() { _ = u.srv.Close() }

func startUpstream() (*upstream, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(upstreamBody)
	length := []string{strconv.Itoa(len(body))}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		if r.Header[probeHeader] != nil {
			hdr.Set("X-Bench-User-Id", r.Header.Get("X-User-Id"))
			hdr.Set("X-Bench-Authorization", r.Header.Get("Authorization"))
		}
		hdr["Content-Type"] = []string{"application/json"}
		hdr["Content-Length"] = length
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &upstream{addr: l.Addr().String(), srv: srv}, nil
}

func logf(format string, args ...any) { benchkit.Logf(format, args...) }

// Options are the common flags, for the command.
func (b *Bench) Options() *benchkit.Options { return &b.o.Options }
