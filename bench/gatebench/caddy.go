package main

import (
	"bytes"
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
	"text/template"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// caddyfileTmpl is the config of one measured Caddy: the authorization
// server and the three ways of putting an upstream behind (or not behind)
// it, each on its own loopback port, in plain http so TLS costs nothing.
var caddyfileTmpl = template.Must(template.New("Caddyfile").Parse(`{
{{- if .Admin}}
	admin {{.Admin}}
{{- else}}
	admin off
{{- end}}
	auto_https off
	grace_period 1s
	log {
		level WARN
	}
	mcp_oauth {
		issuer {{.Issuer}}
{{- if .JWTSecret}}
		jwt_secret {env.BENCH_JWT_SECRET}
{{- end}}
		github {
			client_id {{.GHClientID}}
			client_secret {env.BENCH_GH_SECRET}
			allowed_users alice
			web_url {{.GitHub}}
			api_url {{.GitHub}}
		}
	}
}

# The authorization server; /verify is its ForwardAuth endpoint.
{{.Issuer}} {
	bind 127.0.0.1
	mcp_oauth_server
}

# noauth: the upstream, unprotected.
http://127.0.0.1:{{.NoAuthPort}} {
	bind 127.0.0.1
	reverse_proxy {{.Upstream}}
}

# route: the gate's site without the gate (a control, measured with -controls).
http://127.0.0.1:{{.RoutePort}} {
	bind 127.0.0.1
	route /mcp* {
		reverse_proxy {{.Upstream}}
	}
}

# gate: the plugin's in-process check.
http://127.0.0.1:{{.GatePort}} {
	bind 127.0.0.1
	route /mcp* {
		mcp_oauth_verify
		reverse_proxy {{.Upstream}}
	}
}

# forward_auth: the Python original's architecture, a subrequest to
# /verify on the authorization site for every request.
http://127.0.0.1:{{.FAPort}} {
	bind 127.0.0.1
	forward_auth 127.0.0.1:{{.AuthPort}} {
		uri /verify?resource={{.Resource}}
		copy_headers X-User-Id X-User-Name
	}
	reverse_proxy {{.Upstream}}
}
`))

// caddyProc is one measured Caddy process with its fake GitHub.
type caddyProc struct {
	name      string // "ES256" or "HS256"
	bin       string
	home      string
	jwtSecret string // empty: ES256
	upstream  string // host:port
	gh        *fakegithub.Server
	ghSrv     *http.Server
	profile   bool
	token     string // the access token the login flow got

	authPort, noAuthPort, gatePort, faPort, routePort, adminPort int

	logFile *os.File
	cmd     *exec.Cmd
	exited  chan struct{}
}

func (c *caddyProc) issuer() string { return fmt.Sprintf("http://127.0.0.1:%d", c.authPort) }

// resource is the gated MCP server's URL: the audience of the token.
func (c *caddyProc) resource() string { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.gatePort) }

func (c *caddyProc) noAuthURL() string { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.noAuthPort) }
func (c *caddyProc) gateURL() string   { return c.resource() }
func (c *caddyProc) routeURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.routePort)
}
func (c *caddyProc) faURL() string     { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.faPort) }
func (c *caddyProc) adminAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.adminPort) }

// newSecret returns n random bytes, base64url-encoded.
func newSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// startFakeGitHub serves a fake GitHub on a loopback port in this process.
func startFakeGitHub() (*fakegithub.Server, *http.Server, error) {
	gh := fakegithub.New(fakegithub.Options{ClientSecret: newSecret(24)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	gh.URL = "http://" + l.Addr().String()
	srv := &http.Server{Handler: gh, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return gh, srv, nil
}

// startCaddy starts a Caddy on free loopback ports, retrying when a port
// was taken between the probe and Caddy's bind.
func startCaddy(ctx context.Context, name, bin, dir, upstream, jwtSecret string, profile bool) (*caddyProc, error) {
	gh, ghSrv, err := startFakeGitHub()
	if err != nil {
		return nil, err
	}
	c := &caddyProc{name: name, bin: bin, home: filepath.Join(dir, "caddy-"+name), jwtSecret: jwtSecret,
		upstream: upstream, gh: gh, ghSrv: ghSrv, profile: profile}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		ports, perr := freePorts(6)
		if perr != nil {
			return nil, perr
		}
		c.authPort, c.noAuthPort, c.gatePort, c.faPort, c.routePort, c.adminPort = ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
		gh.SetCallbackURL(c.issuer() + "/callback")
		if err = c.start(ctx); err == nil {
			return c, nil
		}
		if !strings.Contains(c.logTail(), "address already in use") {
			break
		}
	}
	c.stop()
	return nil, fmt.Errorf("caddy %s did not start: %v\n%s", name, err, c.logTail())
}

func (c *caddyProc) start(ctx context.Context) error {
	var file bytes.Buffer
	data := map[string]any{
		"Issuer": c.issuer(), "JWTSecret": c.jwtSecret != "", "GitHub": c.gh.URL, "GHClientID": c.gh.ClientID(),
		"Upstream": c.upstream, "AuthPort": c.authPort, "NoAuthPort": c.noAuthPort, "GatePort": c.gatePort,
		"FAPort": c.faPort, "RoutePort": c.routePort, "Resource": c.resource(), "Admin": "",
	}
	if c.profile {
		data["Admin"] = c.adminAddr()
	}
	if err := caddyfileTmpl.Execute(&file, data); err != nil {
		return err
	}
	path := filepath.Join(c.home, "Caddyfile")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(c.home, "caddy.log"))
	if err != nil {
		return err
	}
	c.logFile = logFile
	cmd := exec.Command(c.bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = c.home
	cmd.Env = append(os.Environ(), "HOME="+c.home,
		"XDG_DATA_HOME="+filepath.Join(c.home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(c.home, "config"),
		"BENCH_GH_SECRET="+c.gh.ClientSecret(),
		"BENCH_JWT_SECRET="+c.jwtSecret)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C to the bench reaches Caddy only through
	// stop, which waits for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(c.exited)
	return c.waitReady(ctx, 30*time.Second)
}

func (c *caddyProc) waitReady(ctx context.Context, limit time.Duration) error {
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
		resp, err := hc.Get(c.issuer() + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return fmt.Errorf("metadata did not answer within %s", limit)
}

// stop ends Caddy (SIGTERM, then SIGKILL after 5 s) and the fake GitHub.
func (c *caddyProc) stop() {
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

func (c *caddyProc) close() {
	c.stop()
	c.gh.Close()
	_ = c.ghSrv.Close()
}

func (c *caddyProc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.home, "caddy.log"))
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// freePorts picks distinct free ports below Linux's ephemeral range, so
// that the benchmark's own outgoing connections cannot take them.
func freePorts(n int) ([]int, error) {
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
