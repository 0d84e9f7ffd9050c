package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/gate"
	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/bench/tokens"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
)

// modes are the benchmarks, by name: each registers its flags and returns
// the Mode with its common options.
var modes = map[string]func(fs *flag.FlagSet) (benchkit.Mode, *benchkit.Options){
	"gate": func(fs *flag.FlagSet) (benchkit.Mode, *benchkit.Options) {
		b := gate.New(fs)
		return b, b.Options()
	},
	"tokens": func(fs *flag.FlagSet) (benchkit.Mode, *benchkit.Options) {
		b := tokens.New(fs)
		return b, b.Options()
	},
}

func main() {
	if len(os.Args) < 2 || modes[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench gate|tokens [flags]  (go run ./bench <mode> -h for the flags)")
		os.Exit(2)
	}
	name := os.Args[1]
	fs := flag.NewFlagSet("bench "+name, flag.ExitOnError)
	mode, opts := modes[name](fs)
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, name, mode, opts)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", name, err)
		os.Exit(1)
	}
}

// run is the one path of every mode: the environment, then setup,
// measure and report, and the results file.
func run(ctx context.Context, name string, m benchkit.Mode, o *benchkit.Options) error {
	env, cleanup, err := newEnv(ctx, name, o)
	if err != nil {
		return err
	}
	defer cleanup()
	defer m.Close()
	if err := m.Setup(ctx, env); err != nil {
		return err
	}
	if err := m.Measure(ctx); err != nil {
		return err
	}
	text, rerr := m.Report(ctx)
	if rerr != nil && !errors.Is(rerr, benchkit.ErrMissed) {
		return rerr
	}
	fmt.Print(text)
	if !o.NoWrite {
		if err := benchkit.WriteResult(env.Root, o.OutDir, name+".md", text); err != nil {
			return err
		}
	}
	return rerr
}

// newEnv finds the module root, makes the work directory and builds Caddy
// into it unless -caddy names one.
func newEnv(ctx context.Context, name string, o *benchkit.Options) (*benchkit.Env, func(), error) {
	root, err := caddyproc.ModuleRoot(ctx)
	if err != nil {
		return nil, nil, err
	}
	work, err := os.MkdirTemp("", "bench-"+name+"-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		if o.Keep {
			benchkit.Logf("work directory kept: %s", work)
		} else {
			_ = os.RemoveAll(work)
		}
	}
	env := &benchkit.Env{Root: root, Work: work, CaddyBin: o.CaddyBin}
	if env.CaddyBin == "" {
		benchkit.Logf("building the plugin's Caddy from ./cmd/caddy")
		if env.CaddyBin, err = caddyproc.Build(ctx, work); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	return env, cleanup, nil
}
