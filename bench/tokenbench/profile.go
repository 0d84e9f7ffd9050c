package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

// profileVariants loads each variant again while the admin endpoint of its
// first instance records a CPU profile, and prints the hottest functions
// and the plugin's share. The profiles stay outside the work directory
// for `go tool pprof`.
func profileVariants(ctx context.Context, o options, variants []*variant, hc *http.Client, procs benchkit.Procs) (string, error) {
	dir, err := os.MkdirTemp("", "tokenbench-profiles-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "caddy")
	if err := benchkit.CopyFile(o.caddyBin, bin); err != nil {
		return "", err
	}
	want := map[string]bool{}
	for _, n := range strings.Split(o.profileOnly, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	secs := max(int(o.profile/time.Second), 1)
	var md strings.Builder
	for _, v := range variants {
		if len(want) > 0 && !want[v.Name] {
			continue
		}
		in := v.Targets[0]
		path := filepath.Join(dir, v.Name+".pprof")
		if o.maxForeign > 0 {
			benchkit.WaitQuiet(ctx, procs, o.maxForeign, o.quietWait)
		}
		benchkit.Logf("profiling %s on %s for %ds", v.Name, in.name, secs)
		type out struct {
			res *loadResult
			err error
		}
		done := make(chan out, 1)
		go func() {
			// Load starts first and outlasts the profile.
			res, err := runLoad(ctx, v, time.Duration(secs+2)*time.Second, o.workers, hc, procs, nil)
			done <- out{res, err}
		}()
		time.Sleep(500 * time.Millisecond)
		perr := benchkit.FetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", in.adminAddr(), secs), path)
		r := <-done
		if r.err != nil {
			return "", r.err
		}
		if r.res.Errors > 0 {
			return "", fmt.Errorf("%s under profiling: %d requests failed: %s", v.Name, r.res.Errors, strings.Join(r.res.Samples, "; "))
		}
		if perr != nil {
			return "", fmt.Errorf("profile %s: %v", v.Name, perr)
		}
		top, err := benchkit.PprofTop(ctx, bin, path, "-nodecount=35")
		if err != nil {
			return "", err
		}
		cum, err := benchkit.PprofTop(ctx, bin, path, "-cum", "-nodecount=45")
		if err != nil {
			return "", err
		}
		_ = os.WriteFile(filepath.Join(dir, v.Name+".top.txt"), append(top, cum...), 0o644)
		fmt.Fprintf(&md, "\n## CPU profile: %s (%s, %ds under load, %.0f req/s meanwhile)\n\n```\n%s```\n", v.Name, in.name, secs, r.res.RPS, top)
		fmt.Fprintf(&md, "\nBy cumulative share:\n\n```\n%s```\n", cum)
	}
	benchkit.Logf("profiles in %s (go tool pprof %s %s/<variant>.pprof)", dir, bin, dir)
	return md.String(), nil
}
