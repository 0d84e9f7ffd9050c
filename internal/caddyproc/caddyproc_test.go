package caddyproc

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLeasePorts(t *testing.T) {
	t.Parallel()
	ports, leases, err := LeasePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	defer leases.Close()
	seen := map[int]bool{}
	for _, p := range ports {
		if p < 20000 || p >= 32000 || seen[p] {
			t.Errorf("port %d: outside 20000-31999 or repeated in %v", p, ports)
		}
		seen[p] = true
	}
}

func TestPoll(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		cond func(n int) (bool, error)
		want error
	}{
		{"holds at once", context.Background(), func(int) (bool, error) { return true, nil }, nil},
		{"holds on the third check", context.Background(), func(n int) (bool, error) { return n >= 3, nil }, nil},
		{"never holds", context.Background(), func(int) (bool, error) { return false, nil }, ErrTimeout},
		{"fails", context.Background(), func(int) (bool, error) { return false, boom }, boom},
		{"context ended", canceled, func(int) (bool, error) { return false, nil }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			err := Poll(tc.ctx, 100*time.Millisecond, func() (bool, error) { n++; return tc.cond(n) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("Poll = %v after %d checks, want %v", err, n, tc.want)
			}
		})
	}
}
