package redistest

import (
	"io"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/portlease"
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
// too), leased to the caller until it closes the lease (see package
// portlease): no other test process hands the port out meanwhile. So a
// stopped server's port stays its own until its Restart, and the address
// of a stopped server stays unanswered. Processes that do not use leases
// may still take a leased port while no server listens on it; the launch
// check (waitOwn) notices that.
func leasePort(t testing.TB, bus bool) (int, io.Closer) {
	t.Helper()
	var free func(int) bool
	if bus {
		free = func(port int) bool { return portlease.Listenable(port + busOffset) }
	}
	return portlease.Take(t, portLow, portHigh, free)
}
