package redistest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/portlease"
)

// A port that turns out to be served by another Redis (another test's,
// which took it between the free-port check and the bind) is never
// mistaken for the new server: the launch sees a foreign process id or a
// failed bind and starts over on another port.
func TestStartSkipsForeignRedis(t *testing.T) {
	t.Parallel()
	foreign := Start(t)
	_, fport := foreign.hostPort()
	taken, _ := strconv.Atoi(fport)
	first := true
	s := startNew(t, false, func(port int, dir string) (*Server, error) {
		if first {
			first = false
			port = taken // as if the race had been lost
		}
		return standalone(port, dir), nil
	})
	if s.Addr == foreign.Addr {
		t.Fatalf("the new server claims the foreign server's address %s", s.Addr)
	}
	if first {
		t.Fatal("build was not called")
	}
	foreign.MustCLI("SET", "owner", "foreign")
	if got := s.MustCLI("GET", "owner"); got != "" {
		t.Fatalf("the new server on %s sees the foreign server's key: %q", s.Addr, got)
	}
}

// A port another program listens on makes redis-server fail to bind (and
// whatever answers there is no Redis): the launch starts over elsewhere.
func TestStartSkipsTakenPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	taken := l.Addr().(*net.TCPAddr).Port
	first := true
	s := startNew(t, false, func(port int, dir string) (*Server, error) {
		if first {
			first = false
			port = taken
		}
		return standalone(port, dir), nil
	})
	if s.Addr == l.Addr().String() {
		t.Fatalf("the new server claims the taken address %s", s.Addr)
	}
	if got := s.MustCLI("PING"); got != "PONG" {
		t.Fatalf("PING: %q", got)
	}
}

// A stopped server's address refuses connections, and its port is not
// handed to another server, until Restart brings it back with its data.
func TestStopKeepsPortUntilRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.MustCLI("SET", "k", "v")
	s.WaitAOFWritten()
	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts connections after Stop", s.Addr)
	}
	_, p := s.hostPort()
	port, _ := strconv.Atoi(p)
	if l := portlease.TryLease(port); l != nil {
		_ = l.Close()
		t.Fatalf("port %d of a stopped server was leased again", port)
	}
	s.Restart()
	if got := s.MustCLI("GET", "k"); got != "v" {
		t.Fatalf("after Restart GET k = %q, want v", got)
	}
}

// Cluster nodes come up as one cluster.
func TestStartCluster(t *testing.T) {
	t.Parallel()
	nodes := StartCluster(t)
	if len(nodes) != 3 {
		t.Fatalf("%d nodes", len(nodes))
	}
}
