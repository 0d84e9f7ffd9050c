// Command gatebench measures what the inline gate mcp_oauth_verify costs.
//
// It builds the plugin's Caddy, starts two of them on loopback (ES256 keys,
// and HS256 with a jwt_secret), each serving the authorization site, an
// unprotected reverse_proxy, the gated reverse_proxy and the same upstream
// behind forward_auth to /verify (the Python original's architecture). It
// logs in through the real OAuth flow against a fake GitHub to get an
// access token per Caddy, checks that every variant answers as it must,
// then runs wrk against the variants interleaved, round after round, and
// reports the medians and the ratios the project targets.
//
// With -redis it also starts a redis-server and a third Caddy (ES256) whose
// store is that Redis, measures its gate next to the others, and counts the
// commands Redis processes during every run.
//
// Run it from the module root:
//
//	go run ./bench/gatebench [-rounds 5] [-duration 5s] [-connections 32] [-threads 2] [-redis] [-variants a,b]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	conns       int
	threads     int
	timeout     time.Duration
	caddyBin    string
	wrkBin      string
	outDir      string
	noWrite     bool
	strict      bool
	profile     time.Duration
	profileOnly string
	keep        bool
	maxForeign  float64
	retries     int
	quietWait   time.Duration
	controls    bool
	redis       bool
	only        string
	tag         string
}

// Targets the project holds the gate to.
const (
	targetVsNoAuth      = 0.95
	targetVsForwardAuth = 1.8
	// The gate on the Redis store against the gate on the embedded store.
	targetRedisVsEmbedded = 0.95
)

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "measurement rounds; each runs every variant once, interleaved")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "wrk duration per variant and round (-d)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unreported wrk run per variant before round 1 (0: none)")
	flag.IntVar(&o.conns, "connections", 32, "wrk connections (-c)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Second, "wrk per-request timeout (--timeout)")
	flag.StringVar(&o.caddyBin, "caddy", "", "prebuilt Caddy with the plugin (default: go build ./cmd/caddy)")
	flag.StringVar(&o.wrkBin, "wrk", "wrk", "wrk binary")
	flag.StringVar(&o.outDir, "out", "bench/results", "directory for gate-<date>.md (relative to the module root)")
	flag.StringVar(&o.tag, "tag", "", "name the results gate-<date>-<tag>.md instead of gate-<date>.md")
	flag.BoolVar(&o.noWrite, "no-write", false, "print the report only; do not write the results file")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when the gate misses a target")
	flag.DurationVar(&o.profile, "profile", 0, "after measuring, take a CPU profile of this length per variant through Caddy's admin /debug/pprof (0: off; turns admin on)")
	flag.StringVar(&o.profileOnly, "profile-variants", "", "comma-separated variants to profile (default: all)")
	flag.Float64Var(&o.maxForeign, "max-foreign", 0.10, "share of the machine's CPU other processes may use during a run; a run above it is repeated (0: never repeat)")
	flag.IntVar(&o.retries, "retries", 4, "how often a run disturbed by other processes is repeated before it is kept anyway")
	flag.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "how long to wait before each run for other processes to calm down")
	flag.BoolVar(&o.controls, "controls", false, "also measure noauth on the HS256 Caddy and the gate's site without the gate (route /mcp* { reverse_proxy })")
	flag.BoolVar(&o.redis, "redis", false, "also start a redis-server and an ES256 Caddy storing in it, measure its gate (gate-redis; with -controls also noauth-redis) and count Redis commands per request")
	flag.StringVar(&o.only, "variants", "", "comma-separated variants to measure (default: all that the other flags enable)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (Caddyfiles, logs, profiles)")
	flag.Parse()
	if o.rounds < 1 || o.duration < time.Second || o.conns < 1 || o.threads < 1 || o.conns < o.threads {
		fmt.Fprintln(os.Stderr, "gatebench: need rounds >= 1, duration >= 1s, connections >= threads >= 1")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatebench:", err)
	}
	os.Exit(code)
}

// variant is one URL wrk measures.
type variant struct {
	Name  string
	Kind  string // noauth, gate, forward_auth
	URL   string
	Caddy *caddyProc
	Token string
}

func run(ctx context.Context, o options) (int, error) {
	root, err := benchkit.ModuleRoot()
	if err != nil {
		return 1, err
	}
	wrkPath, err := exec.LookPath(o.wrkBin)
	if err != nil {
		return 1, fmt.Errorf("wrk not found (%v); install it (apt-get install wrk) or use bench/gate.sh", err)
	}
	o.wrkBin = wrkPath
	work, err := os.MkdirTemp("", "gatebench-")
	if err != nil {
		return 1, err
	}
	defer func() {
		if o.keep {
			logf("work directory kept: %s", work)
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

	up, err := startUpstream()
	if err != nil {
		return 1, err
	}
	defer up.Close()

	es, err := startCaddy(ctx, caddySpec{name: "ES256"}, o.caddyBin, work, up.addr, o.profile > 0)
	if err != nil {
		return 1, err
	}
	defer es.close()
	hs, err := startCaddy(ctx, caddySpec{name: "HS256", jwtSecret: benchkit.NewSecret(48)}, o.caddyBin, work, up.addr, o.profile > 0)
	if err != nil {
		return 1, err
	}
	defer hs.close()
	caddies := []*caddyProc{es, hs}
	var red *benchkit.Redis
	var rc *caddyProc // the ES256 Caddy storing in Redis
	if o.redis {
		if red, err = benchkit.StartRedis(ctx, filepath.Join(work, "redis")); err != nil {
			return 1, err
		}
		defer red.Stop()
		logf("%s on %s (AOF, appendfsync everysec)", red.Version(), red.Addr)
		rc, err = startCaddy(ctx, caddySpec{name: "redis", storage: "storage redis " + red.URL()}, o.caddyBin, work, up.addr, o.profile > 0)
		if err != nil {
			return 1, err
		}
		defer rc.close()
		caddies = append(caddies, rc)
	}

	for _, c := range caddies {
		tok, err := benchkit.Login(c.issuer(), c.gh.URL, c.resource())
		if err != nil {
			return 1, fmt.Errorf("caddy %s: login flow: %v\n%s", c.name, err, c.logTail())
		}
		if alg := benchkit.JWTAlg(tok.Access); alg != c.alg {
			return 1, fmt.Errorf("caddy %s issued a %q token", c.name, alg)
		}
		c.token = tok.Access
		logf("caddy %s: issuer %s, token for %s obtained through the login flow", c.name, c.issuer(), c.resource())
	}

	variants := []variant{
		{Name: "noauth", Kind: "noauth", URL: es.noAuthURL(), Caddy: es, Token: es.token},
		{Name: "gate-ES256", Kind: "gate", URL: es.gateURL(), Caddy: es, Token: es.token},
		{Name: "gate-HS256", Kind: "gate", URL: hs.gateURL(), Caddy: hs, Token: hs.token},
		{Name: "forward_auth-ES256", Kind: "forward_auth", URL: es.faURL(), Caddy: es, Token: es.token},
		{Name: "forward_auth-HS256", Kind: "forward_auth", URL: hs.faURL(), Caddy: hs, Token: hs.token},
	}
	if o.controls {
		variants = append(variants,
			variant{Name: "noauth-HS256", Kind: "noauth", URL: hs.noAuthURL(), Caddy: hs, Token: hs.token},
			variant{Name: "route-ES256", Kind: "noauth", URL: es.routeURL(), Caddy: es, Token: es.token},
			variant{Name: "route-HS256", Kind: "noauth", URL: hs.routeURL(), Caddy: hs, Token: hs.token})
	}
	other := map[*caddyProc]string{es: hs.token, hs: es.token}
	if rc != nil {
		// Both ES256, with different keys: the other's token must fail.
		other[rc] = es.token
		variants = append(variants, variant{Name: "gate-redis", Kind: "gate", URL: rc.gateURL(), Caddy: rc, Token: rc.token})
		if o.controls {
			variants = append(variants, variant{Name: "noauth-redis", Kind: "noauth", URL: rc.noAuthURL(), Caddy: rc, Token: rc.token})
		}
	}
	if variants, err = selectVariants(variants, o.only); err != nil {
		return 1, err
	}
	for _, v := range variants {
		if err := checkVariant(v, other[v.Caddy]); err != nil {
			return 1, fmt.Errorf("%s (%s): %v\n%s", v.Name, v.URL, err, v.Caddy.logTail())
		}
	}
	logf("every variant answers 200 with its token; gate and forward_auth answer 401 without it or with the other Caddy's token")

	wc := wrkConfig{Bin: o.wrkBin, Threads: o.threads, Conns: o.conns, Duration: o.duration, Timeout: o.timeout, Redis: red}
	for _, c := range caddies {
		wc.Procs.Caddy = append(wc.Procs.Caddy, c.PID())
	}
	if red != nil {
		wc.Procs.Redis = []int{red.PID()}
	}
	measure := func(v variant, d time.Duration) (*wrkResult, error) {
		wc.AuthorizationValue = "Bearer " + v.Token
		for attempt := 0; ; attempt++ {
			if o.maxForeign > 0 {
				benchkit.WaitQuiet(ctx, wc.Procs, o.maxForeign, o.quietWait)
			}
			res, err := runWrk(ctx, wc, v.URL, d)
			if err != nil {
				return nil, err
			}
			if why := res.failure(); why != "" {
				return nil, fmt.Errorf("%s: not every request succeeded (%s):\n%s\n%s", v.Name, why, res.Raw, v.Caddy.logTail())
			}
			res.Repeats = attempt
			if o.maxForeign <= 0 || res.foreignShare() <= o.maxForeign || attempt >= o.retries {
				return res, nil
			}
			logf("%s: other processes used %s of the machine during the run; measuring again", v.Name, fmtShare(res.foreignShare()))
		}
	}

	if o.warmup > 0 {
		logf("warm-up: %s per variant", o.warmup)
		for _, v := range variants {
			if _, err := measure(v, o.warmup); err != nil {
				return 1, err
			}
		}
	}
	results := make(map[string][]*wrkResult)
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
			redis := ""
			if red != nil {
				redis = fmt.Sprintf("  Redis %.4f cmds/req (%s)", res.redisPerReq(), res.RedisCmds)
			}
			logf("round %d/%d  %-20s %7.0f req/s  p50 %-9s p99 %-9s Caddy %3.0f µs/req  foreign CPU %s%s",
				r, o.rounds, v.Name, res.RPS, fmtDur(res.P50), fmtDur(res.P99), res.caddyPerReq(), fmtShare(res.foreignShare()), redis)
		}
	}
	// A last check that nothing was revoked or expired under load.
	for _, v := range variants {
		if err := checkVariant(v, other[v.Caddy]); err != nil {
			return 1, fmt.Errorf("after measuring, %s: %v", v.Name, err)
		}
	}

	rep := buildReport(ctx, o, root, variants, results)
	if red != nil {
		rep.Redis = fmt.Sprintf("%s on %s, AOF with appendfsync everysec, no RDB snapshots", red.Version(), red.Addr)
	}
	text := rep.markdown()
	fmt.Print(text)
	stamp := rep.Date.Format("2006-01-02")
	if o.tag != "" {
		stamp += "-" + o.tag
	}
	if err := writeResult(o, root, "gate-"+stamp+".md", text); err != nil {
		return 1, err
	}
	if o.profile > 0 {
		prof, err := profileVariants(ctx, o, wc, variants)
		if err != nil {
			return 1, err
		}
		fmt.Print(prof)
		head := fmt.Sprintf("# Gate benchmark CPU profiles, %s\n\nCaddy's own CPU profile (admin /debug/pprof/profile) while `%s` loads one variant.\n",
			rep.Date.Format("2006-01-02 15:04 MST"), rep.Command)
		if err := writeResult(o, root, "gate-"+stamp+"-profile.md", head+prof); err != nil {
			return 1, err
		}
	}
	if o.strict && !rep.allMet() {
		return 1, errors.New("the gate missed a target")
	}
	return 0, nil
}

// writeResult writes a report into the results directory (unless -no-write).
func writeResult(o options, root, name, text string) error {
	if o.noWrite {
		return nil
	}
	return benchkit.WriteResult(root, o.outDir, name, text)
}

// selectVariants keeps the variants -variants names, in their usual order.
func selectVariants(all []variant, only string) ([]variant, error) {
	return benchkit.SelectNamed(all, func(v variant) string { return v.Name }, only)
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
