package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ProfileTarget is one variant to profile: the Caddy serving it and the
// load to put on it meanwhile.
type ProfileTarget struct {
	Name  string
	Caddy string // names the Caddy in the heading
	Admin string // host:port of that Caddy's admin API
	// Load loads the variant for d and returns a note for the heading
	// (", 5,000 req/s meanwhile"), or why the load failed.
	Load func(ctx context.Context, d time.Duration) (string, error)
}

// PprofView is one `go tool pprof -top` view of every profile.
type PprofView struct {
	Title string   // the line above it; the first view has none
	Args  []string // pprof's options
	// NoSamples, when set, stands in for a view pprof refuses (a -focus
	// that matches nothing) instead of failing the benchmark.
	NoSamples string
}

// Profile records Caddy's CPU profile (admin /debug/pprof/profile) for d
// while each target's load runs, and renders views of each as Markdown.
// The raw profiles and a copy of bin stay in a directory named after
// prefix, outside the work directory, for `go tool pprof`.
func Profile(ctx context.Context, prefix, bin string, d time.Duration, q Quiet, procs Procs, targets []ProfileTarget, views []PprofView) (string, error) {
	dir, err := os.MkdirTemp("", prefix+"-profiles-")
	if err != nil {
		return "", err
	}
	keep := filepath.Join(dir, "caddy")
	if err := CopyFile(bin, keep); err != nil {
		return "", err
	}
	secs := max(int(d/time.Second), 1)
	var md strings.Builder
	for _, t := range targets {
		if q.MaxForeign > 0 {
			WaitQuiet(ctx, procs, q.MaxForeign, q.Wait)
		}
		Logf("profiling %s on %s for %ds", t.Name, t.Caddy, secs)
		path := filepath.Join(dir, t.Name+".pprof")
		note, err := profileOne(ctx, t, secs, path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&md, "\n## CPU profile: %s (%s, %ds under load%s)\n", t.Name, t.Caddy, secs, note)
		for _, v := range views {
			top, err := pprofTop(ctx, keep, path, v.Args...)
			if err != nil && v.NoSamples == "" {
				return "", err
			}
			if err != nil {
				top = []byte(v.NoSamples + "\n")
			}
			if v.Title != "" {
				fmt.Fprintf(&md, "\n%s:\n", v.Title)
			}
			fmt.Fprintf(&md, "\n```\n%s```\n", top)
		}
	}
	Logf("profiles in %s (go tool pprof %s %s/<variant>.pprof)", dir, keep, dir)
	return md.String(), nil
}

// profileOne loads t while fetching a profile of secs seconds into path.
func profileOne(ctx context.Context, t ProfileTarget, secs int, path string) (string, error) {
	type loaded struct {
		note string
		err  error
	}
	done := make(chan loaded, 1)
	go func() {
		// The load starts before the profile and outlasts it.
		note, err := t.Load(ctx, time.Duration(secs+2)*time.Second)
		done <- loaded{note, err}
	}()
	// Time, not a state: the load's first half second is its ramp-up
	// (connections opening), which the profile leaves out.
	time.Sleep(500 * time.Millisecond)
	perr := fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", t.Admin, secs), path)
	l := <-done
	if l.err != nil {
		return "", fmt.Errorf("%s under profiling: %v", t.Name, l.err)
	}
	if perr != nil {
		return "", fmt.Errorf("profile %s: %v", t.Name, perr)
	}
	return l.note, nil
}

// fetchProfile saves what url (a /debug/pprof/ endpoint) answers to path.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pprofTop runs go tool pprof -top with args on a profile of bin.
func pprofTop(ctx context.Context, bin, profile string, args ...string) ([]byte, error) {
	argv := append([]string{"tool", "pprof", "-top"}, args...)
	argv = append(argv, bin, profile)
	out, err := exec.CommandContext(ctx, "go", argv...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("go tool pprof: %v\n%s", err, out)
	}
	return out, nil
}
