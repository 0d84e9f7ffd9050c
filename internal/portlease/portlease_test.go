package portlease

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Not parallel: a fork by a concurrent test (exec) briefly holds a copy of
// every descriptor, so a lock may outlive its Close by that long.
func TestLeaseExcludesOthers(t *testing.T) {
	port, l := Take(t, 40000, 40100, nil)
	if TryLease(port) != nil {
		t.Fatalf("port %d leased twice in one process", port)
	}
	_ = l.Close()
	again := TryLease(port)
	if again == nil {
		t.Fatalf("port %d not leasable after Close", port)
	}
	_ = again.Close()
}

// TestLeaseExcludesOtherProcesses runs this test binary again as a child
// that tries the port the parent holds.
func TestLeaseExcludesOtherProcesses(t *testing.T) {
	if p := os.Getenv("PORTLEASE_CHILD_PORT"); p != "" {
		port, _ := strconv.Atoi(p)
		if l := TryLease(port); l != nil {
			t.Fatalf("child leased %d, which the parent holds", port)
		}
		return
	}
	port, l := Take(t, 40100, 40200, nil)
	defer l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeaseExcludesOtherProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PORTLEASE_CHILD_PORT="+strconv.Itoa(port))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
