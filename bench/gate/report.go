package gate

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

type row struct {
	Name          string
	RPS           float64 // medians over rounds
	P50, P99      time.Duration
	RoundRPS      []float64
	CaddyUS       float64 // median Caddy CPU µs per request
	AllUS         float64 // median CPU µs per request of Caddy, upstream and wrk
	MaxForeign    float64 // worst foreign CPU share of a run
	Repeats       int     // runs discarded for foreign load
	TotalRequests int64
	RedisPerReq   float64               // median Redis commands per request (with -redis)
	RedisCmds     benchkit.CommandStats // summed over the rounds
}

type report struct {
	benchkit.Machine
	Wrk    string
	Opts   options
	Rows   []row
	Ratios []benchkit.Ratio
	// Controls are ratios without a target (-controls): the gate against
	// the same Caddy's noauth and against its site without the gate.
	Controls []benchkit.Ratio
	Command  string
	Redis    string // the Redis server, with -redis
}

func buildReport(ctx context.Context, o options, root string, variants []variant, results map[string][]*wrkResult) *report {
	rep := &report{Machine: benchkit.DescribeMachine(ctx, root), Opts: o, Wrk: wrkVersion(o.wrkBin)}
	rep.Command = fmt.Sprintf("wrk -t%d -c%d -d%s --timeout %s --latency -H \"Authorization: Bearer <token>\" <url>",
		o.threads, o.conns, wrkDuration(o.Duration), wrkDuration(o.timeout))
	byName := map[string]row{}
	for _, v := range variants {
		rs := results[v.Name]
		r := row{Name: v.Name}
		var p50, p99 []time.Duration
		var cus, aus, rpr []float64
		for _, x := range rs {
			rpr = append(rpr, x.redisPerReq())
			r.RedisCmds = r.RedisCmds.Add(x.RedisCmds)
			r.RoundRPS = append(r.RoundRPS, x.RPS)
			p50 = append(p50, x.P50)
			p99 = append(p99, x.P99)
			cus = append(cus, x.caddyPerReq())
			aus = append(aus, x.allPerReq())
			r.MaxForeign = max(r.MaxForeign, x.foreignShare())
			r.Repeats += x.Repeats
			r.TotalRequests += x.Requests
		}
		r.RPS, r.P50, r.P99 = median(r.RoundRPS), median(p50), median(p99)
		r.CaddyUS, r.AllUS = median(cus), median(aus)
		r.RedisPerReq = median(rpr)
		rep.Rows = append(rep.Rows, r)
		byName[v.Name] = r
	}
	// mk adds the ratio num/den to list when both were measured.
	mk := func(list *[]benchkit.Ratio, label, num, den string, target float64) {
		n, okN := byName[num]
		d, okD := byName[den]
		if okN && okD {
			*list = append(*list, benchkit.NewRatio(label, n.RoundRPS, d.RoundRPS, target))
		}
	}
	for _, k := range []string{"ES256", "HS256"} {
		mk(&rep.Ratios, "gate-"+k+" / noauth", "gate-"+k, "noauth", targetVsNoAuth)
		mk(&rep.Ratios, "gate-"+k+" / forward_auth-"+k, "gate-"+k, "forward_auth-"+k, targetVsForwardAuth)
	}
	// The same gate on the Redis store and on the embedded one: a cache
	// hit makes no Redis round trip, so it must keep the same throughput.
	mk(&rep.Ratios, "gate-redis / gate-ES256", "gate-redis", "gate-ES256", targetRedisVsEmbedded)
	mk(&rep.Ratios, "gate-redis / noauth", "gate-redis", "noauth", targetVsNoAuth)
	mk(&rep.Controls, "gate-HS256 / noauth-HS256", "gate-HS256", "noauth-HS256", 0)
	mk(&rep.Controls, "gate-ES256 / route-ES256", "gate-ES256", "route-ES256", 0)
	mk(&rep.Controls, "gate-HS256 / route-HS256", "gate-HS256", "route-HS256", 0)
	mk(&rep.Controls, "noauth-HS256 / noauth", "noauth-HS256", "noauth", 0)
	mk(&rep.Controls, "route-ES256 / noauth", "route-ES256", "noauth", 0)
	mk(&rep.Controls, "gate-redis / noauth-redis", "gate-redis", "noauth-redis", 0)
	mk(&rep.Controls, "noauth-redis / noauth", "noauth-redis", "noauth", 0)
	return rep
}

func (rep *report) allMet() bool {
	for _, r := range rep.Ratios {
		if !r.Met() {
			return false
		}
	}
	return true
}

func (rep *report) markdown() string {
	var b strings.Builder
	o := rep.Opts
	fmt.Fprintf(&b, "# Gate benchmark, %s\n\n", rep.Date.Format("2006-01-02 15:04 MST"))
	admin := "`admin off`"
	if o.Profile > 0 {
		admin = "admin on (for -profile)"
	}
	fmt.Fprintf(&b, "- Code: %s; Caddy v2.11.9 built with %s; plain http on 127.0.0.1, %s, log level WARN\n", rep.Commit, rep.Go, admin)
	fmt.Fprintf(&b, "- Machine: %s, %d logical CPUs (shared by wrk, Caddy and the Go upstream)\n", rep.CPU, rep.Cores)
	if rep.Redis != "" {
		fmt.Fprintf(&b, "- Redis (`-redis`): the `redis` Caddy (ES256) has `storage redis` on %s; the others the embedded bolt store\n", rep.Redis)
	}
	fmt.Fprintf(&b, "- Load: `%s` (%s), %d rounds, variants interleaved in every round, %s warm-up each first\n",
		rep.Command, rep.Wrk, o.Rounds, wrkDuration(o.Warmup))
	fmt.Fprintf(&b, "- Every run: no \"Non-2xx or 3xx responses\", no socket errors; one access token per Caddy, so the gate serves it from its verification cache\n\n")

	redis := rep.Redis != ""
	redisCol, redisSep := "", ""
	if redis {
		redisCol, redisSep = " Redis cmds/req |", " ---: |"
	}
	fmt.Fprintf(&b, "| variant | req/s | p50 | p99 | Caddy CPU/req | all CPU/req |%s req/s per round |\n", redisCol)
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: |%s --- |\n", redisSep)
	foreign, repeats := 0.0, 0
	for _, r := range rep.Rows {
		repeats += r.Repeats
		var per []string
		for _, x := range r.RoundRPS {
			per = append(per, fmtInt(x))
		}
		cmds := ""
		if redis {
			cmds = fmt.Sprintf(" %.4f |", r.RedisPerReq)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f µs | %.0f µs |%s %s |\n", r.Name, fmtInt(r.RPS), fmtDur(r.P50), fmtDur(r.P99),
			r.CaddyUS, r.AllUS, cmds, strings.Join(per, ", "))
		foreign = max(foreign, r.MaxForeign)
	}
	fmt.Fprintf(&b, "\nAll columns but the last are medians over the rounds. CPU/req: CPU time (user+system) per request "+
		"of the measured Caddy process, and of Caddy, the upstream, wrk (and Redis) together.\n")
	if redis {
		fmt.Fprintf(&b, "\nRedis commands (`INFO commandstats` before and after every run, the INFO calls themselves left out) "+
			"during all the rounds of each variant. Only the `redis` Caddy talks to Redis, so under the other variants this is its idle background work:\n\n")
		fmt.Fprintf(&b, "| variant | requests | Redis commands | per request | commands |\n")
		fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | --- |\n")
		for _, r := range rep.Rows {
			n := r.RedisCmds.Total()
			fmt.Fprintf(&b, "| %s | %s | %d | %.6f | %s |\n", r.Name, fmtInt(float64(r.TotalRequests)), n,
				float64(n)/float64(max(r.TotalRequests, 1)), r.RedisCmds)
		}
	}

	fmt.Fprintf(&b, "\n| ratio of req/s | of the medians | median per round | range per round | target | |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rep.Ratios {
		verdict := "met"
		if !r.Met() {
			verdict = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f – %.3f | ≥ %.2f | %s |\n", r.Label, r.Value, r.Paired, r.Min, r.Max, r.Target, verdict)
	}
	fmt.Fprintf(&b, "\nThe verdict is on the ratio of the medians.\n")
	if len(rep.Controls) > 0 {
		fmt.Fprintf(&b, "\nControls (`noauth-HS256`/`noauth-redis`: that Caddy's noauth site; `route-*`: the gate's site, `route /mcp* { reverse_proxy }`, without the gate):\n\n")
		fmt.Fprintf(&b, "| ratio of req/s | of the medians | median per round | range per round |\n")
		fmt.Fprintf(&b, "| --- | ---: | ---: | ---: |\n")
		for _, r := range rep.Controls {
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f – %.3f |\n", r.Label, r.Value, r.Paired, r.Min, r.Max)
		}
	}
	fmt.Fprintf(&b, "\nVariants: `noauth` reverse_proxy only; `gate-*` `mcp_oauth_verify` then reverse_proxy; "+
		"`forward_auth-*` forward_auth to the same Caddy's `/verify?resource=…` then reverse_proxy. "+
		"ES256: generated keys; HS256: `jwt_secret`. Same upstream (a Go net/http server answering a %d-byte 200) for all.\n", len(upstreamBody))
	if redis {
		fmt.Fprintf(&b, "`gate-redis`: the gate on the ES256 Caddy whose store is Redis (the embedded-store ES256 gate is `gate-ES256`)"+
			"; `noauth-redis` (with -controls): that Caddy's noauth site.\n")
	}
	b.WriteString(benchkit.ForeignNote(foreign, repeats, o.Quiet))
	return b.String()
}

func median[T float64 | time.Duration](xs []T) T { return benchkit.Median(xs) }
func fmtInt(x float64) string                    { return benchkit.FmtInt(x) }
func fmtDur(d time.Duration) string              { return benchkit.FmtDur(d) }
func fmtShare(x float64) string                  { return benchkit.FmtShare(x) }

func wrkVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(line); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return "wrk"
}
