package caddyproc

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is Poll's error when the condition did not hold in time.
var ErrTimeout = errors.New("condition not met in time")

// PollInterval is how long Poll waits between two checks.
const PollInterval = 20 * time.Millisecond

// Poll checks cond every PollInterval until it holds, returning nil; an
// error from cond ends the wait with that error, and within passing, or
// ctx ending, with ErrTimeout or ctx's error. It is how the tests and the
// benchmarks wait for a state they can observe instead of sleeping.
func Poll(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
