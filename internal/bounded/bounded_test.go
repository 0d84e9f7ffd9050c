package bounded

import (
	"strconv"
	"sync"
	"testing"
)

func TestMapStopsAtMax(t *testing.T) {
	t.Parallel()
	m := Map{Max: 3}
	for i := range 10 {
		k := strconv.Itoa(i)
		if got := m.Keep(k, i); got != i {
			t.Fatalf("Keep(%s) = %v, want the value passed", k, got)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	for i := range 10 {
		_, ok := m.Load(strconv.Itoa(i))
		if ok != (i < 3) {
			t.Errorf("key %d kept = %v", i, ok)
		}
	}
	if got := m.Keep("0", 99); got != 0 {
		t.Errorf("Keep of a present key = %v, want the stored 0", got)
	}
}

// TestMapConcurrentMisses: however many goroutines miss at once, the map
// never holds more than Max entries and every present key keeps the
// value first stored.
func TestMapConcurrentMisses(t *testing.T) {
	t.Parallel()
	m := Map{Max: 64}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 1000 {
				k := strconv.Itoa(i % 200)
				v := m.Keep(k, g)
				if stored, ok := m.Load(k); ok && stored != v {
					t.Errorf("Keep(%s) = %v but the map holds %v", k, v, stored)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() != 64 {
		t.Fatalf("Len = %d, want 64", m.Len())
	}
	n := 0
	m.m.Range(func(any, any) bool { n++; return true })
	if n != 64 {
		t.Fatalf("entries = %d, want 64", n)
	}
}
