package gate

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/caddyproc"
	"github.com/mcpoauth/caddy-mcp-oauth/internal/fakegithub"
)

// caddyfileTmpl is the config of one measured Caddy: the authorization
// server and the three ways of putting an upstream behind (or not behind)
// it, each on its own loopback port, in plain http so TLS costs nothing.
var caddyfileTmpl = template.Must(template.New("Caddyfile").Parse(`{{.Global}}
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
	*caddyproc.Process
	name      string // ES256, HS256 or redis
	alg       string // the JWT alg its tokens carry: ES256 or HS256
	jwtSecret string // empty: ES256
	storage   string // the storage line of the mcp_oauth block; empty: the embedded store
	upstream  string // host:port
	gh        *fakegithub.Server
	stopGH    func()
	profile   bool
	token     string // the access token the login flow got

	authPort, noAuthPort, gatePort, faPort, routePort, adminPort int
}

func (c *caddyProc) issuer() string { return fmt.Sprintf("http://127.0.0.1:%d", c.authPort) }

// resource is the gated MCP server's URL: the audience of the token.
func (c *caddyProc) resource() string { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.gatePort) }

func (c *caddyProc) noAuthURL() string { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.noAuthPort) }
func (c *caddyProc) gateURL() string   { return c.resource() }
func (c *caddyProc) routeURL() string  { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.routePort) }
func (c *caddyProc) faURL() string     { return fmt.Sprintf("http://127.0.0.1:%d/mcp", c.faPort) }
func (c *caddyProc) adminAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.adminPort) }

// caddySpec is what differs between the measured Caddy processes.
type caddySpec struct {
	name      string
	jwtSecret string // HS256 with this secret; empty: ES256
	storage   string // e.g. "storage redis redis://127.0.0.1:6379"; empty: bolt
}

// startCaddy starts a Caddy with its own fake GitHub on free loopback ports.
func startCaddy(ctx context.Context, spec caddySpec, env *benchkit.Env, upstream string, profile bool) (*caddyProc, error) {
	gh, stopGH := fakegithub.Serve(fakegithub.Options{ClientSecret: benchkit.NewSecret(24)})
	c := &caddyProc{name: spec.name, alg: "ES256", jwtSecret: spec.jwtSecret, storage: spec.storage,
		upstream: upstream, gh: gh, stopGH: stopGH, profile: profile}
	if spec.jwtSecret != "" {
		c.alg = "HS256"
	}
	var err error
	c.Process, err = caddyproc.Start(ctx, caddyproc.Config{
		Bin: env.CaddyBin, Home: filepath.Join(env.Work, "caddy-"+spec.name), Ports: 6,
		Caddyfile: c.render,
		Ready:     func([]int) string { return c.issuer() + "/.well-known/oauth-authorization-server" },
		Env:       []string{benchkit.GitHubSecretEnv + "=" + gh.ClientSecret(), "BENCH_JWT_SECRET=" + spec.jwtSecret},
		OwnGroup:  true,
	})
	if err != nil {
		stopGH()
		return nil, err
	}
	return c, nil
}

// render writes the Caddyfile for the ports picked, and points the fake
// GitHub's callback at the issuer they make.
func (c *caddyProc) render(ports []int) (string, error) {
	c.authPort, c.noAuthPort, c.gatePort, c.faPort, c.routePort, c.adminPort = ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.gh.SetCallbackURL(c.issuer() + "/callback")
	global := benchkit.GlobalOptions{Issuer: c.issuer(), GitHub: c.gh}
	if c.jwtSecret != "" {
		global.Extra = append(global.Extra, "jwt_secret {env.BENCH_JWT_SECRET}")
	}
	if c.storage != "" {
		global.Extra = append(global.Extra, c.storage)
	}
	if c.profile {
		global.Admin = c.adminAddr()
	}
	data := map[string]any{
		"Global": global, "Issuer": c.issuer(), "Upstream": c.upstream, "AuthPort": c.authPort, "NoAuthPort": c.noAuthPort,
		"GatePort": c.gatePort, "FAPort": c.faPort, "RoutePort": c.routePort, "Resource": c.resource(),
	}
	var b strings.Builder
	if err := caddyfileTmpl.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (c *caddyProc) close() {
	if c.Process != nil {
		c.Stop()
	}
	c.stopGH()
}

func (c *caddyProc) logTail() string { return c.LogTail(8 << 10) }
