package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
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
}

type ratio struct {
	Label  string
	Num    string // variant names
	Den    string
	Value  float64 // ratio of the medians
	Min    float64 // per-round ratios
	Max    float64
	Paired float64 // median of the per-round ratios
	Target float64
}

func (r ratio) met() bool { return r.Value >= r.Target }

type report struct {
	Date   time.Time
	Commit string
	Go     string
	CPU    string
	Cores  int
	Wrk    string
	Opts   options
	Rows   []row
	Ratios []ratio
	// Controls are ratios without a target (-controls): the gate against
	// the same Caddy's noauth and against its site without the gate.
	Controls []ratio
	Command  string
}

func buildReport(ctx context.Context, o options, root string, variants []variant, results map[string][]*wrkResult) *report {
	rep := &report{Date: time.Now(), Go: runtime.Version(), CPU: cpuModel(), Cores: runtime.NumCPU(), Opts: o,
		Commit: gitDescribe(ctx, root), Wrk: wrkVersion(o.wrkBin)}
	rep.Command = fmt.Sprintf("wrk -t%d -c%d -d%s --timeout %s --latency -H \"Authorization: Bearer <token>\" <url>",
		o.threads, o.conns, wrkDuration(o.duration), wrkDuration(o.timeout))
	byName := map[string]row{}
	for _, v := range variants {
		rs := results[v.Name]
		r := row{Name: v.Name}
		var p50, p99 []time.Duration
		var cus, aus []float64
		for _, x := range rs {
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
		rep.Rows = append(rep.Rows, r)
		byName[v.Name] = r
	}
	mk := func(label, num, den string, target float64) ratio {
		n, d := byName[num], byName[den]
		rt := ratio{Label: label, Num: num, Den: den, Value: n.RPS / d.RPS, Target: target}
		var per []float64
		for i := range n.RoundRPS {
			x := n.RoundRPS[i] / d.RoundRPS[i]
			per = append(per, x)
			if i == 0 || x < rt.Min {
				rt.Min = x
			}
			if i == 0 || x > rt.Max {
				rt.Max = x
			}
		}
		rt.Paired = median(per)
		return rt
	}
	for _, k := range []string{"ES256", "HS256"} {
		rep.Ratios = append(rep.Ratios,
			mk("gate-"+k+" / noauth", "gate-"+k, "noauth", targetVsNoAuth),
			mk("gate-"+k+" / forward_auth-"+k, "gate-"+k, "forward_auth-"+k, targetVsForwardAuth))
	}
	if o.controls {
		rep.Controls = append(rep.Controls,
			mk("gate-HS256 / noauth-HS256", "gate-HS256", "noauth-HS256", 0),
			mk("gate-ES256 / route-ES256", "gate-ES256", "route-ES256", 0),
			mk("gate-HS256 / route-HS256", "gate-HS256", "route-HS256", 0),
			mk("noauth-HS256 / noauth", "noauth-HS256", "noauth", 0),
			mk("route-ES256 / noauth", "route-ES256", "noauth", 0))
	}
	return rep
}

func (rep *report) allMet() bool {
	for _, r := range rep.Ratios {
		if !r.met() {
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
	if o.profile > 0 {
		admin = "admin on (for -profile)"
	}
	fmt.Fprintf(&b, "- Code: %s; Caddy v2.11.9 built with %s; plain http on 127.0.0.1, %s, log level WARN\n", rep.Commit, rep.Go, admin)
	fmt.Fprintf(&b, "- Machine: %s, %d logical CPUs (shared by wrk, Caddy and the Go upstream)\n", rep.CPU, rep.Cores)
	fmt.Fprintf(&b, "- Load: `%s` (%s), %d rounds, variants interleaved in every round, %s warm-up each first\n",
		rep.Command, rep.Wrk, o.rounds, wrkDuration(o.warmup))
	fmt.Fprintf(&b, "- Every run: no \"Non-2xx or 3xx responses\", no socket errors; one access token per Caddy, so the gate serves it from its verification cache\n\n")

	fmt.Fprintf(&b, "| variant | req/s | p50 | p99 | Caddy CPU/req | all CPU/req | req/s per round |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	foreign, repeats := 0.0, 0
	for _, r := range rep.Rows {
		repeats += r.Repeats
		var per []string
		for _, x := range r.RoundRPS {
			per = append(per, fmtInt(x))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f µs | %.0f µs | %s |\n", r.Name, fmtInt(r.RPS), fmtDur(r.P50), fmtDur(r.P99),
			r.CaddyUS, r.AllUS, strings.Join(per, ", "))
		foreign = max(foreign, r.MaxForeign)
	}
	fmt.Fprintf(&b, "\nAll columns but the last are medians over the rounds. CPU/req: CPU time (user+system) per request "+
		"of the measured Caddy process, and of Caddy, the upstream and wrk together.\n")

	fmt.Fprintf(&b, "\n| ratio of req/s | of the medians | median per round | range per round | target | |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rep.Ratios {
		verdict := "met"
		if !r.met() {
			verdict = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f – %.3f | ≥ %.2f | %s |\n", r.Label, r.Value, r.Paired, r.Min, r.Max, r.Target, verdict)
	}
	fmt.Fprintf(&b, "\nThe verdict is on the ratio of the medians.\n")
	if len(rep.Controls) > 0 {
		fmt.Fprintf(&b, "\nControls (`noauth-HS256`: the HS256 Caddy's noauth site; `route-*`: the gate's site, `route /mcp* { reverse_proxy }`, without the gate):\n\n")
		fmt.Fprintf(&b, "| ratio of req/s | of the medians | median per round | range per round |\n")
		fmt.Fprintf(&b, "| --- | ---: | ---: | ---: |\n")
		for _, r := range rep.Controls {
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f – %.3f |\n", r.Label, r.Value, r.Paired, r.Min, r.Max)
		}
	}
	fmt.Fprintf(&b, "\nVariants: `noauth` reverse_proxy only; `gate-*` `mcp_oauth_verify` then reverse_proxy; "+
		"`forward_auth-*` forward_auth to the same Caddy's `/verify?resource=…` then reverse_proxy. "+
		"ES256: generated keys; HS256: `jwt_secret`. Same upstream (a Go net/http server answering a %d-byte 200) for all.\n", len(upstreamBody))
	fmt.Fprintf(&b, "\nOther load on the machine: at most %s of its CPU in any kept run (CPU time of processes outside the benchmark, plus steal); "+
		"%d runs were repeated because other processes used more than %s.\n", fmtShare(foreign), repeats, fmtShare(o.maxForeign))
	if foreign > max(o.maxForeign, 0.05) {
		fmt.Fprintf(&b, "**Warning: something else used the machine during the measurement; the numbers are skewed.**\n")
	}
	return b.String()
}

func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtInt(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// gitDescribe names the measured code: the commit, and whether the
// working tree differed from it.
func gitDescribe(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		s += " (with uncommitted changes in the working tree)"
	}
	return s
}

func wrkVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(line); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return "wrk"
}
