package redistest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer PING, AOF
// loading after a restart included.
const startTimeout = 10 * time.Second

// Server is one redis-server process.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Dir holds the server's AOF files and log; it survives Stop, so a
	// Restart brings the data back as a real restart would.
	Dir string

	t    testing.TB
	bin  string
	args []string
	// tls, when set, is how the readiness check connects (a TLS-only
	// server answers nothing on a plain connection).
	tls *tls.Config

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Require fails t when the Redis binaries are missing. It never skips: in
// CI (CI=true) a skipped store test would hide a broken install step, and
// locally the message says what to install.
func Require(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			where := "locally"
			if os.Getenv("CI") == "true" {
				where = "in CI (CI=true)"
			}
			t.Fatalf("%s not found on PATH %s: install the Debian package redis-server "+
				"(apt-get install redis-server); the Redis store tests need a real server", bin, where)
		}
	}
}

// Start starts a standalone server with AOF on and RDB snapshots off, as
// the checklist's harness assumes. extra is appended to the command line
// (for example "--requirepass", "secret").
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	Require(t)
	port := freePort(t, false)
	return startOn(t, port, t.TempDir(), extra...)
}

func startOn(t testing.TB, port int, dir string, extra ...string) *Server {
	t.Helper()
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	return launchNew(t, &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, t: t,
		bin: "redis-server", args: append(args, extra...)})
}

func launchNew(t testing.TB, s *Server) *Server {
	t.Helper()
	s.launch()
	t.Cleanup(s.Stop)
	return s
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	if err := waitPing(s.Addr, s.tls, startTimeout); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
		s.Stop()
		s.t.Fatalf("redis-server on %s did not come up: %v\nlog:\n%s", s.Addr, err, log)
	}
}

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts the server again on the same port and directory, so
// clients reconnect to the same address and find the data the AOF kept.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.launch()
}

// CLI runs redis-cli against the server and returns its trimmed output.
func (s *Server) CLI(args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(s.Addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// MustCLI is CLI that fails the test on an error.
func (s *Server) MustCLI(args ...string) string {
	s.t.Helper()
	out, err := s.CLI(args...)
	if err != nil {
		s.t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return out
}

// waitPing polls addr with a raw PING until it answers +PONG (a server
// still loading its AOF answers -LOADING).
func waitPing(addr string, tc *tls.Config, within time.Duration) error {
	end := time.Now().Add(within)
	var last error
	for time.Now().Before(end) {
		if last = ping(addr, tc); last == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last
}

func ping(addr string, tc *tls.Config) error {
	var c net.Conn
	var err error
	if tc != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, tc)
	} else {
		c, err = net.DialTimeout("tcp", addr, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback port nobody listens on. With bus set, port
// plus 10000 (a cluster node's bus port) must be free too. Another process
// may take the port before redis-server binds it; on a test machine that
// is rare enough to accept.
func freePort(t testing.TB, bus bool) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !bus {
			return port
		}
		if port+10000 > 65535 {
			continue
		}
		if b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
			_ = b.Close()
			return port
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}
