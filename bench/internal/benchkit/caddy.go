package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// CaddyConfig says how to start one Caddy process.
type CaddyConfig struct {
	// Name names its directory (caddy-<Name> under Dir), which is its HOME
	// and XDG data and config directory.
	Name string
	Bin  string
	Dir  string
	// Ports is how many free loopback ports to pick for it.
	Ports int
	// Caddyfile renders the config for the picked ports. It runs before
	// every start attempt (a port taken in between means a new attempt
	// with new ports), so it may also point fake services at them.
	Caddyfile func(ports []int) (string, error)
	// Ready is a URL that answers 200 once Caddy serves.
	Ready func(ports []int) string
	// Env is added to the environment (secrets the Caddyfile reads with
	// {env.NAME}).
	Env []string
}

// Caddy is one Caddy process.
type Caddy struct {
	Name  string
	Home  string
	Ports []int

	cfg     CaddyConfig
	logFile *os.File
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartCaddy starts a Caddy on free loopback ports and waits until it
// serves, retrying with other ports when one was taken between the probe
// and Caddy's bind.
func StartCaddy(ctx context.Context, cfg CaddyConfig) (*Caddy, error) {
	c := &Caddy{Name: cfg.Name, Home: filepath.Join(cfg.Dir, "caddy-"+cfg.Name), cfg: cfg}
	if err := os.MkdirAll(c.Home, 0o700); err != nil {
		return nil, err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if c.Ports, err = FreePorts(cfg.Ports); err != nil {
			return nil, err
		}
		if err = c.start(ctx); err == nil {
			return c, nil
		}
		if !strings.Contains(c.LogTail(), "address already in use") {
			break
		}
	}
	c.Stop()
	return nil, fmt.Errorf("caddy %s did not start: %v\n%s", cfg.Name, err, c.LogTail())
}

func (c *Caddy) start(ctx context.Context) error {
	text, err := c.cfg.Caddyfile(c.Ports)
	if err != nil {
		return err
	}
	path := filepath.Join(c.Home, "Caddyfile")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(c.Home, "caddy.log"))
	if err != nil {
		return err
	}
	c.logFile = logFile
	cmd := exec.Command(c.cfg.Bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = c.Home
	cmd.Env = append(os.Environ(), "HOME="+c.Home,
		"XDG_DATA_HOME="+filepath.Join(c.Home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(c.Home, "config"))
	cmd.Env = append(cmd.Env, c.cfg.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C to the bench reaches Caddy only through
	// Stop, which waits for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(c.exited)
	return c.waitReady(ctx, c.cfg.Ready(c.Ports), 30*time.Second)
}

func (c *Caddy) waitReady(ctx context.Context, url string, limit time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			c.cmd = nil
			return errors.New("caddy exited during startup")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Stop()
	return fmt.Errorf("%s did not answer within %s", url, limit)
}

// PID is the process id, 0 once stopped.
func (c *Caddy) PID() int {
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Stop ends Caddy (SIGTERM, then SIGKILL after 5 s).
func (c *Caddy) Stop() {
	if c.cmd != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		c.cmd = nil
	}
	if c.logFile != nil {
		_ = c.logFile.Close()
		c.logFile = nil
	}
}

// LogTail is the end of Caddy's log, for error messages.
func (c *Caddy) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Home, "caddy.log"))
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// GitHub is a fake GitHub (internal/fakegithub) served on a loopback port
// in this process.
type GitHub struct {
	*fakegithub.Server
	srv *http.Server
}

// StartGitHub serves a new fake GitHub with a random client secret.
func StartGitHub() (*GitHub, error) {
	gh := fakegithub.New(fakegithub.Options{ClientSecret: NewSecret(24)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gh.URL = "http://" + l.Addr().String()
	srv := &http.Server{Handler: gh, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &GitHub{Server: gh, srv: srv}, nil
}

// Close stops serving.
func (g *GitHub) Close() {
	g.Server.Close()
	_ = g.srv.Close()
}

// NewSecret returns n random bytes, base64url-encoded.
func NewSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// FreePorts picks n distinct free ports below Linux's ephemeral range, so
// that the benchmark's own outgoing connections cannot take them.
func FreePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for i := 0; i < 1000 && len(out) < n; i++ {
		port := 20000 + mrand.IntN(12000)
		if seen[port] {
			continue
		}
		seen[port] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		out = append(out, port)
	}
	if len(out) < n {
		return nil, errors.New("no free ports")
	}
	return out, nil
}
