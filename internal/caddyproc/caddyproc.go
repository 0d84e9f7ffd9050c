package caddyproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Config says how to run one Caddy process.
type Config struct {
	// Bin is the Caddy binary with the plugin (see Build).
	Bin string
	// Home is the process's HOME; its XDG data and config directories,
	// its Caddyfile and its log (caddy.log) live under it. It is created
	// if missing and kept across Restart, so a restarted Caddy finds its
	// data again.
	Home string
	// Ports is how many free loopback ports to pick for it.
	Ports int
	// Caddyfile renders the config for the picked ports. It runs before
	// every start attempt (a port taken in between means another attempt
	// on other ports) and before every Restart and Reload, so it may read
	// state the caller changed meanwhile and point fake services at the
	// ports.
	Caddyfile func(ports []int) (string, error)
	// Ready is a URL that answers 200 once Caddy serves.
	Ready func(ports []int) string
	// Client fetches Ready; the default is a plain client with a 2 s
	// timeout (pass one that trusts `tls internal` for https sites).
	Client *http.Client
	// ReadyWithin bounds the wait for Ready. Default: 30 s.
	ReadyWithin time.Duration
	// Env is added to the environment (secrets the Caddyfile reads with
	// {env.NAME}).
	Env []string
	// Output, when set, also receives everything Caddy writes to stdout
	// and stderr.
	Output io.Writer
	// OwnGroup puts Caddy in its own process group, so a Ctrl-C to the
	// caller reaches Caddy only through Stop (a benchmark that must stop
	// its processes in order); without it Caddy dies with the terminal's
	// Ctrl-C like the caller.
	OwnGroup bool
}

// Process is one Caddy process, stopped or running.
type Process struct {
	// Ports are the loopback ports picked for it, the same across Restart.
	Ports []int

	cfg     Config
	logFile *os.File
	leases  io.Closer // the leases of Ports, held until Stop
	cmd     *exec.Cmd
	exited  chan struct{}
}

// maxAttempts is how often Start tries other ports when one was taken
// between the probe and Caddy's bind.
const maxAttempts = 5

// Start starts Caddy on free loopback ports and waits until it serves.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.ReadyWithin == 0 {
		cfg.ReadyWithin = 30 * time.Second
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg}
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		p.releasePorts()
		if p.Ports, p.leases, err = LeasePorts(cfg.Ports); err != nil {
			return nil, err
		}
		mark := p.logSize()
		if err = p.start(ctx); err == nil {
			return p, nil
		}
		if !strings.Contains(p.logSince(mark), "address already in use") {
			break
		}
	}
	p.Stop()
	return nil, fmt.Errorf("caddy in %s did not start: %v\n%s", cfg.Home, err, p.LogTail(8<<10))
}

// Home is the process's HOME directory.
func (p *Process) Home() string { return p.cfg.Home }

// CaddyfilePath is where the rendered Caddyfile is.
func (p *Process) CaddyfilePath() string { return filepath.Join(p.cfg.Home, "Caddyfile") }

func (p *Process) logPath() string { return filepath.Join(p.cfg.Home, "caddy.log") }

// writeCaddyfile renders the config for p.Ports.
func (p *Process) writeCaddyfile() error {
	text, err := p.cfg.Caddyfile(p.Ports)
	if err != nil {
		return err
	}
	return os.WriteFile(p.CaddyfilePath(), []byte(text), 0o600)
}

// start runs the process on p.Ports and waits for it to serve.
func (p *Process) start(ctx context.Context) error {
	if err := p.writeCaddyfile(); err != nil {
		return err
	}
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.logFile = logFile
	var out io.Writer = logFile
	if p.cfg.Output != nil {
		out = io.MultiWriter(logFile, p.cfg.Output)
	}
	cmd := exec.Command(p.cfg.Bin, "run", "--config", p.CaddyfilePath(), "--adapter", "caddyfile")
	cmd.Dir = p.cfg.Home
	cmd.Env = append(os.Environ(), "HOME="+p.cfg.Home,
		"XDG_DATA_HOME="+filepath.Join(p.cfg.Home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(p.cfg.Home, "config"))
	cmd.Env = append(cmd.Env, p.cfg.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	if p.cfg.OwnGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.exited)
	if err := p.waitReady(ctx); err != nil {
		p.halt()
		return err
	}
	return nil
}

// waitReady polls the Ready URL until it answers 200 or Caddy exits.
func (p *Process) waitReady(ctx context.Context) error {
	hc := p.cfg.Client
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Second}
		defer hc.CloseIdleConnections()
	}
	url := p.cfg.Ready(p.Ports)
	exited := errors.New("caddy exited during startup")
	err := Poll(ctx, p.cfg.ReadyWithin, func() (bool, error) {
		select {
		case <-p.exited:
			return false, exited
		default:
		}
		resp, err := hc.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%s did not answer 200 within %s", url, p.cfg.ReadyWithin)
	}
	return err
}

// Running reports whether the process runs.
func (p *Process) Running() bool { return p.cmd != nil }

// PID is the process id, 0 once stopped.
func (p *Process) PID() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Stop ends Caddy: SIGTERM, then SIGKILL after 5 s. Stopping a stopped
// process does nothing.
func (p *Process) Stop() {
	p.halt()
	p.releasePorts()
}

func (p *Process) releasePorts() {
	if p.leases != nil {
		_ = p.leases.Close()
		p.leases = nil
	}
}

// halt stops the process, keeping its ports leased (Restart reuses them).
func (p *Process) halt() {
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		p.cmd = nil
	}
	if p.logFile != nil {
		_ = p.logFile.Close()
		p.logFile = nil
	}
}

// Restart stops Caddy and starts it again on the same ports and data,
// with the Caddyfile rendered anew.
func (p *Process) Restart(ctx context.Context) error {
	p.halt()
	return p.start(ctx)
}

// Reload renders the Caddyfile anew and applies it with `caddy reload`
// through the admin API at admin (host:port; the Caddyfile must serve it).
// Caddy answers once the new config runs, but the old servers are only
// told to shut down then: a request right after may still be served by
// the old config (on a connection the old server still holds, or one it
// accepted before its listener closed). A caller that needs the new
// config must Poll for a behaviour only the new config has.
func (p *Process) Reload(ctx context.Context, admin string) error {
	if err := p.writeCaddyfile(); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, p.cfg.Bin, "reload", "--config", p.CaddyfilePath(),
		"--adapter", "caddyfile", "--address", admin, "--force").CombinedOutput()
	if err != nil {
		return fmt.Errorf("caddy reload: %v\n%s", err, out)
	}
	return nil
}

// Log is everything Caddy wrote to stdout and stderr, over every start.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath())
	return string(b)
}

// LogTail is the last n bytes of Log, for error messages.
func (p *Process) LogTail(n int) string {
	s := p.Log()
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

func (p *Process) logSize() int64 {
	fi, err := os.Stat(p.logPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince is the log written after offset mark.
func (p *Process) logSince(mark int64) string {
	s := p.Log()
	if int64(len(s)) < mark {
		return s
	}
	return s[mark:]
}
