package cimd

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is an injectable clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func wantBusy(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Kind != KindBusy {
		t.Fatalf("err = %v, want busy", err)
	}
	if retry != 0 && e.RetryAfter != retry {
		t.Fatalf("RetryAfter = %v, want %v", e.RetryAfter, retry)
	}
}

func TestHostTableConcurrency(t *testing.T) {
	t.Parallel()
	c := newClock()
	tab := newHostTable(4, 6)
	for range 4 {
		if err := tab.acquire("a.example", c.Now()); err != nil {
			t.Fatal(err)
		}
	}
	wantBusy(t, tab.acquire("a.example", c.Now()), time.Second)
	// Other hosts are not held up by a's bound, only by the total.
	for range 2 {
		if err := tab.acquire("b.example", c.Now()); err != nil {
			t.Fatal(err)
		}
	}
	wantBusy(t, tab.acquire("c.example", c.Now()), 0)
	tab.release("a.example", c.Now(), false)
	if err := tab.acquire("c.example", c.Now()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tab.release("a.example", c.Now(), false)
	}
	tab.release("b.example", c.Now(), false)
	tab.release("b.example", c.Now(), false)
	tab.release("c.example", c.Now(), false)
	if tab.total != 0 || len(tab.m) != 0 {
		t.Fatalf("total %d, hosts %d after all released", tab.total, len(tab.m))
	}
}

func TestHostTableBackoff(t *testing.T) {
	t.Parallel()
	c := newClock()
	tab := newHostTable(4, 32)
	fail := func() {
		t.Helper()
		if err := tab.acquire("h", c.Now()); err != nil {
			t.Fatalf("acquire after the backoff: %v", err)
		}
		tab.release("h", c.Now(), true)
	}
	for _, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		fail()
		wantBusy(t, tab.acquire("h", c.Now()), want*time.Second)
		c.Add(want*time.Second - time.Millisecond)
		wantBusy(t, tab.acquire("h", c.Now()), time.Millisecond)
		c.Add(time.Millisecond)
	}
	// The backoff is the host's, whoever asks; other hosts are unaffected.
	fail()
	if err := tab.acquire("other", c.Now()); err != nil {
		t.Fatal(err)
	}
	tab.release("other", c.Now(), false)
	// A success ends it: the next failure starts again at 1 s.
	c.Add(MaxBackoff)
	if err := tab.acquire("h", c.Now()); err != nil {
		t.Fatal(err)
	}
	tab.release("h", c.Now(), false)
	fail()
	wantBusy(t, tab.acquire("h", c.Now()), time.Second)
	// A failure long forgotten starts again at 1 s too.
	c.Add(time.Second + MaxBackoff)
	fail()
	wantBusy(t, tab.acquire("h", c.Now()), time.Second)
}

func TestHostTableBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	tab := newHostTable(4, 32)
	for i := range maxHosts {
		h := "h" + strconv.Itoa(i)
		if err := tab.acquire(h, c.Now()); err != nil {
			t.Fatal(err)
		}
		tab.release(h, c.Now(), true)
	}
	wantBusy(t, tab.acquire("new.example", c.Now()), MaxBackoff)
	c.Add(time.Second + MaxBackoff)
	if err := tab.acquire("new.example", c.Now()); err != nil {
		t.Fatalf("after the backoffs were forgotten: %v", err)
	}
	if len(tab.m) != 1 {
		t.Fatalf("%d hosts kept after the sweep", len(tab.m))
	}
}
