package benchkit

import (
	"context"
	"fmt"
	"time"
)

// Quiet is the guard against other load on the machine: before each run
// wait (up to Wait) until processes outside the benchmark use at most
// MaxForeign of the machine, and repeat (up to Retries times) a run during
// which they used more. MaxForeign 0 turns the guard off.
type Quiet struct {
	MaxForeign float64
	Retries    int
	Wait       time.Duration
}

// Measured is what one run reports to MeasureQuiet.
type Measured interface {
	// Usage is the CPU time the run spent, by whom.
	Usage() CPUUse
	// SetRepeats records how many runs were discarded before this one.
	SetRepeats(n int)
}

// MeasureQuiet runs run under q's guard for the processes procs and
// returns the run it kept. name names the run in progress lines.
func MeasureQuiet[R Measured](ctx context.Context, q Quiet, procs Procs, name string, run func() (R, error)) (R, error) {
	for attempt := 0; ; attempt++ {
		if q.MaxForeign > 0 {
			WaitQuiet(ctx, procs, q.MaxForeign, q.Wait)
		}
		res, err := run()
		if err != nil {
			return res, err
		}
		res.SetRepeats(attempt)
		share := res.Usage().ForeignShare()
		if q.MaxForeign <= 0 || share <= q.MaxForeign || attempt >= q.Retries {
			return res, nil
		}
		Logf("%s: other processes used %s of the machine during the run; measuring again", name, FmtShare(share))
	}
}

// ForeignNote is the report's closing paragraph on other load: the worst
// foreign share of a kept run and how many runs were repeated.
func ForeignNote(worst float64, repeats int, q Quiet) string {
	s := fmt.Sprintf("\nOther load on the machine: at most %s of its CPU in any kept run (CPU time of processes outside the benchmark, plus steal); "+
		"%d runs were repeated because other processes used more than %s.\n", FmtShare(worst), repeats, FmtShare(q.MaxForeign))
	if worst > max(q.MaxForeign, 0.05) {
		s += "**Warning: something else used the machine during the measurement; the numbers are skewed.**\n"
	}
	return s
}

// Interleave runs each of rounds rounds over every variant in order, so
// that the variants of one round run back to back under the same
// conditions. It stops at the first error or when ctx ends.
func Interleave[V any](ctx context.Context, rounds int, variants []V, each func(round int, v V) error) error {
	for r := 1; r <= rounds; r++ {
		for _, v := range variants {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := each(r, v); err != nil {
				return err
			}
		}
	}
	return nil
}
