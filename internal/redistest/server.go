package redistest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
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

// startAttempts bounds how many ports a new server tries when the one it
// was given turns out to belong to another process.
const startAttempts = 5

// errPortTaken: the port a server was to listen on belongs to another
// process (redis-server could not bind it, or someone else's Redis
// answers there). A new server then tries another port.
var errPortTaken = errors.New("port taken by another process")

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
	// password, when set (--requirepass), authenticates the readiness
	// check.
	password string
	// lease keeps the port this server's for the whole test, stopped or
	// not, so that no other server of this package takes it while it is
	// down (see leasePort).
	lease io.Closer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
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
	return startNew(t, false, func(port int, dir string) (*Server, error) {
		return standalone(port, dir, extra...), nil
	})
}

// standalone is the server Start runs on port, in dir.
func standalone(port int, dir string, extra ...string) *Server {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	return &Server{Addr: loopback(port), Dir: dir, bin: "redis-server",
		args: append(args, extra...), password: flagValue(extra, "--requirepass")}
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// flagValue returns the value following name in args ("" if absent).
func flagValue(args []string, name string) string {
	v := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			v = args[i+1]
		}
	}
	return v
}

// startNew leases a free port (with bus, a cluster node's: port+10000
// must be free too), builds the server for it in a fresh directory and
// launches it. Between the check that a port is free and redis-server
// binding it, another process may take it: then redis-server fails to
// bind, or, worse, the other process's Redis answers on the address. The
// launch notices both (it only accepts an answer from the process it
// started) and startNew tries again on another port.
func startNew(t testing.TB, bus bool, build func(port int, dir string) (*Server, error)) *Server {
	t.Helper()
	var err error
	for attempt := 0; attempt < startAttempts; attempt++ {
		port, lease := leasePort(t, bus)
		s, berr := build(port, t.TempDir())
		if berr != nil {
			_ = lease.Close()
			t.Fatalf("redistest: %v", berr)
		}
		s.t, s.lease = t, lease
		if err = s.launch(); err == nil {
			t.Cleanup(s.cleanup)
			return s
		}
		_ = lease.Close()
		if !errors.Is(err, errPortTaken) {
			break
		}
		t.Logf("redistest: trying another port: %v", err)
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

// launch starts the process and waits until that very process answers
// PING with +PONG: the answering server's INFO process_id must be the pid
// launch started, so a Redis of another test that happens to listen on
// the address is never mistaken for this one.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	err := s.waitOwn(cmd.Process.Pid, exited)
	if err == nil {
		return nil
	}
	s.Stop()
	log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if !errors.Is(err, errPortTaken) && strings.Contains(string(log), "Address already in use") {
		err = fmt.Errorf("%w: %v", errPortTaken, err)
	}
	if len(log) > 0 {
		return fmt.Errorf("redis-server on %s: %w\nits log:\n%s", s.Addr, err, tail(string(log), 4096))
	}
	return fmt.Errorf("redis-server on %s: %w", s.Addr, err)
}

// waitOwn polls the server until the process pid answers PING, the
// process exits, or startTimeout passes.
func (s *Server) waitOwn(pid int, exited <-chan struct{}) error {
	end := time.Now().Add(startTimeout)
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited before it answered (last check: %v)", last)
		default:
		}
		got, err := s.probe()
		if got != 0 && got != pid {
			return fmt.Errorf("%w: the Redis answering on %s is process %d, not the one started (%d)", errPortTaken, s.Addr, got, pid)
		}
		if err == nil {
			return nil
		}
		last = err
		if time.Now().After(end) {
			return fmt.Errorf("no answer within %v: %v", startTimeout, last)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// probe asks the server on s.Addr for its process id (INFO server, which
// a server still loading its AOF answers) and whether it serves (PING,
// which such a server answers with -LOADING). pid is 0 when unknown.
func (s *Server) probe() (pid int, err error) {
	var c net.Conn
	if s.tls != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.Addr, s.tls)
	} else {
		c, err = net.DialTimeout("tcp", s.Addr, time.Second)
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	var req strings.Builder
	if s.password != "" {
		writeCommand(&req, "AUTH", s.password)
	}
	writeCommand(&req, "INFO", "server")
	writeCommand(&req, "PING")
	if _, err := io.WriteString(c, req.String()); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	if s.password != "" {
		// A wrong answer here is not final: another process's Redis
		// without this password still tells its process id below.
		if _, err := readReply(r); err != nil && !isReplyError(err) {
			return 0, err
		}
	}
	info, err := readReply(r)
	if err != nil {
		return 0, fmt.Errorf("INFO server: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		return 0, errors.New("INFO server has no process_id")
	}
	pong, err := readReply(r)
	if err != nil {
		return pid, fmt.Errorf("PING: %w", err)
	}
	if pong != "PONG" {
		return pid, fmt.Errorf("PING answered %q", pong)
	}
	return pid, nil
}

// writeCommand appends a RESP command to b.
func writeCommand(b *strings.Builder, args ...string) {
	fmt.Fprintf(b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(b, "$%d\r\n%s\r\n", len(a), a)
	}
}

// replyError is an error reply (-ERR ..., -LOADING ...).
type replyError string

func (e replyError) Error() string { return string(e) }

func isReplyError(err error) bool {
	var re replyError
	return errors.As(err, &re)
}

// readReply reads one simple, integer, bulk or error reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", replyError(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 || n > 1<<20 {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n == -1 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unexpected reply %q", tail(line, 80))
	}
}

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit.
// Stopping a stopped server does nothing. The port stays leased to the
// server, so no other server of this package takes it before a Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// cleanup stops the server for good and gives its port back.
func (s *Server) cleanup() {
	s.Stop()
	if s.lease != nil {
		_ = s.lease.Close()
	}
}

// Restart starts the server again on the same port and directory, so
// clients reconnect to the same address and find the data the AOF kept.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.launch(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// WaitAOFWritten waits until everything the server has acknowledged is
// written to its AOF file (INFO persistence aof_buffer_length:0), so a
// SIGKILL (Stop) cannot lose it: what the process wrote is the kernel's
// then. (With appendfsync everysec the fsync follows within about a
// second; that only matters for a power loss, which no test simulates.)
func (s *Server) WaitAOFWritten() {
	s.t.Helper()
	end := time.Now().Add(startTimeout)
	var info string
	for {
		var err error
		info, err = s.CLI("INFO", "persistence")
		if err == nil && strings.Contains(info, "aof_enabled:0") {
			s.t.Fatalf("redistest: %s has no AOF to wait for", s.Addr)
		}
		if err == nil && strings.Contains(info, "aof_buffer_length:0") {
			return
		}
		if time.Now().After(end) {
			s.t.Fatalf("redistest: %s: the AOF buffer was not written within %v: %v\n%s", s.Addr, startTimeout, err, info)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func (s *Server) hostPort() (host, port string) {
	host, port, _ = net.SplitHostPort(s.Addr)
	return host, port
}

// CLI runs redis-cli against the server and returns its trimmed output.
func (s *Server) CLI(args ...string) (string, error) {
	host, port := s.hostPort()
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

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
