package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

// profileVariants loads each variant with wrk while Caddy's admin endpoint
// records a CPU profile, and prints the hottest functions. The profiles
// stay in a directory outside the work directory for `go tool pprof`.
func profileVariants(ctx context.Context, o options, wc wrkConfig, variants []variant) (string, error) {
	dir, err := os.MkdirTemp("", "gatebench-profiles-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "caddy")
	if err := benchkit.CopyFile(o.caddyBin, bin); err != nil {
		return "", err
	}
	var md strings.Builder
	want := map[string]bool{}
	for _, n := range strings.Split(o.profileOnly, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	secs := int(o.profile / time.Second)
	if secs < 1 {
		secs = 1
	}
	for _, v := range variants {
		if len(want) > 0 && !want[v.Name] {
			continue
		}
		path := filepath.Join(dir, v.Name+".pprof")
		if o.maxForeign > 0 {
			benchkit.WaitQuiet(ctx, wc.Procs, o.maxForeign, o.quietWait)
		}
		logf("profiling %s for %ds", v.Name, secs)
		done := make(chan error, 1)
		go func() {
			c := wc
			c.AuthorizationValue = "Bearer " + v.Token
			// Load starts first and outlasts the profile.
			res, err := runWrk(ctx, c, v.URL, time.Duration(secs+2)*time.Second)
			if err == nil {
				if why := res.failure(); why != "" {
					err = fmt.Errorf("%s under profiling: %s", v.Name, why)
				}
			}
			done <- err
		}()
		time.Sleep(500 * time.Millisecond)
		perr := benchkit.FetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", v.Caddy.adminAddr(), secs), path)
		if err := <-done; err != nil {
			return "", err
		}
		if perr != nil {
			return "", fmt.Errorf("profile %s: %v", v.Name, perr)
		}
		top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", bin, path).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go tool pprof: %v\n%s", err, top)
		}
		// The plugin's own cost: samples in its code that are not in the
		// reverse_proxy it calls (the gate runs the proxy as its next handler).
		own, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=25",
			"-focus=mcpoauth", "-ignore=reverseproxy", bin, path).CombinedOutput()
		if err != nil {
			own = []byte("(no samples in the plugin outside reverse_proxy)\n")
		}
		_ = os.WriteFile(filepath.Join(dir, v.Name+".top.txt"), append(top, own...), 0o644)
		fmt.Fprintf(&md, "\n## CPU profile: %s (Caddy %s, %ds under wrk)\n\n```\n%s```\n", v.Name, v.Caddy.name, secs, top)
		fmt.Fprintf(&md, "\nPlugin code outside reverse_proxy (-focus=mcpoauth -ignore=reverseproxy):\n\n```\n%s```\n", own)
	}
	logf("profiles in %s (go tool pprof %s %s/<variant>.pprof)", dir, bin, dir)
	return md.String(), nil
}
