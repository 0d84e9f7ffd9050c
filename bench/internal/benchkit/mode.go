package benchkit

import (
	"context"
	"errors"
	"flag"
	"time"
)

// Mode is one benchmark of the bench command. The command runs Setup,
// Measure and Report in that order, and Close whatever happened; Report's
// text is printed and written as results/<mode>.md.
type Mode interface {
	// Setup starts what is measured (Caddy processes, fakes, Redis), logs
	// in to get tokens and checks that every variant answers as it must.
	Setup(ctx context.Context, env *Env) error
	// Measure loads the variants, round after round, and keeps the
	// results; with -profile it also takes the CPU profiles.
	Measure(ctx context.Context) error
	// Report renders the results as Markdown. ErrMissed (with the text)
	// says a target was missed and -strict was given.
	Report(ctx context.Context) (string, error)
	// Close stops everything Setup started.
	Close()
}

// ErrMissed is Report's error when a target was missed under -strict.
var ErrMissed = errors.New("a target was missed")

// Env is what the command gives every mode.
type Env struct {
	Root     string // the module root
	Work     string // a temporary work directory (kept with -keep)
	CaddyBin string // the plugin's Caddy, built once per command
}

// Options are the flags every mode has.
type Options struct {
	Rounds      int
	Duration    time.Duration
	Warmup      time.Duration
	CaddyBin    string
	OutDir      string
	NoWrite     bool
	Keep        bool
	Only        string
	Profile     time.Duration
	ProfileOnly string
	Quiet       Quiet
}

// Register adds the common flags to fs, with the mode's defaults for
// rounds and duration.
func (o *Options) Register(fs *flag.FlagSet, rounds int, duration time.Duration) {
	fs.IntVar(&o.Rounds, "rounds", rounds, "measurement rounds; each runs every variant once, interleaved")
	fs.DurationVar(&o.Duration, "duration", duration, "load duration per variant and round")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unreported run per variant before round 1 (0: none)")
	fs.StringVar(&o.CaddyBin, "caddy", "", "prebuilt Caddy with the plugin (default: go build ./cmd/caddy)")
	fs.StringVar(&o.OutDir, "out", "bench/results", "directory of the results file <mode>.md (relative to the module root)")
	fs.BoolVar(&o.NoWrite, "no-write", false, "print the report only; do not write the results file")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory (Caddyfiles, logs, stores)")
	fs.StringVar(&o.Only, "variants", "", "comma-separated variants to measure (default: all that the other flags enable)")
	fs.DurationVar(&o.Profile, "profile", 0, "after measuring, take a CPU profile of this length per variant through Caddy's admin /debug/pprof (0: off; turns admin on)")
	fs.StringVar(&o.ProfileOnly, "profile-variants", "", "comma-separated variants to profile (default: all measured)")
	fs.Float64Var(&o.Quiet.MaxForeign, "max-foreign", 0.10, "share of the machine's CPU other processes may use during a run; a run above it is repeated (0: never repeat)")
	fs.IntVar(&o.Quiet.Retries, "retries", 4, "how often a run disturbed by other processes is repeated before it is kept anyway")
	fs.DurationVar(&o.Quiet.Wait, "quiet-wait", 2*time.Minute, "how long to wait before each run for other processes to calm down")
}

// Check refuses option values that make no measurement.
func (o *Options) Check() error {
	if o.Rounds < 1 || o.Duration < time.Second {
		return errors.New("need -rounds >= 1 and -duration >= 1s")
	}
	return nil
}
