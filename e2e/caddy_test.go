package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// caddyConfig is what a test may vary in the Caddyfile.
type caddyConfig struct {
	AllowedUsers  string   // default "alice 4242"
	CodeLifetime  string   // default 5s
	RefreshGrace  string   // default 2s
	GitHubTimeout string   // empty: the server's default
	Debug         bool     // log at debug level
	Extra         []string // lines inside the mcp_oauth block
	GitHubExtra   []string // lines inside its github block
	// GitHub configures the fake GitHub newEnv starts (orgs, teams, a
	// GitHub App's expiring tokens).
	GitHub    fakegithub.Options
	SiteExtra []string // lines inside the site block
	Admin     bool     // serve the admin API on a free loopback port
	// MCPSite, when set, is the body of a second site, the MCP origin
	// (https://127.0.0.1:<free port>); the text {{UPSTREAM}} in it is
	// replaced by MCPUpstream.
	MCPSite     string
	MCPUpstream string // host:port of the MCP server behind the gate
	// SharedIssuer, when set, is the issuer instead of the instance's own
	// origin: several instances act as one authorization server.
	SharedIssuer string
	// Env is added to the process's environment (SSL_CERT_FILE ...).
	Env []string
}

// gatedRoute is the Caddyfile of DESIGN.md: the gate inside a path route.
const gatedRoute = `route /github/* {
		mcp_oauth_verify
		reverse_proxy {{UPSTREAM}}
	}`

var caddyfileTmpl = template.Must(template.New("Caddyfile").Parse(`{
	skip_install_trust
{{- if .AdminAddr}}
	admin {{.AdminAddr}}
{{- else}}
	admin off
{{- end}}
	auto_https disable_redirects
	grace_period 1s
	servers {
		protocols h1 h2
	}
{{- if .Debug}}
	debug
{{- end}}
	mcp_oauth {
		issuer {{if .SharedIssuer}}{{.SharedIssuer}}{{else}}{{.Issuer}}{{end}}
		github {
			client_id gh-client
			client_secret {env.GH_SECRET}
			allowed_users {{.AllowedUsers}}
			web_url {{.GitHubURL}}
			api_url {{.GitHubURL}}
{{- if .GitHubTimeout}}
			timeout {{.GitHubTimeout}}
{{- end}}
{{- range .GitHubExtra}}
			{{.}}
{{- end}}
		}
		code_lifetime {{.CodeLifetime}}
		refresh_grace {{.RefreshGrace}}
{{- range .Extra}}
		{{.}}
{{- end}}
	}
}
{{.Issuer}} {
	bind 127.0.0.1
	tls internal
	mcp_oauth_server
{{- range .SiteExtra}}
	{{.}}
{{- end}}
}
{{- if .MCPSiteBody}}
{{.MCPOrigin}} {
	bind 127.0.0.1
	tls internal
	{{.MCPSiteBody}}
}
{{- end}}
`))

// caddyProc is one Caddy process and the directory it keeps its data in;
// it can be stopped and started again on the same data.
type caddyProc struct {
	t      *testing.T
	home   string
	port   int
	ghURL  string
	cfg    caddyConfig
	issuer string
	admin  string // host:port of the admin API, if on
	mcp    string // origin of the MCP site, if any

	log  *syncBuffer // stdout and stderr of every run
	proc *caddyproc.Process
}

// syncBuffer is a bytes.Buffer the process and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startCaddy starts Caddy on free loopback ports with its own HOME and
// XDG directories, waits until the metadata endpoint answers, and stops
// it when the test ends (printing its log if the test failed). onPort is
// told the issuer before each start attempt.
func startCaddy(t *testing.T, cfg caddyConfig, ghURL string, onPort func(issuer string)) *caddyProc {
	t.Helper()
	if cfg.AllowedUsers == "" {
		cfg.AllowedUsers = "alice 4242"
	}
	if cfg.CodeLifetime == "" {
		cfg.CodeLifetime = "5s"
	}
	if cfg.RefreshGrace == "" {
		cfg.RefreshGrace = "2s"
	}
	c := &caddyProc{t: t, home: t.TempDir(), ghURL: ghURL, cfg: cfg, log: &syncBuffer{}}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("caddy log (%s):\n%s", c.home, tail(c.log.String(), 64<<10))
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // test only: tls internal
	}}
	t.Cleanup(hc.CloseIdleConnections)
	ports := 1
	if cfg.Admin {
		ports++
	}
	if cfg.MCPSite != "" {
		ports++
	}
	proc, err := caddyproc.Start(context.Background(), caddyproc.Config{
		Bin: caddyBin, Home: c.home, Ports: ports,
		Caddyfile: func(ports []int) (string, error) {
			if c.usePorts(ports) && onPort != nil {
				onPort(c.issuer)
			}
			return c.caddyfile()
		},
		Ready:       func([]int) string { return c.issuer + "/.well-known/oauth-authorization-server" },
		Client:      hc,
		ReadyWithin: 20 * time.Second,
		Env:         append([]string{"GH_SECRET=gh-secret"}, cfg.Env...),
		Output:      c.log,
	})
	if err != nil {
		t.Fatalf("caddy did not start: %v", err)
	}
	c.proc = proc
	return c
}

// usePorts points the issuer, the admin API and the MCP site at ports,
// reporting whether they are new ones.
func (c *caddyProc) usePorts(ports []int) bool {
	if ports[0] == c.port {
		return false
	}
	c.port, ports = ports[0], ports[1:]
	c.issuer = fmt.Sprintf("https://127.0.0.1:%d", c.port)
	if c.cfg.Admin {
		c.admin, ports = fmt.Sprintf("127.0.0.1:%d", ports[0]), ports[1:]
	}
	if c.cfg.MCPSite != "" {
		c.mcp = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	}
	return true
}

// caddyfile renders c.cfg into the Caddyfile the process runs.
func (c *caddyProc) caddyfile() (string, error) {
	var file bytes.Buffer
	data := struct {
		caddyConfig
		Issuer, GitHubURL, AdminAddr, MCPOrigin, MCPSiteBody string
	}{c.cfg, c.issuer, c.ghURL, c.admin, c.mcp, strings.ReplaceAll(c.cfg.MCPSite, "{{UPSTREAM}}", c.cfg.MCPUpstream)}
	err := caddyfileTmpl.Execute(&file, data)
	return file.String(), err
}

// stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (c *caddyProc) stop() {
	if c.proc != nil {
		c.proc.Stop()
	}
}

// reload rewrites the Caddyfile from c.cfg and runs `caddy reload` through
// the admin API (cfg.Admin must be set). Caddy answers once the new config
// runs, but the old servers are only told to shut down then: a request
// right after may still be served by the old config (on a connection the
// old server still holds, or one it accepted before its listener closed).
// A test that needs the new config must wait (waitFor) for a behaviour
// only the new config has.
func (c *caddyProc) reload() {
	c.t.Helper()
	if err := c.proc.Reload(context.Background(), c.admin); err != nil {
		c.t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test if it still does
// not after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	err := caddyproc.Poll(t.Context(), within, func() (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("%s: not within %v (%v)", what, within, err)
	}
}

// restart stops Caddy and starts it again on the same port and data.
func (c *caddyProc) restart() {
	c.t.Helper()
	if err := c.proc.Restart(context.Background()); err != nil {
		c.t.Fatalf("caddy did not restart: %v", err)
	}
}

// freePort leases a free port below Linux's ephemeral range for the
// test's life (caddyproc.LeasePorts): outgoing connections cannot take it,
// and no other test process hands it out meanwhile.
func freePort(t *testing.T) int {
	t.Helper()
	ports, leases, err := caddyproc.LeasePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leases.Close() })
	return ports[0]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// gatesFor is SiteExtra lines that put a gate for https://<host>/mcp on
// the issuer's site, one per host: with resources unset, tokens are
// issued only for hosts a gate of the config protects, and tests that
// name made-up MCP hosts need those hosts in the config.
func gatesFor(hosts ...string) []string {
	var lines []string
	for i, h := range hosts {
		lines = append(lines, fmt.Sprintf("route /__gate%d/* {", i),
			"\tmcp_oauth_verify {", "\t\tresource https://"+h+"/mcp", "\t}", "\trespond 204", "}")
	}
	return lines
}
