package oauthcore

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := newThrottle(3, time.Minute)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if b, _ := th.blocked("c", now); b {
			t.Fatalf("blocked after %d failures", i)
		}
		th.add("c", now)
	}
	if b, wait := th.blocked("c", now.Add(10*time.Second)); !b || wait != 50*time.Second {
		t.Fatalf("blocked=%v wait=%v after the limit", b, wait)
	}
	if b, _ := th.blocked("other", now); b {
		t.Fatal("keys are independent")
	}
	if b, _ := th.blocked("c", now.Add(time.Minute)); b {
		t.Fatal("a new window starts clean")
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(1, time.Minute)
	th.maxKeys = 100
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		th.add(fmt.Sprint(i), now)
	}
	if len(th.counts) > 100 {
		t.Fatalf("%d keys kept, want at most 100", len(th.counts))
	}
}
