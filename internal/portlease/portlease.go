// Package portlease hands test processes loopback TCP ports that no other
// test process of this repository uses at the same time.
//
// Checking that a port is free and closing the probe is not enough: Caddy
// binds its listeners with SO_REUSEPORT, so two Caddy processes of
// concurrent test runs that picked the same "free" port both bind it, and
// the kernel splits connections between them (a test then talks to
// another test's server). A lease is a lock file per port under the temp
// directory, held with flock for as long as the caller keeps the port:
// every test process on the machine (all worktrees, all packages) sees it.
// The kernel drops the lock when the process dies, so a crashed run leaves
// no stale lease.
package portlease

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Lease leases a port drawn at random from [low, high) that nobody
// listens on, and for which free, if not nil, also holds (a second port
// the caller derives from it, say). Close the returned lease when the port
// is no longer needed; until then no other Lease in any process returns it.
func Lease(low, high int, free func(port int) bool) (int, io.Closer, error) {
	for range 200 {
		port := low + rand.IntN(high-low)
		l := TryLease(port)
		if l == nil {
			continue
		}
		if Listenable(port) && (free == nil || free(port)) {
			return port, l, nil
		}
		_ = l.Close()
	}
	return 0, nil, fmt.Errorf("portlease: no free port in [%d, %d)", low, high)
}

// Take is Lease for tests: no free port fails tb.
func Take(tb testing.TB, low, high int, free func(port int) bool) (int, io.Closer) {
	tb.Helper()
	port, l, err := Lease(low, high, free)
	if err != nil {
		tb.Fatal(err)
	}
	return port, l
}

// TakeForTest is Take with the lease released when tb ends.
func TakeForTest(tb testing.TB, low, high int) int {
	tb.Helper()
	port, l := Take(tb, low, high, nil)
	tb.Cleanup(func() { _ = l.Close() })
	return port
}

// Listenable reports whether a plain listen on 127.0.0.1:port succeeds now.
func Listenable(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

var (
	leasedMu sync.Mutex
	leased   = map[int]bool{} // this process's leases
)

type lease struct {
	port int
	file *os.File // the flocked lock file; nil if locking is unavailable
	once sync.Once
}

// TryLease leases port, or returns nil if it is leased already (by this
// process or another).
func TryLease(port int) io.Closer {
	leasedMu.Lock()
	defer leasedMu.Unlock()
	if leased[port] {
		return nil
	}
	l := &lease{port: port}
	dir := filepath.Join(os.TempDir(), "caddy-mcp-oauth-test-ports")
	if err := os.MkdirAll(dir, 0o777); err == nil {
		if f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666); err == nil {
			switch ok, err := tryLock(f); {
			case err != nil: // no locking here: in-process leases only
				_ = f.Close()
			case !ok: // another process holds it
				_ = f.Close()
				return nil
			default:
				l.file = f
			}
		}
	}
	leased[port] = true
	return l
}

// Close gives the port back. Closing the file releases the flock; a
// process forking at that moment (exec) holds a copy of the descriptor
// until its exec, so the port may stay leased a moment longer.
func (l *lease) Close() error {
	l.once.Do(func() {
		leasedMu.Lock()
		delete(leased, l.port)
		leasedMu.Unlock()
		if l.file != nil {
			_ = l.file.Close()
		}
	})
	return nil
}
