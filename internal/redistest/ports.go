package redistest

import (
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// A new server's port is drawn at random from [portLow, portHigh): below
// Linux's ephemeral range (32768 and up by default), so no outgoing
// connection of any process holds it, and below the ports e2e's Caddy
// processes use (20000-32000). A cluster node's bus port (port+busOffset)
// lands in that range; the launch check catches a clash there too.
const (
	portLow   = 10000
	portHigh  = 20000
	busOffset = 10000
)

// leasePort returns a port nobody listens on (with bus, port+busOffset
// too), leased to the caller until it closes the lease: no other
// leasePort, in this process or another one (a lock file per port under
// the temp directory, held with flock), hands the port out meanwhile. So
// a stopped server's port stays its own until its Restart, and the
// address of a stopped server stays unanswered. Processes that do not use
// this package may still take a leased port while no server listens on
// it; the launch check (waitOwn) notices that.
func leasePort(t testing.TB, bus bool) (int, io.Closer) {
	t.Helper()
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow)
		l := takeLease(port)
		if l == nil {
			continue
		}
		if listenable(port) && (!bus || listenable(port+busOffset)) {
			return port, l
		}
		_ = l.Close()
	}
	t.Fatal("redistest: no free port")
	return 0, nil
}

func listenable(port int) bool {
	l, err := net.Listen("tcp", loopback(port))
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

// takeLease leases port, or returns nil if it is leased already.
func takeLease(port int) io.Closer {
	leasedMu.Lock()
	defer leasedMu.Unlock()
	if leased[port] {
		return nil
	}
	l := &lease{port: port}
	dir := filepath.Join(os.TempDir(), "redistest-ports")
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

// Close gives the port back (closing the file releases the flock).
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
