package benchkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
)

// Redis is one redis-server process on a loopback port, configured as
// the README asks for production: AOF with appendfsync everysec, no RDB
// snapshots, maxmemory-policy noeviction (Redis's default).
type Redis struct {
	Addr string // 127.0.0.1:port
	Dir  string

	cmd    *exec.Cmd
	exited chan struct{}
	lease  io.Closer // the port's lease, given back by Stop
}

// StartRedis starts redis-server with its data and log in dir and waits
// until it answers PING.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found: install the Debian package redis-server (apt-get install redis-server)", bin)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		ports, lease, err := caddyproc.LeasePorts(1)
		if err != nil {
			return nil, err
		}
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), Dir: dir, lease: lease}
		if last = r.start(ctx, ports[0]); last == nil {
			return r, nil
		}
		r.Stop()
		if !strings.Contains(r.LogTail(), "in use") {
			break
		}
	}
	return nil, last
}

func (r *Redis) start(ctx context.Context, port int) error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", r.Dir,
		"--logfile", filepath.Join(r.Dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %v", err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.exited)
	exited := errors.New("redis-server exited during startup")
	err := caddyproc.Poll(ctx, 10*time.Second, func() (bool, error) {
		select {
		case <-r.exited:
			return false, exited
		default:
		}
		out, err := r.CLI("PING")
		return err == nil && out == "PONG", nil
	})
	switch {
	case errors.Is(err, exited):
		r.cmd = nil
		return fmt.Errorf("redis-server exited during startup:\n%s", r.LogTail())
	case errors.Is(err, caddyproc.ErrTimeout):
		return fmt.Errorf("redis-server on %s did not answer PING within 10s:\n%s", r.Addr, r.LogTail())
	}
	return err
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// PID is the process id, 0 once stopped.
func (r *Redis) PID() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Version is redis-server's version.
func (r *Redis) Version() string {
	out, err := r.CLI("INFO", "server")
	if err != nil {
		return "redis"
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return "redis-server " + v
		}
	}
	return "redis"
}

// Stop ends the server (SIGTERM, SIGKILL after 5 s).
func (r *Redis) Stop() {
	if r.lease != nil {
		defer func() { _ = r.lease.Close(); r.lease = nil }()
	}
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

// LogTail is the end of the server's log.
func (r *Redis) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
	if len(b) > 4<<10 {
		b = b[len(b)-4<<10:]
	}
	return string(b)
}

// CLI runs redis-cli against the server and returns its trimmed output.
func (r *Redis) CLI(args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(r.Addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// CommandStats are the calls per command Redis has processed
// (INFO commandstats).
type CommandStats map[string]int64

// CommandStats reads INFO commandstats.
func (r *Redis) CommandStats() (CommandStats, error) {
	out, err := r.CLI("INFO", "commandstats")
	if err != nil {
		return nil, fmt.Errorf("redis-cli INFO commandstats: %v: %s", err, out)
	}
	return parseCommandStats(out)
}

// parseCommandStats reads lines such as
// cmdstat_get:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0
func parseCommandStats(out string) (CommandStats, error) {
	st := CommandStats{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("commandstats line %q: %v", line, err)
				}
				st[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	if len(st) == 0 {
		return nil, errors.New("no cmdstat_ lines in INFO commandstats")
	}
	return st, nil
}

// Sub is the calls made between before and s, without the INFO and
// DBSIZE commands the benchmarks' own measurements send.
func (s CommandStats) Sub(before CommandStats) CommandStats {
	d := CommandStats{}
	for k, v := range s {
		if k == "info" || k == "dbsize" {
			continue
		}
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// Add sums two diffs.
func (s CommandStats) Add(o CommandStats) CommandStats {
	d := CommandStats{}
	for k, v := range s {
		d[k] += v
	}
	for k, v := range o {
		d[k] += v
	}
	return d
}

// Total is the number of calls.
func (s CommandStats) Total() int64 {
	var n int64
	for _, v := range s {
		n += v
	}
	return n
}

// String lists the commands, most called first: "evalsha 1200, get 600".
func (s CommandStats) String() string {
	if len(s) == 0 {
		return "none"
	}
	names := s.names()
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", strings.ToUpper(k), s[k])
	}
	return strings.Join(parts, ", ")
}

// PerReq writes the calls per request of each command:
// "EVALSHA 2.00, GET 1.00".
func (s CommandStats) PerReq(n int64) string {
	if len(s) == 0 || n == 0 {
		return "0"
	}
	names := s.names()
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %.2f", strings.ToUpper(k), float64(s[k])/float64(n))
	}
	return strings.Join(parts, ", ")
}

// names are the commands, most called first.
func (s CommandStats) names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if s[a] != s[b] {
			if s[a] > s[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// MonitorLine is one command MONITOR reported.
type MonitorLine struct {
	Lua  bool   // run by a script (EVAL/EVALSHA/FCALL), not sent by a client
	Cmd  string // upper case
	Args []string
}

// Monitor records, with redis-cli MONITOR, the commands Redis processes
// while fn runs (PING and INFO left out: they are background checks and
// this benchmark's own).
func (r *Redis) Monitor(ctx context.Context, fn func() error) ([]MonitorLine, error) {
	host, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.CommandContext(ctx, "redis-cli", "-h", host, "-p", port, "MONITOR")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	select {
	case l, ok := <-lines:
		if !ok || l != "OK" {
			stop()
			return nil, fmt.Errorf("redis-cli MONITOR: %q", l)
		}
	case <-time.After(5 * time.Second):
		stop()
		return nil, errors.New("redis-cli MONITOR did not start")
	}
	ferr := fn()
	// MONITOR's output trails the commands: the end of fn's is where a
	// marker sent after it shows.
	marker := "benchkit-monitor-end-" + NewSecret(8)
	if out, err := r.CLI("ECHO", marker); err != nil {
		stop()
		return nil, fmt.Errorf("redis-cli ECHO: %v: %s", err, out)
	}
	var got []MonitorLine
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				stop()
				return nil, errors.New("redis-cli MONITOR ended before the marker")
			}
			m, ok := parseMonitorLine(l)
			if !ok || m.Cmd == "PING" || m.Cmd == "INFO" {
				continue
			}
			if m.Cmd == "ECHO" && len(m.Args) == 1 && m.Args[0] == marker {
				stop()
				go func() {
					for range lines { // let the reader finish
					}
				}()
				return got, ferr
			}
			got = append(got, m)
		case <-timeout:
			stop()
			return nil, errors.New("redis-cli MONITOR did not show the end marker within 5s")
		}
	}
}

// parseMonitorLine reads
// 1732687777.123456 [0 127.0.0.1:54321] "GET" "key", or [0 lua].
func parseMonitorLine(l string) (MonitorLine, bool) {
	i := strings.IndexByte(l, '[')
	j := strings.IndexByte(l, ']')
	if i < 0 || j < i {
		return MonitorLine{}, false
	}
	src := strings.Fields(l[i+1 : j])
	m := MonitorLine{Lua: len(src) == 2 && src[1] == "lua"}
	rest := strings.TrimSpace(l[j+1:])
	for rest != "" {
		if rest[0] != '"' {
			break
		}
		// A quoted, backslash-escaped argument.
		k := 1
		for k < len(rest) && rest[k] != '"' {
			if rest[k] == '\\' {
				k++
			}
			k++
		}
		if k >= len(rest) {
			break
		}
		m.Args = append(m.Args, rest[1:k])
		rest = strings.TrimSpace(rest[k+1:])
	}
	if len(m.Args) == 0 {
		return MonitorLine{}, false
	}
	m.Cmd, m.Args = strings.ToUpper(m.Args[0]), m.Args[1:]
	return m, true
}

// Usage is the number of keys in the database and the memory Redis uses
// (INFO memory used_memory).
func (r *Redis) Usage() (keys, bytes int64, err error) {
	out, err := r.CLI("DBSIZE")
	if err != nil {
		return 0, 0, fmt.Errorf("redis-cli DBSIZE: %v: %s", err, out)
	}
	if keys, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("redis-cli DBSIZE: %q", out)
	}
	out, err = r.CLI("INFO", "memory")
	if err != nil {
		return 0, 0, fmt.Errorf("redis-cli INFO memory: %v: %s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			bytes, err = strconv.ParseInt(v, 10, 64)
			return keys, bytes, err
		}
	}
	return 0, 0, errors.New("no used_memory in INFO memory")
}
