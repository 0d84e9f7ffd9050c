package tokens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

type row struct {
	V          *variant
	RPS        float64 // medians over rounds
	P50, P99   time.Duration
	RoundRPS   []float64
	CaddyUS    float64 // median CPU µs per request: the Caddy processes
	RedisUS    float64 // redis-server
	AllUS      float64 // Caddy, Redis and this process (the load generator)
	RedisPer   float64 // median Redis commands per request
	RedisCmds  benchkit.CommandStats
	OK, Errors int64 // over all rounds
	MaxForeign float64
	Repeats    int
	Keys       int64 // store growth over all rounds; -1: not counted
	Bytes      int64
}

type report struct {
	benchkit.Machine
	FS     string
	Redis  string
	Opts   options
	Rows   []row
	Ratios []benchkit.Ratio
	Traces []*trace
}

func buildReport(ctx context.Context, o options, root, work string, red *benchkit.Redis, variants []*variant, results map[string][]*loadResult) *report {
	rep := &report{Machine: benchkit.DescribeMachine(ctx, root), FS: benchkit.FSType(work), Opts: o,
		Redis: fmt.Sprintf("%s on %s, AOF with appendfsync everysec, no RDB snapshots", red.Version(), red.Addr)}
	byName := map[string]row{}
	for _, v := range variants {
		r := row{V: v}
		var p50, p99 []time.Duration
		var cus, rus, aus, rpr []float64
		for _, x := range results[v.Name] {
			r.RoundRPS = append(r.RoundRPS, x.RPS)
			p50, p99 = append(p50, x.P50), append(p99, x.P99)
			cus, rus, aus = append(cus, x.caddyPerReq()), append(rus, x.redisCPUPerReq()), append(aus, x.allPerReq())
			rpr = append(rpr, x.redisPerReq())
			r.RedisCmds = r.RedisCmds.Add(x.Redis)
			r.OK += x.OK
			r.Errors += x.Errors
			r.MaxForeign = max(r.MaxForeign, x.CPU.ForeignShare())
			r.Repeats += x.Repeats
			r.Bytes += x.Bytes
			if x.Keys < 0 || r.Keys < 0 {
				r.Keys = -1
			} else {
				r.Keys += x.Keys
			}
		}
		r.RPS, r.P50, r.P99 = benchkit.Median(r.RoundRPS), benchkit.Median(p50), benchkit.Median(p99)
		r.CaddyUS, r.RedisUS, r.AllUS, r.RedisPer = benchkit.Median(cus), benchkit.Median(rus), benchkit.Median(aus), benchkit.Median(rpr)
		rep.Rows = append(rep.Rows, r)
		byName[v.Name] = r
	}
	mk := func(num, den string) {
		n, okN := byName[num]
		d, okD := byName[den]
		if okN && okD {
			rep.Ratios = append(rep.Ratios, benchkit.NewRatio(num+" / "+den, n.RoundRPS, d.RoundRPS, 0))
		}
	}
	for _, k := range []string{kindRefresh, kindRegister} {
		mk(k+"-redis", k+"-embedded")
		mk(k+"-redis-2x", k+"-redis")
	}
	return rep
}

func (rep *report) markdown() string {
	var b strings.Builder
	o := rep.Opts
	fmt.Fprintf(&b, "# Token endpoint benchmark, %s\n\n", rep.Date.Format("2006-01-02 15:04 MST"))
	admin := "`admin off`"
	if o.Profile > 0 {
		admin = "admin on (for -profile)"
	}
	fmt.Fprintf(&b, "- Code: %s; Caddy v2.11.9 built with %s; plain http on 127.0.0.1, %s, log level WARN, ES256 access tokens\n", rep.Commit, rep.Go, admin)
	fmt.Fprintf(&b, "- Machine: %s, %d logical CPUs (shared by the load generator, Caddy and Redis); bolt file and AOF on %s\n", rep.CPU, rep.Cores, rep.FS)
	fmt.Fprintf(&b, "- Stores: `embedded` is the default bolt file (one Caddy); `redis` is %s, with one Caddy (`redis-a`) or two (`-2x`: `redis-a` and `redis-b`, same issuer, each worker alternating between them)\n", rep.Redis)
	fmt.Fprintf(&b, "- Load: a Go load generator in the benchmark process, %d workers in a closed loop (one request at a time each, keep-alive), %s per run, %d rounds, variants interleaved in every round, %s warm-up each first\n",
		o.workers, o.Duration, o.Rounds, o.Warmup)
	fmt.Fprintf(&b, "- `refresh-*`: each worker has its own grant (its own public client, from the real login flow once), posts `grant_type=refresh_token` with its current refresh token and keeps the rotated one from every response; "+
		"every grant refreshes once more after the last round. `register-*`: `POST /register` with a %d-byte JSON body (public client, one loopback redirect URI)\n", len(registration))
	fmt.Fprintf(&b, "- Every response is checked: 200 with access_token, token_type Bearer and a new refresh_token, or 201 with a client_id; anything else counts as an error and stops the benchmark\n\n")

	fmt.Fprintf(&b, "| variant | instances | req/s | p50 | p99 | errors | Caddy CPU/req | Redis CPU/req | all CPU/req | Redis cmds/req | req/s per round |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	foreign, repeats := 0.0, 0
	for _, r := range rep.Rows {
		var per []string
		for _, x := range r.RoundRPS {
			per = append(per, benchkit.FmtInt(x))
		}
		redisUS, cmds := "–", "–"
		if r.V.Store == "redis" {
			redisUS, cmds = fmt.Sprintf("%.0f µs", r.RedisUS), fmt.Sprintf("%.2f", r.RedisPer)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d of %s | %.0f µs | %s | %.0f µs | %s | %s |\n", r.V.Name, len(r.V.Targets),
			benchkit.FmtInt(r.RPS), benchkit.FmtDur(r.P50), benchkit.FmtDur(r.P99), r.Errors, benchkit.FmtInt(float64(r.OK+r.Errors)),
			r.CaddyUS, redisUS, r.AllUS, cmds, strings.Join(per, ", "))
		foreign = max(foreign, r.MaxForeign)
		repeats += r.Repeats
	}
	fmt.Fprintf(&b, "\nreq/s, p50, p99 and the CPU columns are medians over the rounds; errors are counted over all rounds. "+
		"CPU/req: CPU time (user+system) per request of the Caddy processes, of redis-server, and of both plus the benchmark process (the load generator). "+
		"Latency is the load generator's, from sending the request to reading the whole response. "+
		"The embedded store cannot be shared by two instances, so it has no `-2x` variant.\n")

	if len(rep.Ratios) > 0 {
		fmt.Fprintf(&b, "\n| ratio of req/s | of the medians | median per round | range per round |\n| --- | ---: | ---: | ---: |\n")
		for _, r := range rep.Ratios {
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f – %.3f |\n", r.Label, r.Value, r.Paired, r.Min, r.Max)
		}
	}

	fmt.Fprintf(&b, "\nRedis commands per request (`INFO commandstats` before and after every run, the INFO and DBSIZE calls of the measurement left out; all rounds):\n\n")
	fmt.Fprintf(&b, "| variant | requests | Redis commands | per request |\n| --- | ---: | ---: | --- |\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.V.Name, benchkit.FmtInt(float64(r.OK)), benchkit.FmtInt(float64(r.RedisCmds.Total())), r.RedisCmds.PerReq(r.OK))
	}
	fmt.Fprintf(&b, "\n(The embedded variants' commands are the idle Redis instances' background work. "+
		"`INFO commandstats` also counts the commands scripts run inside Redis; the round trips are below.)\n")
	for _, t := range rep.Traces {
		fmt.Fprintf(&b, "\nRedis commands of %s, traced with `redis-cli MONITOR` before the load (PING left out): "+
			"**%d round trip%s**, %d more commands inside scripts:\n\n", t.What, t.RoundTrips, plural(t.RoundTrips), t.Scripted)
		for i, s := range t.Steps {
			fmt.Fprintf(&b, "%d. `%s`\n", i+1, s)
		}
	}

	fmt.Fprintf(&b, "\nWhat each request leaves in its store (all rounds): Redis keys (`DBSIZE`) and memory (`used_memory`), or the growth of the bolt file "+
		"(which grows in large steps and reuses freed pages, so this is coarse):\n\n")
	fmt.Fprintf(&b, "| variant | requests | keys | per request | bytes | per request |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rep.Rows {
		keys, perKey := "–", "–"
		if r.Keys >= 0 {
			keys, perKey = benchkit.FmtInt(float64(r.Keys)), fmt.Sprintf("%.2f", float64(r.Keys)/float64(max(r.OK, 1)))
		}
		what := "Redis"
		if r.V.Store == "embedded" {
			what = "bolt file"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s (%s) | %.0f |\n", r.V.Name, benchkit.FmtInt(float64(r.OK)), keys, perKey,
			benchkit.FmtInt(float64(r.Bytes)), what, float64(r.Bytes)/float64(max(r.OK, 1)))
	}

	b.WriteString(benchkit.ForeignNote(foreign, repeats, o.Quiet))
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
